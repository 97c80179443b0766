/**
 * The inventory table, described once. The CDK stack, the local runtime and
 * the adapters all build from this description, so they cannot drift apart.
 *
 * One table, one partition key, item kinds told apart by key prefix (see
 * `keyPrefixes`). Each stock shard is its own partition key, so a hot SKU's
 * writes spread over partitions instead of queueing on one.
 */
export const inventoryTable = {
  partitionKey: { name: 'pk', type: 'S' },
  /** A backstop for clean-up of spent idempotency records; never the expiry mechanism. */
  timeToLiveAttribute: 'ttl',
  stream: 'NEW_AND_OLD_IMAGES',
  /**
   * Items with something due at a time: HELD reservations (lanes `LANE#00`…),
   * owed refunds (lane `REFUNDS`) and stock vectors (lane `STOCKVIEWS`, listed
   * for the sweeper's reconciliation). Keys only; each item is read by its key.
   */
  holdsByExpiryIndex: {
    indexName: 'holdsByExpiry',
    partitionKey: { name: 'holdLane', type: 'S' },
    sortKey: { name: 'holdExpiresAt', type: 'N' },
    projection: 'KEYS_ONLY',
  },
  /**
   * HELD reservations are spread over this many index partitions so a spike of
   * new holds never piles onto one index partition (index throttling would
   * throttle the table's writes too).
   */
  holdLanes: 16,
} as const;

/**
 * Every partition key prefix the table holds, and what the items behind it
 * are. Grants are written in these prefixes (`dynamodb:LeadingKeys`), so a new
 * item kind starts here.
 */
export const keyPrefixes = {
  /** `PRODUCT#<sku>`: product settings. */
  product: 'PRODUCT#',
  /** `STOCK#<sku>#<shard>`: one stock shard and its ledger counters. */
  stock: 'STOCK#',
  /** `RESERVATION#<id>`: a hold and its fate. */
  reservation: 'RESERVATION#',
  /** `IDEMPOTENCY#<customerId>#<key>`: which reservation a customer's Idempotency-Key produced. */
  idempotency: 'IDEMPOTENCY#',
  /** `LIMIT#<sku>#<customerId>`: units a customer holds or bought. */
  limit: 'LIMIT#',
  /** `ORDER#<orderId>`: a confirmed order, PLACED then FULFILLED. */
  order: 'ORDER#',
  /** `REFUND#<reservationId>`: a refund owed for a hold that ended after a charge attempt. */
  refund: 'REFUND#',
  /** `RESTOCK#<sku>#<key>`: which restock an Idempotency-Key applied. */
  restock: 'RESTOCK#',
  /** `PRODUCTPUT#<sku>#<key>`: which product create or update an Idempotency-Key applied. */
  productPut: 'PRODUCTPUT#',
  /** `SNAPSHOT#<sku>#<group>`: one group of shards of the relay's stock snapshot. */
  snapshot: 'SNAPSHOT#',
  /** `STOCKVIEW#<sku>`: each shard's `available`, the small item every stock view reads. */
  stockVector: 'STOCKVIEW#',
  /** `CHANNEL#<channel>#<sku>`: a sales channel's view of a SKU. */
  channel: 'CHANNEL#',
  /** `CHARGE#<chargeId>`: the simulated payment provider's ledger. */
  charge: 'CHARGE#',
  /** `DISPATCH#<orderId>`: the simulated warehouse's record of a dispatch. */
  dispatch: 'DISPATCH#',
  /**
   * `FEEDBACK#<sku>#ANSWER#<customerId>#<outcome>`: a shopper's answer to the page's poll, one per outcome;
   * `FEEDBACK#<sku>#COUNTS#<n>`: the SKU's counts, spread over `FEEDBACK_COUNT_SHARDS` items.
   */
  feedback: 'FEEDBACK#',
  /**
   * `LOAD#<sku>#<n>`: reservation attempts the origin shed for load (answered 429 or 503), counted per SKU
   * over `LOAD_COUNT_SHARDS` items, for the waiting room's controller.
   */
  load: 'LOAD#',
} as const;

export type KeyPrefix = (typeof keyPrefixes)[keyof typeof keyPrefixes];

/**
 * Items kept in the background, never by a request: the relay's snapshot
 * groups and stock vector, the sweeper's rebuilds of them, and the channel
 * appliers' views.
 */
export const BACKGROUND_KEY_PREFIXES: readonly KeyPrefix[] = [
  keyPrefixes.snapshot,
  keyPrefixes.stockVector,
  keyPrefixes.channel,
];

/**
 * Upper bound on a SKU's shards: 10,000, the shards that carry 100,000 holds a
 * second at the conflict target (`lib/config/capacity.ts`). Nothing writes
 * every shard in one transaction: creation and restock run in transactions of
 * 99 shards, holds take from at most 97, and the relay keeps the snapshot in
 * groups of 20. What grows with the shards is the stock vector every
 * environment reads: ~30 KB at 10,000 (four read units, eventually
 * consistent), well within an item's 400 KB, and kept on as many replicas as
 * the plan's environments need (`contract/stock-view.ts`).
 */
export const MAX_SHARDS = 10_000;

/**
 * The origin's shed counts are spread over this many items: every environment that sheds adds to one it
 * picked at random, so a spike of refusals never queues on one partition.
 */
export const LOAD_COUNT_SHARDS = 8;

/** Feedback counts are spread over this many items, so a wave of answers never queues on one partition. */
export const FEEDBACK_COUNT_SHARDS = 8;
