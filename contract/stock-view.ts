/**
 * The items every execution environment reads to refresh its stock view: a
 * product's settings and its stock vector (each shard's `available`). At a
 * drop's peak thousands of environments read them every view lifetime, and
 * one item lives on one partition, which serves at most 3,000 read units a
 * second ("Understanding DynamoDB warm throughput in different scenarios":
 * "each individual partition is limited to 1000 write units per second and
 * 3000 read units per second",
 * https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/warm-throughput-scenarios.html).
 * So both are kept as replicas, and each environment reads the one its seed
 * picks: the runtime reads and writes them as sized here, and the capacity
 * model checks a plan's load on each replica against that limit.
 */

/**
 * Copies of each product's settings (`PRODUCT#<sku>#<replica>`), written in
 * the transaction that creates or updates the product; the hot path reads one
 * of them eventually consistent, half a read unit. Ten carry 60,000
 * environments' refreshes a second within one partition each.
 */
export const PRODUCT_REPLICAS = 10;

/**
 * The most stock-vector replicas a SKU may have. A product's replica count is
 * set at its creation (from the drop plan); every replica is rewritten when
 * the vector changes.
 */
export const MAX_VIEW_REPLICAS = 64;

/**
 * The largest item DynamoDB stores, 400 KB (the "Items" section of
 * "Constraints in Amazon DynamoDB",
 * https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/Constraints.html;
 * aws-samples/aws-dynamodb-large-object-patterns: "the current DynamoDB max
 * item size of 400KB"). A stock vector must fit in one.
 */
export const MAX_ITEM_BYTES = 400 * 1024;

/** What the stock-vector item holds besides the list: its key, kind, SKU, version and index keys. */
const VECTOR_ITEM_OVERHEAD_BYTES = 200;

/**
 * The stock-vector item's size when no shard holds more than `unitsPerShard`.
 * A number takes one byte per two significant digits plus one, and a list
 * three bytes plus one per element ("DynamoDB item sizes and formats",
 * https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/CapacityUnitCalculations.html).
 */
export function stockVectorBytes(shards: number, unitsPerShard: number): number {
  const digits = String(Math.max(0, Math.ceil(unitsPerShard))).length;
  const perShard = 1 + Math.ceil(digits / 2) + 1;
  return VECTOR_ITEM_OVERHEAD_BYTES + 'available'.length + 3 + shards * perShard;
}

/**
 * Read units of one eventually consistent read of an item of `bytes`: half a
 * unit per 4 KB, rounded up to the next 4 KB ("DynamoDB read and write
 * operations", Capacity unit consumption for read operations,
 * https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/read-write-operations.html).
 */
export function eventuallyConsistentReadUnits(bytes: number): number {
  return 0.5 * Math.max(1, Math.ceil(bytes / 4096));
}

/** Write units of one write of an item of `bytes`: one per 1 KB, rounded up (same page, write operations). */
export function writeUnits(bytes: number): number {
  return Math.max(1, Math.ceil(bytes / 1024));
}

/**
 * Shards per snapshot group item (`SNAPSHOT#<sku>#<group>`), into which the
 * relay folds the shard images each stream batch carries. A fold is one
 * UpdateItem whose condition is at most 4 KB and 300 operators ("Constraints
 * in Amazon DynamoDB", Expression parameters,
 * https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/Constraints.html);
 * each shard adds ~40 bytes and 5 operators. Twenty keep a group near 1 KB
 * (one write unit), and, at a drop's peak, spread the relay's batches over
 * enough items that each takes a few of them a second
 * (`lib/config/capacity.ts`, the snapshot group's load).
 */
export const SHARDS_PER_SNAPSHOT_GROUP = 20;

/** A snapshot group item's size: a compact image of ~40 bytes per shard, and its key, kind, SKU and group. */
export function snapshotGroupBytes(shards: number = SHARDS_PER_SNAPSHOT_GROUP): number {
  return 100 + shards * 40;
}

/** The replica an environment whose seed is `seed` reads, of `replicas`. */
export function replicaFor(seed: number, replicas: number): number {
  return Math.abs(Math.trunc(seed)) % Math.max(1, Math.trunc(replicas));
}
