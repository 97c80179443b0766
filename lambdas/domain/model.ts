/** Plain types of the inventory domain. No SDK, no I/O. */
import type { DropState } from '../../contract/drops';

export type ReservationStatus = 'HELD' | 'CONFIRMED' | 'RELEASED' | 'EXPIRED';

export interface Product {
  readonly sku: string;
  readonly name: string;
  readonly priceCents: number;
  /** ISO 4217, upper case. */
  readonly currency: string;
  readonly maxPerCustomer: number;
  readonly holdSeconds: number;
  /** ISO 8601; the moment reservations open. */
  readonly dropStartsAt: string;
  /** The operator's control of the drop (`contract/drops.ts`); OPEN until paused or closed. */
  readonly dropState: DropState;
  /** Whether attempts need an admission token from the edge's waiting room (`contract/drops.ts`). */
  readonly waitingRoom: boolean;
  /** The product item's revision as read (every update moves it on); absent where no store keeps one. */
  readonly revision?: number;
  readonly shards: number;
  /**
   * Copies of the stock vector the environments' stock views read, each the
   * one its seed picks; set at creation, from the drop plan. One (the default)
   * is kept current by the outbox relay; more are rewritten by the sweeper
   * once a second (`contract/stock-view.ts`).
   */
  readonly viewReplicas: number;
}

/** Units taken from each stock shard, keyed by shard index. */
export type Allocation = Readonly<Record<number, number>>;

export interface Reservation {
  readonly reservationId: string;
  readonly sku: string;
  readonly customerId: string;
  readonly quantity: number;
  /** The product's price when the hold was placed: what checkout charges, whatever the product says later. */
  readonly unitPriceCents: number;
  readonly currency: string;
  readonly status: ReservationStatus;
  /** ISO 8601. */
  readonly expiresAt: string;
  readonly allocation: Allocation;
  readonly orderId?: string;
  /**
   * Epoch ms of the last checkout that was cleared to charge this hold. Set
   * only while the hold is HELD; a hold that then ends unsold owes a refund.
   */
  readonly lastChargeAttemptAtMs?: number;
}

/** What a checkout charges for a hold: its own price, fixed when it was placed. */
export function amountDue(reservation: Pick<Reservation, 'unitPriceCents' | 'quantity'>): number {
  return reservation.unitPriceCents * reservation.quantity;
}

export type OrderStatus = 'PLACED' | 'FULFILLED';

/**
 * The payment idempotency key of a reservation: every checkout of it charges
 * under this key (so at most once), and a hold that ends unsold refunds
 * whatever was charged under it.
 */
export const chargeKeyFor = (reservationId: string) => `reservation:${reservationId}`;

export interface Order {
  readonly orderId: string;
  readonly reservationId: string;
  readonly sku: string;
  readonly customerId: string;
  readonly quantity: number;
  readonly amountCents: number;
  readonly currency: string;
  readonly chargeId: string;
  readonly status: OrderStatus;
  /** ISO 8601. */
  readonly placedAt: string;
}

/** A consistent picture of a product's stock; `version` grows with every change to any shard. */
export interface StockSnapshot extends ShardCounts {
  readonly sku: string;
  readonly version: number;
}

/** One shard as a write left it: its counters and its version (which grows with every write to it). */
export interface ShardImage extends ShardCounts {
  readonly shard: number;
  readonly version: number;
}

/** One shard's counters; every transaction keeps `supplied = available + held + sold`. */
export interface ShardCounts {
  readonly supplied: number;
  readonly available: number;
  readonly held: number;
  readonly sold: number;
  readonly released: number;
  readonly expired: number;
}

export interface Ledger extends ShardCounts {
  readonly sku: string;
}

export const emptyCounts: ShardCounts = {
  supplied: 0,
  available: 0,
  held: 0,
  sold: 0,
  released: 0,
  expired: 0,
};

export function sumCounts(shards: readonly ShardCounts[]): ShardCounts {
  return shards.reduce<ShardCounts>(
    (total, shard) => ({
      supplied: total.supplied + shard.supplied,
      available: total.available + shard.available,
      held: total.held + shard.held,
      sold: total.sold + shard.sold,
      released: total.released + shard.released,
      expired: total.expired + shard.expired,
    }),
    emptyCounts,
  );
}

/** The snapshot shard images add up to; its version is the sum of theirs, so it grows with every change. */
export function snapshotOf(sku: string, images: readonly ShardImage[]): StockSnapshot {
  return { sku, version: images.reduce((sum, image) => sum + image.version, 0), ...sumCounts(images) };
}

export function isBalanced(counts: ShardCounts): boolean {
  return counts.supplied === counts.available + counts.held + counts.sold;
}

export type RefundStatus = 'OWED' | 'REFUNDED' | 'NOTHING_CHARGED';

/**
 * A refund a hold owes because it ended unsold after a checkout was cleared
 * to charge it. Written in the transaction that ends the hold, so it cannot
 * be lost; closed once the provider confirms the refund, or once no charge
 * can still arrive and none was made.
 */
export interface OwedRefund {
  readonly reservationId: string;
  readonly sku: string;
  readonly chargeKey: string;
  readonly status: RefundStatus;
  /** Epoch ms when the hold ended. */
  readonly owedSinceMs: number;
  /** Epoch ms after which no charge under `chargeKey` can still be made. */
  readonly chargeWindowEndsAtMs: number;
  readonly attempts: number;
}
