/** What the use cases need from the outside world. Adapters implement these. */
import type { AdmissionCode, DropState } from '../../contract/drops';
import type { DropStateEvent } from '../../contract/edge-values';
import type { OrderPlaced, StockEvent } from '../../contract/messages';
import type {
  Allocation,
  Order,
  OwedRefund,
  Product,
  RefundStatus,
  Reservation,
  ShardCounts,
  ShardImage,
  StockSnapshot,
} from './model';

/**
 * Remembers which reservation an Idempotency-Key produced, and for which
 * request. Keys are scoped per customer: another customer's identical key is
 * another request.
 */
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

/** Clearing a checkout to charge a hold: the hold must still be HELD and not due. */
export type ChargeClearance =
  | { readonly kind: 'cleared'; readonly reservation: Reservation }
  | { readonly kind: 'not-held'; readonly current: Reservation | undefined }
  | { readonly kind: 'contended' };

/** The refund an ending hold owes, when a checkout was cleared to charge it. */
export interface RefundOwed {
  readonly chargeKey: string;
  readonly chargeWindowEndsAtMs: number;
}

/** An operator's product PUT under an Idempotency-Key: the request as sent, and whether it created the product. */
export interface ProductPutClaim {
  readonly idempotencyKey: string;
  /** The request's canonical JSON: a repeat must match it exactly. */
  readonly request: string;
  readonly created: boolean;
}

export type RestockOutcome =
  | { readonly kind: 'restocked' }
  /** The Idempotency-Key was used before: nothing added; `quantity` is what that request asked. */
  | { readonly kind: 'duplicate'; readonly quantity: number }
  | { readonly kind: 'contended' };

export interface ProductChanges {
  readonly name: string;
  readonly priceCents: number;
  readonly currency?: string;
  readonly maxPerCustomer?: number;
  readonly holdSeconds?: number;
  readonly dropStartsAt?: string;
}

export interface InventoryStore {
  /**
   * Strongly consistent by default, from the product item; `consistent: false` (the hot path, confirmed
   * on a miss) reads this environment's replica of it at half the cost, so a drop's environments spread
   * over the replicas' partitions.
   */
  getProduct(sku: string, options?: { consistent: boolean }): Promise<Product | undefined>;
  /**
   * Every shard's `available`, from one stock-vector item: of the SKU's
   * `replicas`, the one this environment reads (eventually consistent: one
   * read whatever the shard count); undefined before it has been written.
   */
  readStockVector(sku: string, replicas: number): Promise<readonly number[] | undefined>;
  /**
   * Creates the product and its shards: 'exists' when the product already
   * exists; 'duplicate' when `claim`'s key was used before (nothing written).
   */
  createProduct(
    product: Product,
    stockPerShard: readonly number[],
    claim?: ProductPutClaim,
  ): Promise<'created' | 'exists' | 'duplicate'>;
  /** Updates an existing product's settings, with `claim` recorded in the same transaction. */
  updateProduct(sku: string, changes: ProductChanges, claim?: ProductPutClaim): Promise<Product | 'duplicate'>;
  /**
   * Sets the drop's state, on the product as read: when `allowed` refuses the state it finds, nothing is
   * written and the product is returned as it is, with `changed: false`.
   */
  changeDropState(
    sku: string,
    state: DropState,
    allowed: (current: DropState) => boolean,
  ): Promise<{ readonly product: Product; readonly changed: boolean }>;
  /** Turns the drop's waiting room on or off. */
  changeWaitingRoom(sku: string, on: boolean): Promise<Product>;
  findProductPut(sku: string, idempotencyKey: string): Promise<ProductPutClaim | undefined>;
  readShards(sku: string, shards: number, options: { consistent: boolean }): Promise<ShardCounts[]>;
  placeHold(input: PlaceHoldInput): Promise<PlaceHoldOutcome>;
  findIdempotencyRecord(customerId: string, idempotencyKey: string): Promise<IdempotencyRecord | undefined>;
  getReservation(reservationId: string): Promise<Reservation | undefined>;
  /**
   * HELD → `ending`, units back to stock, in one transaction. It commits only
   * on the hold exactly as given (same charge clearance), and records
   * `refundOwed` in the same transaction when given.
   */
  endHold(
    reservation: Reservation,
    ending: HoldEnding,
    nowMs: number,
    refundOwed?: RefundOwed,
  ): Promise<EndHoldOutcome>;
  /** Stamps `lastChargeAttemptAtMs = nowMs` on a hold that is HELD and not due at `nowMs`. */
  clearCharge(reservationId: string, nowMs: number): Promise<ChargeClearance>;
  /** Adds units to the shards once per (sku, Idempotency-Key). */
  restock(sku: string, unitsPerShard: readonly number[], idempotencyKey: string): Promise<RestockOutcome>;
  /** Ids of HELD reservations whose expiry is at or before `nowMs`, oldest first, at most `limit`. */
  listDueHolds(nowMs: number, limit: number): Promise<string[]>;
  /** Moves a HELD hold to the back of the expiry queue until `untilMs` (its expiry itself is unchanged). */
  deferHold(reservationId: string, untilMs: number): Promise<void>;
  /** HELD and not yet due → CONFIRMED, units held → sold, and the order recorded, in one transaction. */
  confirmHold(reservation: Reservation, order: Order, nowMs: number): Promise<EndHoldOutcome>;
  getRefund(reservationId: string): Promise<OwedRefund | undefined>;
  /** Ids of OWED refunds whose next attempt is at or before `nowMs`, oldest first, at most `limit`. */
  listDueRefunds(nowMs: number, limit: number): Promise<string[]>;
  /** OWED → `status`; false when it was no longer OWED. */
  closeRefund(reservationId: string, status: Exclude<RefundStatus, 'OWED'>, nowMs: number): Promise<boolean>;
  /** Keeps an OWED refund for another attempt at `nextAttemptAtMs`. */
  rescheduleRefund(reservationId: string, nextAttemptAtMs: number, attempts: number): Promise<void>;
  getOrder(orderId: string): Promise<Order | undefined>;
  /** PLACED → FULFILLED; false when the order was already fulfilled. */
  markFulfilled(orderId: string): Promise<boolean>;
}

/**
 * What the outbox relay keeps beside the stock shards: each SKU's snapshot,
 * folded from shard images, and the stock-vector item every stock view reads.
 * It never writes a stock shard; it reads them only for an operator or the
 * sweeper, never on a request's path.
 */
export interface StockSnapshotStore {
  /** Every shard read in transactions of up to 100 shards (each chunk a consistent cut): for an operator, never on the hot path. */
  snapshot(sku: string, shards: number): Promise<StockSnapshot>;
  /** Every shard's image, read as `snapshot` reads them (an operator's redrive). */
  shardImages(sku: string, shards: number): Promise<ShardImage[]>;
  /**
   * Folds shard images (from the stream, or a redrive's read) into the SKU's
   * snapshot items, each shard kept only when newer than what they hold, and
   * returns every shard's image as they now hold them; undefined until every
   * shard has been seen. With no images, it reads what they hold.
   */
  mergeShardImages(sku: string, images: readonly ShardImage[], shards: number): Promise<ShardImage[] | undefined>;
  /**
   * Writes the stock vector of `version` to each of the SKU's `replicas`, each
   * only when newer than what it holds, so a late writer never rolls one back.
   * Replica 0 is written last: when it holds a version, every replica holds
   * that one or a newer one.
   */
  writeStockVector(sku: string, version: number, available: readonly number[], replicas: number): Promise<void>;
  /** SKUs created with more than one stock-vector replica, for the sweeper's refresh. */
  listReplicatedSkus(limit: number): Promise<string[]>;
  /** Folds shard images in without composing a snapshot: for shards written before their product item. */
  foldShardImages(sku: string, images: readonly ShardImage[]): Promise<void>;
  /** Every shard's image, read strongly consistent with plain reads (never a transaction): for reconciling the snapshot. */
  readShardImages(sku: string, shards: number): Promise<ShardImage[]>;
  /** The version the stock-vector item was last written at (the sum of its shards' versions then). */
  stockVectorVersion(sku: string): Promise<number | undefined>;
  /** SKUs whose stock-vector item exists, for the sweeper's reconciliation. */
  listStockVectors(limit: number): Promise<string[]>;
}

/** One page of what the outbox carries, read from the table itself: orders still PLACED and products' SKUs. */
export interface OutboxPage {
  /** Items the page read. */
  readonly scanned: number;
  readonly placed: readonly Order[];
  readonly skus: readonly string[];
}

/** The outbox as the table holds it, for recovering a lost stream range; never read on a request path. */
export interface OutboxReader {
  scanOutbox(): AsyncIterable<OutboxPage>;
}

/** Where new orders go for fulfilment, deduplicated by reservation: enqueueing twice is harmless by design. */
export interface OrderQueue {
  /** Throws when any order was not enqueued: the caller's retry resends them all. */
  enqueueOrders(orders: readonly OrderPlaced[]): Promise<void>;
}

/** Where stock snapshots go for the channels, deduplicated by `sku:version`: publishing twice is harmless by design. */
export interface StockEventTopic {
  publishStockEvent(event: StockEvent): Promise<void>;
  /** In the SKU's message group, after the stock events published before it. */
  publishDropState(event: DropStateEvent): Promise<void>;
}

/** A sales channel's view of a SKU's stock, as its consumer last applied it. */
export interface ChannelView {
  readonly channel: string;
  readonly sku: string;
  readonly available: number;
  readonly soldOut: boolean;
  readonly version: number;
  /** When the snapshot was published and when this channel applied it (ISO 8601). */
  readonly publishedAt: string;
  readonly appliedAt: string;
}

/** The channels' views. Applying is conditional on the version being newer, so a view never moves backwards. */
export interface ChannelViewStore {
  /** Applies a snapshot unless the view already holds it or a newer one; true when applied. */
  apply(channel: string, event: StockEvent, now?: Date): Promise<boolean>;
  /** The views of `sku` that exist, in the order of `channels`. */
  views(channels: readonly string[], sku: string): Promise<ChannelView[]>;
}

/** A charge as the provider recorded it: a repeated charge returns the first one, whatever it was asked. */
export type ChargeOutcome =
  | { readonly kind: 'charged'; readonly chargeId: string; readonly amountCents: number; readonly currency: string }
  | { readonly kind: 'declined' };

/**
 * The payment service. Charges are idempotent per key. A real adapter must
 * give the same guarantees: one charge per key, a refund per key that is
 * idempotent, and an answer within the checkout function's timeout.
 */
export interface PaymentProvider {
  charge(request: {
    idempotencyKey: string;
    amountCents: number;
    currency: string;
    token: string;
  }): Promise<ChargeOutcome>;
  /** Refunds the charge made under this key (idempotent), or says nothing was charged under it. */
  refundFor(idempotencyKey: string): Promise<'refunded' | 'nothing-charged'>;
}

/** The warehouse. Dispatching is idempotent per order: a repeat returns false and ships nothing. */
export interface Warehouse {
  dispatch(order: Order): Promise<boolean>;
}

/** Checks an admission token from the edge's waiting room: undefined when it admits this customer to this SKU. */
export interface AdmissionVerifier {
  check(token: string | undefined, sku: string, customerId: string): Promise<AdmissionCode | undefined>;
}

/** The shop's identity provider: the verified subject of a shopper's `Authorization` header. */
export interface IdentityVerifier {
  /** Throws `IdentityError` (UNAUTHENTICATED) or `IdentityUnavailableError`. */
  subjectOf(authorization: string | undefined): Promise<string>;
}

export interface Clock {
  now(): number;
}

export type Allocator = (available: readonly number[], quantity: number) => Allocation | undefined;
