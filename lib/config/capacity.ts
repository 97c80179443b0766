/**
 * From a drop plan to the capacity the stack puts in place before each drop:
 * provisioned concurrency on the reservation and checkout paths (scheduled,
 * plus target tracking), stock shards per SKU, DynamoDB warm throughput and
 * API throttles.
 * Pure arithmetic, tested on its own; docs/capacity.md explains each rule.
 */
import { MAX_SHARDS } from '../../lambdas/domain/stock';
import type { Drop, DropPlan } from './drop-plan';

export const assumptions = {
  /** Mean duration of one reservation invocation at the peak, in seconds (Little's law: L = λ·W). */
  reserveSeconds: 0.1,
  /** Mean duration of one checkout: the payment provider's authorisation dominates, then one transaction. */
  checkoutSeconds: 1,
  /** A drop's units are checked out over no less than this: shoppers pay in the minutes after they hold. */
  checkoutSpreadSeconds: 60,
  /** Capacity over the declared peak: plans are estimates, and retries after 429 add load. */
  headroom: 1.5,
  /** Provisioned concurrency takes minutes to allocate: be ready this long before `startsAt`. */
  warmUpLeadMinutes: 15,
  /** How long after `startsAt` the drop keeps its capacity. */
  dropWindowMinutes: 60,
  /** Provisioned environments kept outside drop windows. */
  baselineProvisioned: 1,
  /** Target tracking keeps provisioned concurrency this busy (AWS's recommended 0.7). */
  utilizationTarget: 0.7,
  /** One stock shard takes ~1,000 WRU/s, 2 WRU per attempt; half of that leaves room for skew and releases. */
  attemptsPerShardPerSecond: 250,
  maxShards: MAX_SHARDS,
  /** A hold: 4 transactional items × 2 WRU + 1 WRU for the expiry-index entry. */
  writeUnitsPerAttempt: 9,
  /** A sold-out refusal: one strongly consistent read of the idempotency key. */
  readUnitsPerAttempt: 1,
  /** What a new on-demand table is warm at already. */
  tableWarmWrites: 4_000,
  tableWarmReads: 12_000,
  /** Account and table quotas worth a warning (defaults; raise them with Service Quotas). */
  lambdaAccountConcurrency: 1_000,
  apiAccountRps: 10_000,
  apiAccountBurst: 5_000,
  tableMaxThroughput: 40_000,
  /** API throttles when no drop is planned. */
  defaultApiRate: 1_000,
  adminRate: 10,
  adminBurst: 20,
} as const;

export interface ScheduledCapacity {
  /** When the provisioned concurrency floor changes. */
  readonly at: Date;
  readonly minProvisioned: number;
  /** Why, for the action's name and the docs. */
  readonly reason: string;
}

/** Provisioned concurrency of one path's alias. */
export interface PathCapacity {
  readonly schedule: readonly ScheduledCapacity[];
  readonly baselineProvisioned: number;
  /** Ceiling for target tracking: twice the planned peak, so demand above the plan still finds room. */
  readonly maxProvisioned: number;
  readonly utilizationTarget: number;
}

export interface Capacity {
  readonly reservation: PathCapacity;
  readonly checkout: PathCapacity;
  /** Stock shards for each planned SKU (used when the product is created without `shards`). */
  readonly shardsBySku: Readonly<Record<string, number>>;
  readonly table: { readonly warmWritesPerSecond: number; readonly warmReadsPerSecond: number };
  readonly api: {
    readonly rateLimit: number;
    readonly burstLimit: number;
    readonly reservationRateLimit: number;
    readonly adminRateLimit: number;
    readonly adminBurstLimit: number;
  };
  /** Where the plan goes past a default quota: raise it before the drop. */
  readonly warnings: readonly string[];
}

const MINUTE = 60_000;

/** Environments the reservation path needs at a drop's peak. */
export function provisionedFor(drop: Drop): number {
  return Math.max(1, Math.ceil(drop.expectedPeakRps * assumptions.reserveSeconds * assumptions.headroom));
}

/** Checkouts per second at most: every unit sold is paid once, spread over a minute, never above the attempts. */
export function checkoutRpsFor(drop: Drop): number {
  return Math.min(drop.expectedPeakRps, drop.units / assumptions.checkoutSpreadSeconds);
}

/** Environments the checkout path needs after a drop starts. */
export function checkoutProvisionedFor(drop: Drop): number {
  return Math.max(1, Math.ceil(checkoutRpsFor(drop) * assumptions.checkoutSeconds * assumptions.headroom));
}

export function shardsFor(drop: Drop): number {
  const byThroughput = Math.ceil(drop.expectedPeakRps / assumptions.attemptsPerShardPerSecond);
  return Math.max(1, Math.min(assumptions.maxShards, byThroughput, drop.units));
}

interface Window {
  readonly drop: Drop;
  readonly from: number;
  readonly to: number;
}

const windowOf = (drop: Drop): Window => {
  const startsAt = Date.parse(drop.startsAt);
  return {
    drop,
    from: startsAt - assumptions.warmUpLeadMinutes * MINUTE,
    to: startsAt + assumptions.dropWindowMinutes * MINUTE,
  };
};

/** Drops whose windows overlap add up: the floor at any instant is the sum of the drops live then. */
function floorAt(windows: readonly Window[], instant: number, perDrop: (drop: Drop) => number): number {
  const live = windows.filter((window) => window.from <= instant && instant < window.to);
  const sum = live.reduce((total, window) => total + perDrop(window.drop), 0);
  return Math.max(assumptions.baselineProvisioned, sum);
}

/** A path's floor steps (up before each window, down after it) and its target-tracking ceiling. */
function pathCapacity(windows: readonly Window[], nowMs: number, perDrop: (drop: Drop) => number): PathCapacity {
  // A window already open starts now: its floor is scheduled a minute from now, once.
  const boundaries = [...new Set(windows.flatMap((window) => [Math.max(nowMs, window.from), window.to]))].sort(
    (a, b) => a - b,
  );
  const schedule: ScheduledCapacity[] = [];
  let previous: number = assumptions.baselineProvisioned;
  for (const instant of boundaries) {
    const floor = floorAt(windows, instant, perDrop);
    if (floor === previous) continue;
    const starting = windows
      .filter((window) => Math.max(nowMs, window.from) === instant)
      .map((window) => window.drop.sku);
    schedule.push({
      at: new Date(instant === nowMs ? nowMs + MINUTE : instant),
      minProvisioned: floor,
      reason: starting.length > 0 ? `before ${starting.join('+')}` : 'after the drop',
    });
    previous = floor;
  }
  const peakProvisioned = Math.max(assumptions.baselineProvisioned, ...schedule.map((step) => step.minProvisioned));
  return {
    schedule,
    baselineProvisioned: assumptions.baselineProvisioned,
    maxProvisioned: Math.max(assumptions.baselineProvisioned + 1, 2 * peakProvisioned),
    utilizationTarget: assumptions.utilizationTarget,
  };
}

function peakOf(windows: readonly Window[], value: (drop: Drop) => number): number {
  return Math.max(
    0,
    ...windows.map((window) =>
      windows
        .filter((other) => other.from <= window.from && window.from < other.to)
        .reduce((total, other) => total + value(other.drop), 0),
    ),
  );
}

/** `now` drops every drop whose window has already closed: a schedule in the past cannot be created. */
export function planCapacity(plan: DropPlan, now: Date = new Date()): Capacity {
  const warnings: string[] = [];
  const windows = plan.drops.map(windowOf).filter((window) => {
    if (window.to > now.getTime()) return true;
    warnings.push(`drop ${window.drop.sku} at ${window.drop.startsAt} is over; it gets no capacity`);
    return false;
  });

  const reservation = pathCapacity(windows, now.getTime(), provisionedFor);
  const checkout = pathCapacity(windows, now.getTime(), checkoutProvisionedFor);
  const maxProvisioned = reservation.maxProvisioned + checkout.maxProvisioned;
  if (maxProvisioned > assumptions.lambdaAccountConcurrency - 100) {
    warnings.push(
      `up to ${maxProvisioned} provisioned environments exceed the default account concurrency (${assumptions.lambdaAccountConcurrency}): request a higher Lambda concurrency quota`,
    );
  }

  const shardsBySku: Record<string, number> = {};
  for (const window of windows) {
    shardsBySku[window.drop.sku] = Math.max(shardsBySku[window.drop.sku] ?? 1, shardsFor(window.drop));
  }

  const peakRps = peakOf(windows, (drop) => drop.expectedPeakRps);
  const warmWritesPerSecond = Math.max(
    assumptions.tableWarmWrites,
    Math.ceil(peakRps * assumptions.writeUnitsPerAttempt * assumptions.headroom),
  );
  const warmReadsPerSecond = Math.max(
    assumptions.tableWarmReads,
    Math.ceil(peakRps * assumptions.readUnitsPerAttempt * assumptions.headroom),
  );
  if (Math.max(warmWritesPerSecond, warmReadsPerSecond) > assumptions.tableMaxThroughput) {
    warnings.push(
      `the table must take ${warmWritesPerSecond} WRU/s; the default on-demand table maximum is ${assumptions.tableMaxThroughput}: raise the table-level quota`,
    );
  }

  const reservationRateLimit = Math.ceil(peakRps * assumptions.headroom);
  const rateLimit = Math.max(assumptions.defaultApiRate, reservationRateLimit + assumptions.defaultApiRate);
  if (rateLimit > assumptions.apiAccountRps) {
    warnings.push(
      `an API rate of ${rateLimit} rps exceeds the default account throttle (${assumptions.apiAccountRps}): request a higher API Gateway quota`,
    );
  }

  return {
    reservation,
    checkout,
    shardsBySku,
    table: { warmWritesPerSecond, warmReadsPerSecond },
    api: {
      rateLimit,
      burstLimit: Math.min(assumptions.apiAccountBurst, rateLimit),
      reservationRateLimit: Math.max(reservationRateLimit, assumptions.defaultApiRate / 2),
      adminRateLimit: assumptions.adminRate,
      adminBurstLimit: assumptions.adminBurst,
    },
    warnings,
  };
}
