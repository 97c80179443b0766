/**
 * The inventory table, described once. The CDK stack and the local runtime
 * both build from this description, so the two cannot drift apart.
 *
 * One table, one partition key, item kinds told apart by key prefix:
 *   PRODUCT#<sku>              product settings
 *   STOCK#<sku>#<shard>        one stock shard and its ledger counters
 *   RESERVATION#<id>           a hold and its fate
 *   IDEMPOTENCY#<key>          which reservation an Idempotency-Key produced
 *   LIMIT#<sku>#<customerId>   units a customer holds or bought
 * Each shard is its own partition key, so a hot SKU's writes spread over
 * partitions instead of queueing on one.
 */
export const inventoryTable = {
  partitionKey: { name: 'pk', type: 'S' },
  /** A backstop for clean-up of spent idempotency records; never the expiry mechanism. */
  timeToLiveAttribute: 'ttl',
  stream: 'NEW_AND_OLD_IMAGES',
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
