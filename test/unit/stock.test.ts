import { allocationUnits, defaultShardCount, planAllocation, splitEvenly } from '../../lambdas/domain/stock';

describe('splitEvenly', () => {
  test('splits units over shards, larger parts first, losing none', () => {
    expect(splitEvenly(10, 4)).toEqual([3, 3, 2, 2]);
    expect(splitEvenly(3, 5)).toEqual([1, 1, 1, 0, 0]);
    expect(splitEvenly(0, 2)).toEqual([0, 0]);
  });
});

describe('defaultShardCount', () => {
  test('gives small stocks one shard and caps large ones at eight', () => {
    expect(defaultShardCount(1)).toBe(1);
    expect(defaultShardCount(35)).toBe(3);
    expect(defaultShardCount(100_000)).toBe(8);
  });
});

describe('planAllocation', () => {
  test('takes the whole quantity from one shard that can serve it', () => {
    expect(planAllocation([0, 5, 1], 2, () => 0)).toEqual({ 1: 2 });
  });

  test('spreads single-shard picks uniformly over the shards that can serve', () => {
    const picks = [0, 0.34, 0.67, 0.99].map((r) => Object.keys(planAllocation([4, 4, 4], 1, () => r) ?? {})[0]);
    expect(picks).toEqual(['0', '1', '2', '2']);
  });

  test('finds the last units across shards when no single shard holds enough', () => {
    const plan = planAllocation([1, 0, 2, 1], 4);
    expect(plan).toEqual({ 2: 2, 0: 1, 3: 1 });
    expect(allocationUnits(plan ?? {})).toBe(4);
  });

  test('returns nothing when the believed total is short', () => {
    expect(planAllocation([1, 0, 1], 3)).toBeUndefined();
    expect(planAllocation([0, 0], 1)).toBeUndefined();
  });
});

test('a hold takes units from at most 97 shards, so it fits one transaction', () => {
  const ones = Array.from({ length: 120 }, () => 1);
  expect(Object.keys(planAllocation(ones, 97) ?? {})).toHaveLength(97);
  expect(planAllocation(ones, 98)).toBeUndefined();
});
