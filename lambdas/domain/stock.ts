/**
 * Pure arithmetic of sharded stock: how many shards a product gets, how units
 * are split over them, and which shards a reservation takes its units from.
 * The cap on a SKU's shards is the table layout's (`MAX_SHARDS` in
 * `contract/inventory-table.ts`), enforced where a shard count comes in.
 */
import type { Allocation } from './model';

/**
 * Default shard count when the operator names none. A shard item absorbs
 * about 1,000 write units/s and a reservation costs 2 units on it, so a shard
 * carries ~500 reservations/s; eight shards cover a 4,000/s spike. Small
 * stocks get fewer shards so that no shard starts nearly empty.
 */
export function defaultShardCount(stock: number): number {
  return Math.max(1, Math.min(8, Math.floor(stock / 10)));
}

/**
 * Units are whole and positive: a hold or restock of −1 would create a unit
 * out of nothing with every ledger sum still balanced. The request schemas
 * already refuse it; the domain does not rely on them.
 */
export function isUnitCount(quantity: number): boolean {
  return Number.isSafeInteger(quantity) && quantity >= 1;
}

/** Splits `units` over `parts` as evenly as integers allow, larger parts first. */
export function splitEvenly(units: number, parts: number): number[] {
  const base = Math.floor(units / parts);
  const remainder = units % parts;
  return Array.from({ length: parts }, (_, index) => base + (index < remainder ? 1 : 0));
}

/** Shards one hold may take units from: TransactWriteItems' 100 actions less the limit, reservation and key. */
export const MAX_SHARDS_PER_HOLD = 97;

export type Random = () => number;

/**
 * Chooses where `quantity` units come from, given the believed availability of
 * each shard. Prefers one shard picked uniformly among those that can serve the
 * whole quantity (spreading writes over partitions); when none can but the sum
 * can, takes from the fullest shards so the last units still sell. Returns
 * undefined when the believed total is short.
 */
export function planAllocation(
  available: readonly number[],
  quantity: number,
  random: Random = Math.random,
): Allocation | undefined {
  const whole = available.flatMap((units, shard) => (units >= quantity ? [shard] : []));
  if (whole.length > 0) {
    const shard = whole[Math.floor(random() * whole.length)] as number;
    return { [shard]: quantity };
  }
  const total = available.reduce((sum, units) => sum + Math.max(0, units), 0);
  if (total < quantity) return undefined;

  const fullestFirst = available
    .map((units, shard) => ({ shard, units }))
    .filter(({ units }) => units > 0)
    .sort((a, b) => b.units - a.units);
  const allocation: Record<number, number> = {};
  let missing = quantity;
  // A hold is one transaction: its shards plus the limit, the reservation and the key must fit in 100 actions.
  for (const { shard, units } of fullestFirst.slice(0, MAX_SHARDS_PER_HOLD)) {
    const take = Math.min(units, missing);
    allocation[shard] = take;
    missing -= take;
    if (missing === 0) break;
  }
  return missing === 0 ? allocation : undefined;
}

export function allocationUnits(allocation: Allocation): number {
  return Object.values(allocation).reduce((sum, units) => sum + units, 0);
}

export function allocationEntries(allocation: Allocation): Array<[shard: number, units: number]> {
  return Object.entries(allocation).map(([shard, units]) => [Number(shard), units]);
}
