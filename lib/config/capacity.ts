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
  /**
   * What a new on-demand table is warm at already: 12,000 read and 4,000 write units/s
   * ("Understanding DynamoDB warm throughput in different scenarios",
   * https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/warm-throughput-scenarios.html).
   */
  tableWarmWrites: 4_000,
  tableWarmReads: 12_000,
  /**
   * A window that opens this soon after synth is treated as open at deploy: a deploy takes
   * minutes, and a scheduled action whose time has passed when it is created never runs.
   */
  deployMarginMinutes: 30,
  /** Account quotas worth a warning (defaults; raise them with Service Quotas). */
  lambdaAccountConcurrency: 1_000,
  apiAccountRps: 10_000,
  apiAccountBurst: 5_000,
  /** API throttles when no drop is planned. */
  defaultApiRate: 1_000,
  adminRate: 10,
  adminBurst: 20,
} as const;

/**
 * What the table may be pre-warmed to, and what it already was (context; see settings.ts).
 * An on-demand table's throughput is bounded by the table-level read and write quota, 40,000
 * units each by default ("DynamoDB maximum throughput for on-demand tables",
 * https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/on-demand-capacity-mode-max-throughput.html);
 * a table can be pre-warmed up to that quota and no further ("Understanding DynamoDB warm throughput",
 * https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/warm-throughput.html).
 */
export interface CapacityLimits {
  /** The table-level write quota of the account and region. @default 40,000 */
  readonly tableMaxWriteUnits: number;
  /** The table-level read quota of the account and region. @default 40,000 */
  readonly tableMaxReadUnits: number;
  /** Warm write units the table already has (a value asked before): never asked lower. @default 0 */
  readonly warmWritesFloor: number;
  /** Warm read units the table already has. @default 0 */
  readonly warmReadsFloor: number;
}

export const defaultCapacityLimits: CapacityLimits = {
  tableMaxWriteUnits: 40_000,
  tableMaxReadUnits: 40_000,
  warmWritesFloor: 0,
  warmReadsFloor: 0,
};

/** A configuration the table cannot take: synth stops rather than let a deploy fail half-way. */
export class CapacityError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CapacityError';
  }
}

export interface ScheduledCapacity {
  /** When the provisioned concurrency floor changes. */
  readonly at: Date;
  readonly minProvisioned: number;
  /** Why, for the action's name and the docs. */
  readonly reason: string;
}

/** Provisioned concurrency of one path's alias. */
export interface PathCapacity {
  /**
   * The floor in force when the stack is deployed: the sum of the windows open then (or opening
   * within `deployMarginMinutes`), set as the scalable target's minimum capacity, never as a
   * scheduled action (one whose time has passed never runs).
   */
  readonly minAtDeploy: number;
  /** Steps strictly after the deploy margin only. */
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

/**
 * A path's floor at deploy, its steps after that (up before each window, down after it) and its
 * target-tracking ceiling. Registering a scalable target moves current capacity into its
 * [min, max] range at once ("RegisterScalableTarget", Application Auto Scaling API Reference,
 * https://docs.aws.amazon.com/autoscaling/application/APIReference/API_RegisterScalableTarget.html),
 * so a window already open gets its environments from the deploy itself.
 */
function pathCapacity(windows: readonly Window[], nowMs: number, perDrop: (drop: Drop) => number): PathCapacity {
  const deployedBy = nowMs + assumptions.deployMarginMinutes * MINUTE;
  const effective = windows.map((window) => (window.from <= deployedBy ? { ...window, from: nowMs } : window));
  const minAtDeploy = floorAt(effective, nowMs, perDrop);
  const boundaries = [...new Set(effective.flatMap((window) => [window.from, window.to]))]
    .filter((instant) => instant > nowMs)
    .sort((a, b) => a - b);
  const schedule: ScheduledCapacity[] = [];
  let previous = minAtDeploy;
  for (const instant of boundaries) {
    const floor = floorAt(effective, instant, perDrop);
    if (floor === previous) continue;
    const starting = effective.filter((window) => window.from === instant).map((window) => window.drop.sku);
    schedule.push({
      at: new Date(instant),
      minProvisioned: floor,
      reason: starting.length > 0 ? `before ${starting.join('+')}` : 'after the drop',
    });
    previous = floor;
  }
  const peakProvisioned = Math.max(minAtDeploy, ...schedule.map((step) => step.minProvisioned));
  return {
    minAtDeploy,
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

/**
 * Warm throughput only ever goes up: once raised it cannot be lowered, and an update asking less
 * fails ("Understanding DynamoDB warm throughput",
 * https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/warm-throughput.html). So it is
 * sized from every drop of the plan, past ones included, never from `now`: with the plan's history
 * kept, the value a stage asks can only grow. It is capped at the table's on-demand maximum (the most
 * a table can be pre-warmed to) and never below the floor the stage declares.
 */
export function warmThroughputFor(
  plan: DropPlan,
  limits: CapacityLimits = defaultCapacityLimits,
): { readonly writes: number; readonly reads: number; readonly warnings: readonly string[] } {
  const floors = [
    ['warmWritesFloor', limits.warmWritesFloor, 'tableMaxWriteUnits', limits.tableMaxWriteUnits],
    ['warmReadsFloor', limits.warmReadsFloor, 'tableMaxReadUnits', limits.tableMaxReadUnits],
  ] as const;
  for (const [floorKey, floor, maxKey, max] of floors) {
    if (floor > max) {
      throw new CapacityError(
        `${floorKey} ${floor} is above ${maxKey} ${max}: a table cannot be pre-warmed past its on-demand maximum; raise the table-level quota and ${maxKey} first`,
      );
    }
  }
  const peakRps = peakOf(plan.drops.map(windowOf), (drop) => drop.expectedPeakRps);
  const wantWrites = Math.ceil(peakRps * assumptions.writeUnitsPerAttempt * assumptions.headroom);
  const wantReads = Math.ceil(peakRps * assumptions.readUnitsPerAttempt * assumptions.headroom);
  const warnings: string[] = [];
  for (const [unit, want, max, key] of [
    ['WRU', wantWrites, limits.tableMaxWriteUnits, 'tableMaxWriteUnits'],
    ['RRU', wantReads, limits.tableMaxReadUnits, 'tableMaxReadUnits'],
  ] as const) {
    if (want > max) {
      warnings.push(
        `the plan's peak asks ${want} ${unit}/s; the table is pre-warmed to its on-demand maximum ${max}: raise the table-level quota and -c ${key}`,
      );
    }
  }
  return {
    writes: Math.max(
      limits.warmWritesFloor,
      Math.min(limits.tableMaxWriteUnits, Math.max(assumptions.tableWarmWrites, wantWrites)),
    ),
    reads: Math.max(
      limits.warmReadsFloor,
      Math.min(limits.tableMaxReadUnits, Math.max(assumptions.tableWarmReads, wantReads)),
    ),
    warnings,
  };
}

/**
 * Provisioned concurrency, shards and throttles come from the drops not yet over at `now`; warm
 * throughput from the whole plan (see `warmThroughputFor`).
 */
export function planCapacity(
  plan: DropPlan,
  now: Date = new Date(),
  limits: CapacityLimits = defaultCapacityLimits,
): Capacity {
  const warnings: string[] = [];
  const windows = plan.drops.map(windowOf).filter((window) => {
    if (window.to > now.getTime()) return true;
    warnings.push(
      `drop ${window.drop.sku} at ${window.drop.startsAt} is over; it gets no provisioned concurrency (its peak still counts for warm throughput)`,
    );
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

  const warm = warmThroughputFor(plan, limits);
  warnings.push(...warm.warnings);
  const warmWritesPerSecond = warm.writes;
  const warmReadsPerSecond = warm.reads;

  const peakRps = peakOf(windows, (drop) => drop.expectedPeakRps);
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
