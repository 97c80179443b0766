/**
 * Checkout: a HELD reservation becomes exactly one order. Payment is charged
 * with the reservation as idempotency key, so concurrent or repeated
 * checkouts charge once; a charge whose hold is lost meanwhile is refunded,
 * here or when the hold is released or expires.
 */
import { BusyError, InvalidStateError, NotFoundError, PaymentDeclinedError, ReservationExpiredError } from './errors';
import { chargeKeyFor, type Order, type Reservation } from './model';
import type { Clock, InventoryStore, PaymentProvider } from './ports';

export interface CheckoutDeps {
  readonly store: InventoryStore;
  readonly payment: PaymentProvider;
  readonly clock: Clock;
  readonly newId: () => string;
  readonly sleep: (ms: number) => Promise<void>;
}

export interface CheckoutResult {
  readonly order: Order;
  /** True when the reservation had already been checked out: same order, no new charge. */
  readonly replayed: boolean;
}

const MAX_ATTEMPTS = 12;

export class Checkout {
  constructor(private readonly deps: CheckoutDeps) {}

  async checkout(reservationId: string, paymentToken: string): Promise<CheckoutResult> {
    const reservation = await this.deps.store.getReservation(reservationId);
    if (!reservation) throw new NotFoundError('No such reservation');
    this.assertCheckable(reservation);
    if (reservation.status === 'CONFIRMED') return this.existingOrder(reservation);

    const product = await this.deps.store.getProduct(reservation.sku);
    if (!product) throw new NotFoundError('No such product');
    const amountCents = product.priceCents * reservation.quantity;
    const charge = await this.deps.payment.charge({
      idempotencyKey: chargeKeyFor(reservation.reservationId),
      amountCents,
      token: paymentToken,
    });
    if (charge.kind === 'declined') throw new PaymentDeclinedError();

    const order: Order = {
      orderId: this.deps.newId(),
      reservationId: reservation.reservationId,
      sku: reservation.sku,
      customerId: reservation.customerId,
      quantity: reservation.quantity,
      amountCents,
      chargeId: charge.chargeId,
      status: 'PLACED',
      placedAt: new Date(this.deps.clock.now()).toISOString(),
    };
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      const outcome = await this.deps.store.confirmHold(reservation, order, this.deps.clock.now());
      if (outcome.kind === 'ended') return { order, replayed: false };
      if (outcome.kind === 'not-held') {
        const current = outcome.current;
        // A concurrent checkout won: it used the same (idempotent) charge, which must stand.
        if (current?.status === 'CONFIRMED') return this.existingOrder(current);
        await this.deps.payment.refund(charge.chargeId);
        if (!current) throw new NotFoundError('No such reservation');
        this.assertCheckable(current);
        throw new ReservationExpiredError();
      }
      await this.deps.sleep(Math.random() * Math.min(200, 10 * 2 ** attempt));
    }
    // Still HELD: the charge stays for the retry (same key, same charge). Refunding here would let a retry
    // confirm on a refunded charge; a hold that ends unsold refunds it instead (Inventory.refundUnsold).
    throw new BusyError();
  }

  async getOrder(orderId: string): Promise<Order> {
    const order = await this.deps.store.getOrder(orderId);
    if (!order) throw new NotFoundError('No such order');
    return order;
  }

  private assertCheckable(reservation: Reservation): void {
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
