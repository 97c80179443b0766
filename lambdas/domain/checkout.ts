/**
 * Checkout: a HELD reservation becomes exactly one order, charged the price
 * fixed on the hold. The charge is made under the reservation's key (so
 * concurrent or repeated checkouts charge once), and only after the hold has
 * cleared it; checkout itself never refunds. A hold that ends unsold after a
 * clearance owes its refund durably (see `Refunds`), and confirming needs the
 * hold still HELD, so an order never stands on a refunded charge.
 *
 * Time: each environment's clock only decides whether to try; what happened
 * is decided by which conditional transition on the reservation item commits
 * first (CONFIRMED, RELEASED or EXPIRED, exactly one). A clock that is off by
 * d moves the moment a hold stops being confirmable by d, never the money.
 */
import { contentionRetries, jitteredBackoffMs } from '../../contract/retries';
import {
  BusyError,
  InvalidStateError,
  NotFoundError,
  PaymentDeclinedError,
  PaymentMismatchError,
  ReservationExpiredError,
} from './errors';
import { amountDue, chargeKeyFor, type Order, type Reservation } from './model';
import type { Clock, InventoryStore, PaymentProvider } from './ports';
import type { Refunds } from './refunds';

export interface CheckoutDeps {
  readonly store: InventoryStore;
  readonly payment: Pick<PaymentProvider, 'charge'>;
  readonly refunds: Refunds;
  readonly clock: Clock;
  readonly newId: () => string;
  readonly sleep: (ms: number) => Promise<void>;
}

export interface CheckoutResult {
  readonly order: Order;
  /** True when the reservation had already been checked out: same order, no new charge. */
  readonly replayed: boolean;
}

const MAX_ATTEMPTS = contentionRetries.maxAttempts;

export class Checkout {
  constructor(private readonly deps: CheckoutDeps) {}

  async checkout(reservationId: string, paymentToken: string): Promise<CheckoutResult> {
    const giveUpAt = this.deps.clock.now() + contentionRetries.budgetMs;
    const found = await this.deps.store.getReservation(reservationId);
    if (!found) throw new NotFoundError('No such reservation');
    if (found.status === 'CONFIRMED') return this.existingOrder(found);
    this.assertCheckable(found);
    const reservation = await this.clearCharge(reservationId, giveUpAt);
    if (reservation.status === 'CONFIRMED') return this.existingOrder(reservation);

    const amountCents = amountDue(reservation);
    const charge = await this.deps.payment.charge({
      idempotencyKey: chargeKeyFor(reservation.reservationId),
      amountCents,
      currency: reservation.currency,
      token: paymentToken,
    });
    if (charge.kind === 'declined') throw new PaymentDeclinedError();
    // A retry reuses the first charge made under the key; it must be exactly what the hold costs.
    if (charge.amountCents !== amountCents || charge.currency !== reservation.currency) {
      throw new PaymentMismatchError();
    }

    const order: Order = {
      orderId: this.deps.newId(),
      reservationId: reservation.reservationId,
      sku: reservation.sku,
      customerId: reservation.customerId,
      quantity: reservation.quantity,
      amountCents,
      currency: reservation.currency,
      chargeId: charge.chargeId,
      status: 'PLACED',
      placedAt: new Date(this.deps.clock.now()).toISOString(),
    };
    // Charged: the confirmation gets a budget of its own, whatever the charge took.
    const confirmBy = this.deps.clock.now() + contentionRetries.budgetMs;
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      const outcome = await this.deps.store.confirmHold(reservation, order, this.deps.clock.now());
      if (outcome.kind === 'ended') return { order, replayed: false };
      if (outcome.kind === 'not-held') return this.lost(reservationId, outcome.current);
      if (this.deps.clock.now() >= confirmBy) break;
      await this.deps.sleep(jitteredBackoffMs(attempt));
    }
    // Still HELD: the charge stays for the retry (same key, same charge); the hold's end refunds it if none comes.
    throw new BusyError();
  }

  async getOrder(orderId: string): Promise<Order> {
    const order = await this.deps.store.getOrder(orderId);
    if (!order) throw new NotFoundError('No such order');
    return order;
  }

  /**
   * Clears the charge on the hold: from here on, an unsold end of the hold
   * owes a refund. Returns the cleared hold, or the hold as a concurrent
   * checkout confirmed it.
   */
  private async clearCharge(reservationId: string, giveUpAt: number): Promise<Reservation> {
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      const outcome = await this.deps.store.clearCharge(reservationId, this.deps.clock.now());
      if (outcome.kind === 'cleared') return outcome.reservation;
      if (outcome.kind === 'not-held') {
        if (outcome.current?.status === 'CONFIRMED') return outcome.current;
        return this.refuse(outcome.current);
      }
      if (this.deps.clock.now() >= giveUpAt) break;
      await this.deps.sleep(jitteredBackoffMs(attempt));
    }
    throw new BusyError();
  }

  /**
   * The confirmation did not commit: the hold was confirmed by a concurrent
   * checkout (whose order stands on the same charge), or it ended, or it is
   * due. A hold that ended owes the refund durably; it is tried at once here.
   */
  private async lost(reservationId: string, current: Reservation | undefined): Promise<CheckoutResult> {
    if (current?.status === 'CONFIRMED') return this.existingOrder(current);
    if (current?.status === 'RELEASED' || current?.status === 'EXPIRED') {
      await this.deps.refunds.settle(reservationId).catch(() => undefined);
    }
    return this.refuse(current);
  }

  private refuse(current: Reservation | undefined): never {
    if (!current) throw new NotFoundError('No such reservation');
    this.assertCheckable(current);
    // HELD, but due by this environment's clock: the sweeper expires it (and refunds what was charged).
    throw new ReservationExpiredError();
  }

  private assertCheckable(reservation: Reservation): void {
    if (reservation.status === 'CONFIRMED') throw new InvalidStateError('The reservation is already confirmed');
    if (reservation.status === 'RELEASED') throw new InvalidStateError('The reservation was released');
    if (reservation.status === 'EXPIRED') throw new ReservationExpiredError();
    if (reservation.status === 'HELD' && Date.parse(reservation.expiresAt) <= this.deps.clock.now()) {
      throw new ReservationExpiredError();
    }
  }

  private async existingOrder(reservation: Reservation): Promise<CheckoutResult> {
    if (!reservation.orderId) throw new InvalidStateError('The reservation is confirmed without an order');
    return { order: await this.getOrder(reservation.orderId), replayed: true };
  }
}
