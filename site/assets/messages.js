/**
 * A plain sentence for every error code the API can answer with: the domain's
 * (lambdas/domain/errors.ts), the HTTP edge's faults (lambdas/shared/http.ts),
 * API Gateway's own refusals (lib/constructs/drop-api.ts), the paused
 * origin's (lib/constructs/paused-origin.ts) and the local gateway's. The
 * browser test checks that none is missing.
 */
export const MESSAGES = Object.freeze({
  VALIDATION_ERROR: 'The shop could not accept that request as sent. Reload the page and try again.',
  PAYMENT_DECLINED: 'Your payment was declined. Your hold is kept until its time runs out: try another payment method.',
  DROP_NOT_STARTED: 'The drop has not started yet. Reserve opens when the countdown ends.',
  DROP_PAUSED: 'The shop has paused the drop for a moment. Still trying for you…',
  DROP_CLOSED: 'This drop is closed: no more holds are taken.',
  ADMISSION_REQUIRED: 'The waiting room is on: you will be let in from the queue.',
  ADMISSION_INVALID: 'Your place in the queue could not be checked. Reload the page to queue again.',
  ADMISSION_EXPIRED:
    'Your turn ran out before you reserved, and units that come back go to the next in line. Reload the page to queue again.',
  TURN_PASSED:
    'Your turn to reserve passed, and units that come back go to the next in line. You are in the queue again, at the back.',
  ADMISSION_WRONG_SKU: 'Your place in the queue is for another drop. Reload the page to queue again.',
  ADMISSION_WRONG_CUSTOMER: 'Your place in the queue belongs to another shopper. Reload the page to queue again.',
  TICKET_INVALID: 'Your queue ticket could not be checked. Reload the page to queue again.',
  TICKET_WRONG_SKU: 'Your queue ticket is for another drop. Reload the page to queue again.',
  TICKET_WRONG_CUSTOMER: 'Your queue ticket belongs to another shopper. Reload the page to queue again.',
  NOT_FOUND: 'We could not find that. It may have been removed.',
  SOLD_OUT: 'Sold out: every unit is taken.',
  INVALID_STATE: 'This hold can no longer change: it was already paid for, let go or ran out.',
  PAYMENT_MISMATCH:
    'The payment on record does not match the price of this hold, so no order was placed. Please contact support before paying again.',
  RESERVATION_EXPIRED: 'Your hold ran out before payment, and the unit went back on sale.',
  PAYLOAD_TOO_LARGE: 'That was too much to send at once. Shorten it and try again.',
  IDEMPOTENCY_MISMATCH: 'This attempt clashed with an earlier one from this page. Reload the page and try again.',
  LIMIT_EXCEEDED: 'You already have as many as one customer may buy in this drop.',
  UNAUTHENTICATED: 'Sign in to the shop to reserve, then try again.',
  CUSTOMER_MISMATCH: 'You are signed in as someone else in another tab. Reload the page.',
  BUSY: 'Very busy right now. Still trying for you…',
  THROTTLED: 'Lots of shoppers right now. Still trying for you…',
  UNAVAILABLE: 'The shop is briefly unavailable. Still trying for you…',
  PAUSED: 'The drop is paused for a moment. Still trying for you…',
  INTERNAL_ERROR: 'Something went wrong on our side. Trying again is safe: you will not be held or charged twice.',
  BAD_GATEWAY: 'Something went wrong on our side. Trying again is safe: you will not be held or charged twice.',
  GATEWAY_TIMEOUT: 'That took too long. Trying again is safe: you will not be held or charged twice.',
  FORBIDDEN: 'The shop refused this request. Reload the page and try again.',
  REQUEST_REFUSED: 'The shop refused this request. Reload the page and try again.',
  ROUTE_NOT_FOUND: 'This page is out of date. Reload it to continue.',
  METHOD_NOT_ALLOWED: 'This page is out of date. Reload it to continue.',
  UNSUPPORTED_MEDIA_TYPE: 'This page is out of date. Reload it to continue.',
  URI_TOO_LONG: 'That address is too long. Open the drop again from its link.',
  OFFLINE: 'No connection. We will try again as soon as you are back online.',
  CAPTCHA_REQUIRED:
    'Before you get a place in the queue, our firewall asks you to solve a short puzzle. Open it in a new tab, solve it, then come back to this tab: we will queue you then.',
  CAPTCHA_UNSOLVED:
    'The puzzle is not solved yet, so you are not in the queue. Open it again, solve it, then come back to this tab.',
});

/** The labels of the CAPTCHA step the waiting room shows when the edge asks for one (./waf.js). */
export const CAPTCHA_STEP = Object.freeze({
  title: 'One quick check',
  open: 'Open the puzzle in a new tab',
  done: 'I have solved it',
});

const UNKNOWN = 'Something unexpected happened. Reload the page and try again.';

/** The sentence for an error code; never the server's own text, which may name internals. */
export function messageFor(code) {
  return Object.hasOwn(MESSAGES, code) ? MESSAGES[code] : UNKNOWN;
}
