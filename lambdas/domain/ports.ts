/** What the use cases need from the outside world. Adapters implement these. */
import type { Allocation, Order, Product, Reservation, ShardCounts, StockSnapshot } from './model';

/** Remembers which reservation an Idempotency-Key produced, and for which request. */
export interface IdempotencyRecord {
  readonly idempotencyKey: string;
  readonly reservationId: string;
  readonly sku: string;
  readonly customerId: string;
  readonly quantity: number;
}

export interface PlaceHoldInput {
  readonly reservation: Reservation;
  readonly idempotencyKey: string;
  readonly maxPerCustomer: number;
  /** Epoch milliseconds; also the key of the expiry index. */
  readonly expiresAtMs: number;
}

export type PlaceHoldOutcome =
  | { readonly kind: 'placed' }
  | { readonly kind: 'duplicate'; readonly record: IdempotencyRecord }
  | { readonly kind: 'limit-exceeded' }
  /** Some shards held less than asked; `available` is what they held at that moment. */
  | { readonly kind: 'shortfall'; readonly available: ReadonlyArray<readonly [shard: number, units: number]> }
  /** Transaction conflict or throttling: nothing was written, a retry may succeed. */
  | { readonly kind: 'contended' };

export type EndHoldOutcome =
  | { readonly kind: 'ended' }
  /** The reservation was no longer HELD (or not yet due); `current` is what it was. */
  | { readonly kind: 'not-held'; readonly current: Reservation | undefined }
  | { readonly kind: 'contended' };

export type HoldEnding = 'RELEASED' | 'EXPIRED';

export interface ProductChanges {
  readonly name: string;
  readonly priceCents: number;
  readonly maxPerCustomer?: number;
  readonly holdSeconds?: number;
  readonly dropStartsAt?: string;
}

export interface InventoryStore {
  getProduct(sku: string): Promise<Product | undefined>;
  /** Creates the product and its shards; false when the product already exists. */
  createProduct(product: Product, stockPerShard: readonly number[]): Promise<boolean>;
  updateProduct(sku: string, changes: ProductChanges): Promise<Product>;
  readShards(sku: string, shards: number, options: { consistent: boolean }): Promise<ShardCounts[]>;
  placeHold(input: PlaceHoldInput): Promise<PlaceHoldOutcome>;
  findIdempotencyRecord(idempotencyKey: string): Promise<IdempotencyRecord | undefined>;
  getReservation(reservationId: string): Promise<Reservation | undefined>;
  endHold(reservation: Reservation, ending: HoldEnding, nowMs: number): Promise<EndHoldOutcome>;
  restock(sku: string, unitsPerShard: readonly number[]): Promise<'restocked' | 'contended'>;
  /** Ids of HELD reservations whose expiry is at or before `nowMs`, oldest first, at most `limit`. */
  listDueHolds(nowMs: number, limit: number): Promise<string[]>;
  /** HELD and not yet due → CONFIRMED, units held → sold, and the order recorded, in one transaction. */
  confirmHold(reservation: Reservation, order: Order, nowMs: number): Promise<EndHoldOutcome>;
  getOrder(orderId: string): Promise<Order | undefined>;
  /** PLACED → FULFILLED; false when the order was already fulfilled. */
  markFulfilled(orderId: string): Promise<boolean>;
  /** All shards read in one serializable transaction. */
  snapshot(sku: string, shards: number): Promise<StockSnapshot>;
}

export type ChargeOutcome = { readonly kind: 'charged'; readonly chargeId: string } | { readonly kind: 'declined' };

/** The payment service. Charges are idempotent per key: a repeated charge returns the first one. */
export interface PaymentProvider {
  charge(request: { idempotencyKey: string; amountCents: number; token: string }): Promise<ChargeOutcome>;
  refund(chargeId: string): Promise<void>;
  /** Refunds the charge made under this key, if there is one; false when nothing was charged. */
  refundFor(idempotencyKey: string): Promise<boolean>;
}

/** The warehouse. Dispatching is idempotent per order: a repeat returns false and ships nothing. */
export interface Warehouse {
  dispatch(order: Order): Promise<boolean>;
}

export interface Clock {
  now(): number;
}

export type Allocator = (available: readonly number[], quantity: number) => Allocation | undefined;
