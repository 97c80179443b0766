/**
 * Domain errors. Each one names a rule the shopper or operator ran into; the
 * HTTP layer maps them to status codes in exactly one place
 * (`toHttpError` in `lambdas/shared/http.ts`).
 */
export abstract class DomainError extends Error {
  abstract readonly code: string;
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
