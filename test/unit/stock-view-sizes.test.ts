/**
 * The stock view's items as the runtime writes them and the capacity model
 * sizes them: what a stock vector weighs, what reading it costs, and which
 * replica an environment reads.
 */
import {
  eventuallyConsistentReadUnits,
  MAX_ITEM_BYTES,
  PRODUCT_REPLICAS,
  replicaFor,
  stockVectorBytes,
  writeUnits,
} from '../../contract/stock-view';

describe('the stock vector', () => {
  it('weighs about 3 bytes a shard while no shard holds more than 99 units: ~30 KB at 10,000 shards', () => {
    expect(stockVectorBytes(10_000, 5)).toBeGreaterThan(29_000);
    expect(stockVectorBytes(10_000, 5)).toBeLessThan(31_000);
    expect(stockVectorBytes(10_000, 99)).toBe(stockVectorBytes(10_000, 5));
    expect(stockVectorBytes(10_000, 100)).toBeGreaterThan(stockVectorBytes(10_000, 99));
  });

  it('costs half a read unit per 4 KB, eventually consistent, and a write unit per KB', () => {
    expect(eventuallyConsistentReadUnits(stockVectorBytes(1000, 5))).toBe(0.5);
    expect(eventuallyConsistentReadUnits(stockVectorBytes(10_000, 5))).toBe(4);
    expect(writeUnits(stockVectorBytes(10_000, 5))).toBe(30);
  });

  it('fits one item with room to spare at the most shards a SKU may have', () => {
    expect(stockVectorBytes(10_000, 999_999)).toBeLessThan(MAX_ITEM_BYTES / 4);
  });
});

describe('replicas', () => {
  it('are read one per seed, every replica by some seed', () => {
    const read = new Set(Array.from({ length: 50 }, (_, seed) => replicaFor(seed, 7)));
    expect([...read].sort((a, b) => a - b)).toEqual([0, 1, 2, 3, 4, 5, 6]);
    expect(replicaFor(12_345, 1)).toBe(0);
  });

  it('of a product fit in the transaction that updates it with its Idempotency-Key record', () => {
    expect(1 + PRODUCT_REPLICAS + 1).toBeLessThanOrEqual(100);
  });
});
