/**
 * How the inventory store's items are laid out in the table: the key of each
 * item kind (under the prefixes `contract/inventory-table.ts` names), the
 * expiry index's lanes, the items as domain objects, and the one update a
 * transaction makes to a stock shard.
 */
import type { QueryCommandInput, TransactWriteCommandInput } from '@aws-sdk/lib-dynamodb';
import { inventoryTable, type KeyPrefix, keyPrefixes } from '../../contract/inventory-table';
import type * as model from '../domain/model';
import type { IdempotencyRecord } from '../domain/ports';

export type TransactItem = NonNullable<TransactWriteCommandInput['TransactItems']>[number];
export type Item = Record<string, unknown>;

export const keys = {
  /** The product's settings; replicas (`PRODUCT#<sku>#<replica>`) are copies for the hot path's reads. */
  product: (sku: string, replica?: number) => ({
    pk: replica === undefined ? `${keyPrefixes.product}${sku}` : `${keyPrefixes.product}${sku}#${replica}`,
  }),
  order: (orderId: string) => ({ pk: `${keyPrefixes.order}${orderId}` }),
  stock: (sku: string, shard: number) => ({ pk: `${keyPrefixes.stock}${sku}#${shard}` }),
  reservation: (id: string) => ({ pk: `${keyPrefixes.reservation}${id}` }),
  /** Customer ids cannot hold `#`, so the customer's part of the key is unambiguous. */
  idempotency: (customerId: string, key: string) => ({ pk: `${keyPrefixes.idempotency}${customerId}#${key}` }),
  limit: (sku: string, customerId: string) => ({ pk: `${keyPrefixes.limit}${sku}#${customerId}` }),
  refund: (reservationId: string) => ({ pk: `${keyPrefixes.refund}${reservationId}` }),
  restock: (sku: string, key: string) => ({ pk: `${keyPrefixes.restock}${sku}#${key}` }),
  productPut: (sku: string, key: string) => ({ pk: `${keyPrefixes.productPut}${sku}#${key}` }),
  /** One group of shards of the relay's snapshot. */
  snapshot: (sku: string, group: number) => ({ pk: `${keyPrefixes.snapshot}${sku}#${group}` }),
  /** Each shard's `available` only: the small item every environment's stock view reads; replica 0 is `STOCKVIEW#<sku>`. */
  stockVector: (sku: string, replica = 0) => ({
    pk: replica === 0 ? `${keyPrefixes.stockVector}${sku}` : `${keyPrefixes.stockVector}${sku}#${replica}`,
  }),
} satisfies Partial<Record<keyof typeof keyPrefixes, (...parts: never[]) => { pk: string }>>;

/** What follows the prefix in an item's key: the id a key builder was given (`RESERVATION#<id>` → `<id>`). */
export function keyIdOf(prefix: KeyPrefix, item: Item): string {
  return String(item.pk).slice(prefix.length);
}

/** The snapshot item's attribute holding one shard's image. */
export const shardAttribute = (shard: number) => `shard${shard}`;

export type ShardCounter = keyof model.ShardCounts;

/**
 * How one transaction moves a stock shard's units: out of `from` (never more
 * than it holds: the condition), into `into`, and added to the `add` tallies;
 * the shard's version grows by one, so the relay can tell its newest image.
 * A move with no `from` only adds, to a shard that must exist.
 */
export interface ShardMove {
  readonly from?: ShardCounter;
  readonly into?: ShardCounter;
  readonly add?: readonly ShardCounter[];
  /** The shard as it stood when the condition failed comes back with the cancellation. */
  readonly returnOnFailure?: boolean;
}

/**
 * The update a transaction makes to one stock shard. A hold is
 * `{ from: 'available', into: 'held' }`: `SET #available = #available - :units,
 * #held = #held + :units ADD #version :one` on `#available >= :units`.
 */
export function shardUpdate(
  tableName: string,
  sku: string,
  shard: number,
  units: number,
  move: ShardMove,
): TransactItem {
  const { from, into, add = [] } = move;
  const sets = [...(from ? [`#${from} = #${from} - :units`] : []), ...(into ? [`#${into} = #${into} + :units`] : [])];
  const adds = [...add.map((counter) => `#${counter} :units`), '#version :one'];
  const named = [from, into, ...add, 'version'].filter((name) => name !== undefined);
  return {
    Update: {
      TableName: tableName,
      Key: keys.stock(sku, shard),
      UpdateExpression: `${sets.length > 0 ? `SET ${sets.join(', ')} ` : ''}ADD ${adds.join(', ')}`,
      ConditionExpression: from ? `#${from} >= :units` : 'attribute_exists(pk)',
      ExpressionAttributeNames: Object.fromEntries(named.map((name) => [`#${name}`, name])),
      ExpressionAttributeValues: { ':units': units, ':one': 1 },
      ...(move.returnOnFailure ? { ReturnValuesOnConditionCheckFailure: 'ALL_OLD' as const } : {}),
    },
  };
}

/** Owed refunds wait in one partition of the expiry index of their own: few, and swept with the holds. */
export const REFUND_LANE = 'REFUNDS';

/** Stock-vector items, one per SKU (replica 0), listed for the sweeper's reconciliation. */
export const STOCK_VECTOR_LANE = 'STOCKVIEWS';

/** Products created with stock-vector replicas, listed for the sweeper, which rewrites the replicas. */
export const VIEW_REPLICAS_LANE = 'VIEWREPLICAS';

/** A query of one lane of the expiry index, oldest first: its items due by `dueBy`, or all of them. */
export function laneQuery(tableName: string, lane: string, limit: number, dueBy?: number): QueryCommandInput {
  const { indexName, partitionKey, sortKey } = inventoryTable.holdsByExpiryIndex;
  return {
    TableName: tableName,
    IndexName: indexName,
    KeyConditionExpression: dueBy === undefined ? '#lane = :lane' : '#lane = :lane AND #due <= :dueBy',
    ExpressionAttributeNames: { '#lane': partitionKey.name, ...(dueBy === undefined ? {} : { '#due': sortKey.name }) },
    ExpressionAttributeValues: { ':lane': lane, ...(dueBy === undefined ? {} : { ':dueBy': dueBy }) },
    Limit: limit,
  };
}

export function holdLane(reservationId: string): string {
  let hash = 0;
  for (const char of reservationId) hash = (hash * 31 + char.charCodeAt(0)) >>> 0;
  return laneName(hash % inventoryTable.holdLanes);
}

export function laneName(lane: number): string {
  return `LANE#${lane.toString().padStart(2, '0')}`;
}

export function toProduct(item: Item): model.Product {
  return {
    sku: String(item.sku),
    name: String(item.name),
    priceCents: Number(item.priceCents),
    currency: String(item.currency ?? 'USD'),
    maxPerCustomer: Number(item.maxPerCustomer),
    holdSeconds: Number(item.holdSeconds),
    dropStartsAt: String(item.dropStartsAt),
    dropState: item.dropState === 'PAUSED' || item.dropState === 'CLOSED' ? item.dropState : 'OPEN',
    waitingRoom: item.waitingRoom === true,
    ...(item.revision === undefined ? {} : { revision: Number(item.revision) }),
    shards: Number(item.shards),
    viewReplicas: Number(item.viewReplicas ?? 1),
  };
}

export function toCounts(item: Item): model.ShardCounts {
  return {
    supplied: Number(item.supplied ?? 0),
    available: Number(item.available ?? 0),
    held: Number(item.held ?? 0),
    sold: Number(item.sold ?? 0),
    released: Number(item.released ?? 0),
    expired: Number(item.expired ?? 0),
  };
}

export function toReservation(item: Item): model.Reservation {
  const allocation: Record<number, number> = {};
  for (const [shard, units] of Object.entries((item.allocation ?? {}) as Record<string, unknown>)) {
    allocation[Number(shard)] = Number(units);
  }
  return {
    reservationId: String(item.reservationId),
    sku: String(item.sku),
    customerId: String(item.customerId),
    quantity: Number(item.quantity),
    unitPriceCents: Number(item.unitPriceCents),
    currency: String(item.currency),
    status: String(item.status) as model.ReservationStatus,
    expiresAt: String(item.expiresAt),
    allocation: allocation satisfies model.Allocation,
    ...(item.orderId ? { orderId: String(item.orderId) } : {}),
    ...(item.lastChargeAttemptAtMs === undefined ? {} : { lastChargeAttemptAtMs: Number(item.lastChargeAttemptAtMs) }),
  };
}

export function toOrder(item: Item): model.Order {
  return {
    orderId: String(item.orderId),
    reservationId: String(item.reservationId),
    sku: String(item.sku),
    customerId: String(item.customerId),
    quantity: Number(item.quantity),
    amountCents: Number(item.amountCents),
    currency: String(item.currency),
    chargeId: String(item.chargeId),
    status: String(item.status) as model.OrderStatus,
    placedAt: String(item.placedAt),
  };
}

export function toIdempotencyRecord(item: Item): IdempotencyRecord {
  return {
    idempotencyKey: String(item.idempotencyKey),
    reservationId: String(item.reservationId),
    sku: String(item.sku),
    customerId: String(item.customerId),
    quantity: Number(item.quantity),
  };
}

export function compactImage(image: model.ShardImage): number[] {
  return [image.version, image.supplied, image.available, image.held, image.sold, image.released, image.expired];
}

export function fromCompactImage(list: readonly unknown[], shard: number): model.ShardImage {
  const [version, supplied, available, held, sold, released, expired] = list.map(Number);
  return {
    shard,
    version: version ?? 0,
    supplied: supplied ?? 0,
    available: available ?? 0,
    held: held ?? 0,
    sold: sold ?? 0,
    released: released ?? 0,
    expired: expired ?? 0,
  };
}

/** A stock shard item (as read, or as a stream image carries it) as the image the snapshot keeps. */
export function shardImageOf(item: Record<string, unknown>): model.ShardImage {
  return toShardImage(item, Number(item.shard));
}

export function toShardImage(item: Item, shard: number): model.ShardImage {
  return { shard, version: Number(item.version ?? 0), ...toCounts(item) };
}

export function toRefund(item: Item): model.OwedRefund {
  return {
    reservationId: String(item.reservationId),
    sku: String(item.sku),
    chargeKey: String(item.chargeKey),
    status: String(item.status) as model.RefundStatus,
    owedSinceMs: Number(item.owedSinceMs),
    chargeWindowEndsAtMs: Number(item.chargeWindowEndsAtMs),
    attempts: Number(item.attempts ?? 0),
  };
}
