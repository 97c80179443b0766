/**
 * Every error dropline throws. A `DomainError` names a rule the shopper or
 * operator ran into, by a code of `ErrorCode`; the HTTP layer maps each code
 * to its status in exactly one place (`toHttpError` in
 * `lambdas/shared/http.ts`), and the compiler refuses a code it does not map.
 * The faults at the end are never a client's answer: they surface as 500s or
 * failed messages, and alarms.
 */
import type { AdmissionCode } from '../../contract/drops';
import { envVars } from '../../contract/env-vars';
import type { IdentityCode } from '../../contract/identity';

export type ErrorCode =
  | 'VALIDATION_ERROR'
  | 'PAYMENT_DECLINED'
  | 'DROP_NOT_STARTED'
  | 'DROP_PAUSED'
  | 'DROP_CLOSED'
  | AdmissionCode
  | IdentityCode
  | 'NOT_FOUND'
  | 'SOLD_OUT'
  | 'INVALID_STATE'
  | 'PAYMENT_MISMATCH'
  | 'RESERVATION_EXPIRED'
  | 'PAYLOAD_TOO_LARGE'
  | 'IDEMPOTENCY_MISMATCH'
  | 'LIMIT_EXCEEDED'
  | 'BUSY';

export abstract class DomainError extends Error {
  abstract readonly code: ErrorCode;
  constructor(message: string) {
    super(message);
    this.name = new.target.name;
  }
}

export class NotFoundError extends DomainError {
  readonly code = 'NOT_FOUND';
}

export class ValidationError extends DomainError {
  readonly code = 'VALIDATION_ERROR';
}

export class DropNotStartedError extends DomainError {
  readonly code = 'DROP_NOT_STARTED';
  constructor(readonly startsAt: string) {
    super(`The drop starts at ${startsAt}`);
  }
}

/** The operator paused the drop: no new hold until it resumes. */
export class DropPausedError extends DomainError {
  readonly code = 'DROP_PAUSED';
  constructor(readonly retryAfterSeconds: number) {
    super('The drop is paused; try again shortly');
  }
}

/** The operator closed the drop: no new hold, ever. */
export class DropClosedError extends DomainError {
  readonly code = 'DROP_CLOSED';
  constructor() {
    super('The drop is closed');
  }
}

const ADMISSION_MESSAGES: Readonly<Record<AdmissionCode, string>> = {
  ADMISSION_REQUIRED: 'The waiting room is on: queue first (GET /drops/{sku}/queue) and send its admission',
  ADMISSION_INVALID: 'Not a valid admission',
  ADMISSION_EXPIRED: 'This admission has expired: queue again',
  ADMISSION_WRONG_SKU: 'This admission is for another drop',
  ADMISSION_WRONG_CUSTOMER: 'This admission is for another customer',
};

/**
 * The shop's identity provider does not vouch for the shopper: no token, or one that does not verify
 * (UNAUTHENTICATED, 401), or a valid one for another customer than the body names (CUSTOMER_MISMATCH, 403).
 */
export class IdentityError extends DomainError {
  constructor(
    readonly code: IdentityCode,
    message: string,
    /** Whether a token was sent: RFC 6750 then names the error (`invalid_token`). */
    readonly tokenSent = false,
  ) {
    super(message);
  }
}

/** The identity provider's keys could not be fetched: the shopper's token may be fine; retry. */
export class IdentityUnavailableError extends Error {
  constructor(override readonly cause: unknown) {
    super('The identity provider could not be reached');
    this.name = 'IdentityUnavailableError';
  }
}

/** The waiting room is on and the attempt's admission token does not admit it. */
export class AdmissionError extends DomainError {
  constructor(readonly code: AdmissionCode) {
    super(ADMISSION_MESSAGES[code]);
  }
}

export class SoldOutError extends DomainError {
  readonly code = 'SOLD_OUT';
  constructor(readonly available: number) {
    super(available === 0 ? 'Sold out' : `Only ${available} left: ask for fewer`);
  }
}

export class LimitExceededError extends DomainError {
  readonly code = 'LIMIT_EXCEEDED';
  constructor(readonly maxPerCustomer: number) {
    super(`At most ${maxPerCustomer} per customer`);
  }
}

export class IdempotencyMismatchError extends DomainError {
  readonly code = 'IDEMPOTENCY_MISMATCH';
  constructor() {
    super('This Idempotency-Key was used with a different request');
  }
}

export class InvalidStateError extends DomainError {
  readonly code = 'INVALID_STATE';
}

/** The store stayed contended or throttled after bounded retries: try again shortly. */
export class BusyError extends DomainError {
  readonly code = 'BUSY';
  constructor(readonly retryAfterSeconds = 1) {
    super('Too many requests for this product right now; retry shortly');
  }
}

export class PaymentDeclinedError extends DomainError {
  readonly code = 'PAYMENT_DECLINED';
  constructor() {
    super('The payment was declined; the hold is kept until it expires');
  }
}

/**
 * The provider holds a charge under the hold's key that is not what the hold
 * costs (amount or currency): no order is placed on it, and the hold's end
 * refunds it.
 */
export class PaymentMismatchError extends DomainError {
  readonly code = 'PAYMENT_MISMATCH';
  constructor() {
    super('The payment on record for this hold does not match its price; no order was placed');
  }
}

export class ReservationExpiredError extends DomainError {
  readonly code = 'RESERVATION_EXPIRED';
  constructor() {
    super('The hold expired before checkout; its units went back to stock');
  }
}

/** Another request is creating the same wide product with other stock: nothing of this one went live. */
export class ProductCreationConflictError extends InvalidStateError {
  constructor(sku: string) {
    super(`Product ${sku} is being created by another request with other stock; retry to see it`);
  }
}

/** A request body over the API's limit, refused before it is parsed. */
export class PayloadTooLargeError extends DomainError {
  readonly code = 'PAYLOAD_TOO_LARGE';
  constructor(limitBytes: number) {
    super(`Request body exceeds ${limitBytes} bytes`);
  }
}

/** A shard refused to give back units it should hold: the ledger is corrupt. Never expected. */
export class LedgerInvariantError extends Error {
  constructor(sku: string) {
    super(`Ledger invariant violated for ${sku}`);
    this.name = 'LedgerInvariantError';
  }
}

/** A channel message came from a queue the function was not wired to as a channel's. */
export class UnknownChannelError extends Error {
  constructor() {
    super(`The message came from a queue that belongs to no channel in ${envVars.channelQueueArns}`);
    this.name = 'UnknownChannelError';
  }
}
