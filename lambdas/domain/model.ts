/** Plain types of the inventory domain. No SDK, no I/O. */

export type ReservationStatus = 'HELD' | 'CONFIRMED' | 'RELEASED' | 'EXPIRED';

export interface Product {
  readonly sku: string;
  readonly name: string;
  readonly priceCents: number;
  readonly maxPerCustomer: number;
  readonly holdSeconds: number;
  /** ISO 8601; the moment reservations open. */
  readonly dropStartsAt: string;
  readonly shards: number;
}

/** Units taken from each stock shard, keyed by shard index. */
export type Allocation = Readonly<Record<number, number>>;

export interface Reservation {
  readonly reservationId: string;
  readonly sku: string;
  readonly customerId: string;
  readonly quantity: number;
  readonly status: ReservationStatus;
  /** ISO 8601. */
  readonly expiresAt: string;
  readonly allocation: Allocation;
  readonly orderId?: string;
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

export function isBalanced(counts: ShardCounts): boolean {
  return counts.supplied === counts.available + counts.held + counts.sold;
}
