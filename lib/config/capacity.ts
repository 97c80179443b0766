/**
 * From a drop plan to the capacity the stack puts in place before each drop:
 * provisioned concurrency on the reservation and checkout paths (scheduled,
 * plus target tracking), stock shards per SKU, DynamoDB warm throughput and
 * API throttles.
 * Pure arithmetic, tested on its own; docs/capacity.md explains each rule.
 */

import { DEFAULT_ADMISSION_UNITS_PER_SECOND } from '../../contract/drops';
import { MAX_SHARDS } from '../../contract/inventory-table';
import { backoffCeilingMs, contentionRetries } from '../../contract/retries';
import {
  eventuallyConsistentReadUnits,
  MAX_ITEM_BYTES,
  MAX_VIEW_REPLICAS,
  PRODUCT_REPLICAS,
  SHARDS_PER_SNAPSHOT_GROUP,
  snapshotGroupBytes,
  stockVectorBytes,
  writeUnits,
} from '../../contract/stock-view';
import { eventSourceMappings, streamConsumer } from '../../contract/topology';
import type { Drop, DropPlan } from './drop-plan';

export const assumptions = {
  /**
   * Mean duration of one reservation invocation whose first transaction goes through, in seconds
   * (Little's law: L = λ·W). Contention retries add to it: see `invocationSecondsAt`.
   */
  reserveSeconds: 0.1,
  /** How long one hold's `TransactWriteItems` keeps its shard item busy: tens of milliseconds. */
  transactionSeconds: 0.025,
  /**
   * Target of concurrent transactions per shard item (arrival rate × transaction latency). DynamoDB
   * cancels a `TransactWriteItems` that meets another one in flight on the same item
   * ("TransactWriteItems", DynamoDB API Reference, TransactionCanceledException:
   * https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_TransactWriteItems.html).
   * For random arrivals, in-flight transactions on a shard are Poisson with this mean, so an attempt
   * meets one with probability 1 − e^−0.25 ≈ 22 %.
   */
  targetInFlightPerShard: 0.25,
  /** Tries per reservation before BUSY, and their backoff: what the domain spends (`contract/retries.ts`). */
  maxAttempts: contentionRetries.maxAttempts,
  backoffBaseMs: contentionRetries.backoffBaseMs,
  backoffCapMs: contentionRetries.backoffCapMs,
  /** Mean duration of one checkout: the payment provider's authorisation dominates, then one transaction. */
  checkoutSeconds: 1,
  /** A drop's units are checked out over no less than this: shoppers pay in the minutes after they hold. */
  checkoutSpreadSeconds: 60,
  /** Capacity over the declared peak: plans are estimates. */
  headroom: 1.5,
  /** Provisioned concurrency takes minutes to allocate: be ready this long before `startsAt`. */
  warmUpLeadMinutes: 15,
  /** How long after `startsAt` the drop keeps its capacity. */
  dropWindowMinutes: 60,
  /** How long a drop's peak lasts, for the cost estimate only. */
  spikeSeconds: 60,
  /** Provisioned environments kept outside drop windows. */
  baselineProvisioned: 1,
  /** Target tracking keeps provisioned concurrency this busy (AWS's recommended 0.7). */
  utilizationTarget: 0.7,
  /**
   * The most shards a SKU may have (`MAX_SHARDS` of the table layout). Read, not copied: when it grows,
   * the model sizes to the new limit.
   */
  maxShards: MAX_SHARDS,
  /**
   * One partition serves at most 1,000 write and 3,000 read units per second ("Understanding DynamoDB
   * warm throughput in different scenarios",
   * https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/warm-throughput-scenarios.html).
   * One shard item lives on one partition, so it takes at most 1,000 / 2 = 500 attempts per second.
   */
  partitionWriteUnits: 1_000,
  partitionReadUnits: 3_000,
  /** A transactional write of an item under 1 KB: 2 write units. */
  shardItemWriteUnits: 2,
  /** A hold: 4 transactional items × 2 WRU + 1 WRU for the expiry-index entry. */
  writeUnitsPerAttempt: 9,
  /** A sold-out refusal: one strongly consistent read of the idempotency key. */
  readUnitsPerAttempt: 1,
  /**
   * How long an environment trusts its stock view (`STOCK_VIEW_TTL_MS`, 1 s by default): each refreshes
   * a SKU's product replica and stock-vector replica at most once per this.
   */
  stockViewSeconds: 1,
  /**
   * Environments that read the stock view at a drop's peak: the reservation path's target-tracking
   * ceiling, twice its planned floor (`maxProvisioned`).
   */
  viewReadersPerEnvironment: 2,
  /** A product replica is well under 4 KB: half a read unit, eventually consistent. */
  productReadUnits: 0.5,
  /** How often the sweeper publishes a replicated SKU: once a second. */
  replicatedPublishesPerSecond: 1,
  /**
   * The stream relay's batch (`streamConsumer.batchSize`), and how often a stream shard with records
   * invokes it: the mapping has no batching window, and Lambda polls each shard "at a base rate of 4 times
   * per second" and invokes "as soon as records are available" ("Polling and batching streams",
   * https://docs.aws.amazon.com/lambda/latest/dg/with-ddb.html). Stream shards are about one per partition.
   */
  relayBatchSize: streamConsumer.batchSize,
  relayPollsPerSecond: 4,
  /**
   * Messages a second one SNS FIFO message group takes (about 300: docs/events.md; "High throughput FIFO
   * topics in Amazon SNS", https://docs.aws.amazon.com/sns/latest/dg/fifo-high-throughput.html, points to the
   * service quotas). A SKU's snapshots are one message group.
   */
  messagesPerGroup: 300,
  /**
   * Until split-for-heat isolates hot items (minutes), a SKU's shard keys hash onto the table's
   * partitions at random: the plan keeps the busiest partition within its write units with this
   * probability.
   */
  partitionConfidence: 0.99,
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
  /**
   * Lambda keeps 100 of the account's concurrency unreserved: provisioned concurrency can be allocated
   * up to the unreserved concurrency minus 100 ("Configuring reserved concurrency", AWS Lambda
   * Developer Guide, https://docs.aws.amazon.com/lambda/latest/dg/configuration-concurrency.html).
   */
  unreservedMinimum: 100,
  /** Requests per second to the API's other routes during a drop, and how long each holds an environment. */
  defaultApiRate: 1_000,
  otherRouteSeconds: 0.05,
  /** The memory of every function (DroplineFunction's default), for GB-seconds. */
  functionMemoryGb: 1,
  adminRate: 10,
  adminBurst: 20,
  /**
   * Units per second the waiting room's admission controller admits towards (`ADMISSION_CAPACITY_UPS`):
   * the stack does not set it, so the controller runs on the contract's default.
   * A drop whose peak asks more than the stock path absorbs at this rate is planned with its room on.
   */
  admissionUnitsPerSecond: DEFAULT_ADMISSION_UNITS_PER_SECOND,
} as const;

/**
 * What the account and the table allow (context; see settings.ts), and what the table already was.
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
  /**
   * Lambda "Concurrent executions" of the account in the region: 1,000 by default, and new accounts
   * start lower ("Lambda quotas", https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html).
   * @default 1,000
   */
  readonly accountConcurrency: number;
  /**
   * API Gateway's throttle per account and region, shared by every API, stage and method of the
   * account: 10,000 requests per second by default (2,500 in some regions) ("Amazon API Gateway
   * quotas", https://docs.aws.amazon.com/apigateway/latest/developerguide/limits.html).
   * @default 10,000
   */
  readonly apiAccountRps: number;
  /** The account's burst, set by AWS from the rate (5,000 at the default rate). @default 5,000 */
  readonly apiAccountBurst: number;
}

export const defaultCapacityLimits: CapacityLimits = {
  tableMaxWriteUnits: 40_000,
  tableMaxReadUnits: 40_000,
  warmWritesFloor: 0,
  warmReadsFloor: 0,
  accountConcurrency: 1_000,
  apiAccountRps: 10_000,
  apiAccountBurst: 5_000,
};

/** A configuration the account or the table cannot take: synth stops rather than let a deploy fail half-way. */
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

/** What one drop asks of the stock path: shards, contention, environments and writes. */
export interface DropDemand {
  readonly drop: Drop;
  /** Shards that keep `targetInFlightPerShard`: ceil(peak × transaction latency / target), never above the units. */
  readonly shardsWanted: number;
  /** What the SKU gets: `shardsWanted`, at most `maxShards`. */
  readonly shards: number;
  /** Transactions in flight on one shard at the peak, with the shards given (first tries only). */
  readonly inFlightPerShard: number;
  /** Share of tries that meet another transaction on their shard and are cancelled: 1 − e^−inFlight. */
  readonly conflictShare: number;
  /** Expected tries per reservation, retries included (at most `maxAttempts`). */
  readonly attemptsPerRequest: number;
  /** Share of reservations that run out of tries and answer BUSY (the shopper comes back once). */
  readonly busyShare: number;
  /** Mean time one reservation holds its environment, retries and backoff included. */
  readonly invocationSeconds: number;
  /** Provisioned environments for the reservation path at this drop's peak. */
  readonly reservationEnvironments: number;
  readonly checkoutRps: number;
  readonly checkoutEnvironments: number;
  /** Time to sell out at the peak: units / min(peak, shards / transaction latency). */
  readonly sellOutSeconds: number;
  /**
   * Tries that write in the busiest second: the peak's tries (retries, headroom), never more than the
   * shards take (500 each) nor more than arrive before sell-out.
   */
  readonly writeTriesPerSecond: number;
  /** Write units per second those tries cost (9 each). */
  readonly writeUnitsPerSecond: number;
  /** Holds a second the shards take within the conflict target: shards × 0.25 / 0.025 s. */
  readonly holdCapacity: number;
  /** Holds a second the plan achieves at its peak: the peak, at most `holdCapacity`. */
  readonly holdsPerSecond: number;
  /** Environments reading the stock view at the peak (the reservation path's target-tracking ceiling). */
  readonly viewReaders: number;
  /** The stock-vector item's size with the drop's units spread over its shards. */
  readonly vectorBytes: number;
  /**
   * Stock-vector replicas that keep each one's reads within a partition's 3,000 read units a second; at
   * least 2 (published by the sweeper) when the relay would write one vector past a partition or publish
   * past the SKU's message group.
   */
  readonly viewReplicasWanted: number;
  /** What the SKU gets: `viewReplicasWanted`, at most `MAX_VIEW_REPLICAS`. */
  readonly viewReplicas: number;
  /** The stream relay's invocations a second at the peak: one per stream shard and poll, or per full batch. */
  readonly relayInvocationsPerSecond: number;
  /** The load on each item the drop's peak concentrates on, against what its partition serves. */
  readonly partitionLoads: readonly PartitionLoad[];
  /**
   * Attempts a second the stock path absorbs without a queue: the holds its shards take within the
   * conflict target, at most the rate the admission controller admits at (`admissionUnitsPerSecond`).
   */
  readonly roomlessCapacity: number;
  /** Whether the product is created with its waiting room on: the peak asks more than `roomlessCapacity`. */
  readonly waitingRoom: boolean;
}

/**
 * One item's load at a drop's peak against what its partition serves: one item lives on one partition,
 * and "each individual partition is limited to 1000 write units per second and 3000 read units per
 * second" ("Understanding DynamoDB warm throughput in different scenarios",
 * https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/warm-throughput-scenarios.html).
 */
export interface PartitionLoad {
  /** Which item: `stock shard`, `stock-vector replica`, `product replica`, `snapshot group`. */
  readonly item: string;
  readonly unit: 'RCU' | 'WCU';
  /** Units a second on one such item. */
  readonly perSecond: number;
  /** What one partition serves a second. */
  readonly limit: number;
  /** How the figure is made. */
  readonly detail: string;
}

/** One AWS quota the plan needs, against what context declares. */
export interface QuotaNeed {
  /** The quota's name in Service Quotas. */
  readonly quota: string;
  /** The context key that declares what the account has. */
  readonly contextKey: keyof CapacityLimits;
  readonly awsDefault: number;
  readonly declared: number;
  readonly needed: number;
  readonly unit: string;
  /** True when the plan cannot be met with what is declared. */
  readonly short: boolean;
  readonly detail: string;
}

export interface Capacity {
  readonly reservation: PathCapacity;
  readonly checkout: PathCapacity;
  /** Stock shards for each planned SKU (used when the product is created without `shards`). */
  readonly shardsBySku: Readonly<Record<string, number>>;
  /** Stock-vector replicas for each planned SKU with more than one (set when the product is created). */
  readonly viewReplicasBySku: Readonly<Record<string, number>>;
  /** Planned SKUs, of drops not yet over, created with their waiting room on (see `DropDemand.waitingRoom`). */
  readonly waitingRoomSkus: readonly string[];
  /** Each drop of the plan, past ones included, as the stock path sees it. */
  readonly drops: readonly DropDemand[];
  readonly table: {
    readonly warmWritesPerSecond: number;
    readonly warmReadsPerSecond: number;
    /** Partitions the warm throughput implies (each takes 1,000 WRU and 3,000 RRU per second). */
    readonly partitions: number;
  };
  readonly api: {
    readonly rateLimit: number;
    readonly burstLimit: number;
    readonly reservationRateLimit: number;
    readonly adminRateLimit: number;
    readonly adminBurstLimit: number;
  };
  readonly lambda: {
    /** Most provisioned environments the plan's floors ask at one instant (both paths). */
    readonly peakProvisioned: number;
    /** Both paths' target-tracking ceilings. */
    readonly maxProvisioned: number;
    /** On-demand functions' concurrency at a drop's peak (relay, consumers, other routes, sweep). */
    readonly onDemandAtPeak: number;
  };
  readonly quotas: readonly QuotaNeed[];
  /**
   * Where a drop still to come would take an item past its partition (or past the item size): no quota
   * raise helps, so synth and the preflight refuse the plan.
   */
  readonly refusals: readonly string[];
  /** Where the plan goes past a quota or a cap: raise it before the drop. */
  readonly warnings: readonly string[];
}

const MINUTE = 60_000;

/** Full jitter waits half the ceiling on average. */
const backoffMeanSeconds = (attempt: number) => backoffCeilingMs(attempt, assumptions) / 2 / 1000;

/**
 * Little's law with retries: a reservation holds its environment for its first try, then for each
 * retry (another transaction and the backoff before it) with the probability that every try before
 * it was cancelled.
 */
export function invocationSecondsAt(conflictShare: number): number {
  let seconds = assumptions.reserveSeconds;
  for (let retry = 1; retry < assumptions.maxAttempts; retry++) {
    seconds += conflictShare ** retry * (assumptions.transactionSeconds + backoffMeanSeconds(retry - 1));
  }
  return seconds;
}

export function shardsWantedFor(drop: Drop): number {
  const wanted = Math.ceil(
    (drop.expectedPeakRps * assumptions.transactionSeconds) / assumptions.targetInFlightPerShard,
  );
  return Math.max(1, Math.min(wanted, drop.units));
}

export function shardsFor(drop: Drop, maxShards: number = assumptions.maxShards): number {
  return Math.min(maxShards, shardsWantedFor(drop));
}

/** Checkouts per second at most: every unit sold is paid once, spread over a minute, never above the attempts. */
export function checkoutRpsFor(drop: Drop): number {
  return Math.min(drop.expectedPeakRps, drop.units / assumptions.checkoutSpreadSeconds);
}

/** Environments the checkout path needs after a drop starts. */
export function checkoutProvisionedFor(drop: Drop): number {
  return Math.max(1, Math.ceil(checkoutRpsFor(drop) * assumptions.checkoutSeconds * assumptions.headroom));
}

/** A drop's stock path with the shards it gets (`maxShards` lets the preflight show an uncapped plan). */
export function demandOf(drop: Drop, maxShards: number = assumptions.maxShards): DropDemand {
  const shardsWanted = shardsWantedFor(drop);
  const shards = shardsFor(drop, maxShards);
  const inFlightPerShard = (drop.expectedPeakRps / shards) * assumptions.transactionSeconds;
  const conflictShare = 1 - Math.exp(-inFlightPerShard);
  const attemptsPerRequest =
    conflictShare >= 1 ? assumptions.maxAttempts : (1 - conflictShare ** assumptions.maxAttempts) / (1 - conflictShare);
  const busyShare = conflictShare ** assumptions.maxAttempts;
  const invocationSeconds = invocationSecondsAt(conflictShare);
  const reservationEnvironments = Math.max(
    1,
    Math.ceil(drop.expectedPeakRps * (1 + busyShare) * invocationSeconds * assumptions.headroom),
  );
  const perItemTries = assumptions.partitionWriteUnits / assumptions.shardItemWriteUnits;
  // Past the conflict target holds still go through, at most one transaction at a time per shard.
  const saturatedHolds = Math.min(drop.expectedPeakRps, shards / assumptions.transactionSeconds);
  const sellOutSeconds = drop.units / saturatedHolds;
  const writeTriesPerSecond = Math.ceil(
    Math.min(drop.expectedPeakRps * attemptsPerRequest * assumptions.headroom, shards * perItemTries) *
      Math.min(1, sellOutSeconds),
  );
  const writeUnitsPerSecond = writeTriesPerSecond * assumptions.writeUnitsPerAttempt;
  const holdCapacity = (shards * assumptions.targetInFlightPerShard) / assumptions.transactionSeconds;
  const holdsPerSecond = Math.min(drop.expectedPeakRps, holdCapacity);
  const roomlessCapacity = Math.min(holdCapacity, assumptions.admissionUnitsPerSecond);
  const viewReaders = reservationEnvironments * assumptions.viewReadersPerEnvironment;
  const vectorBytes = stockVectorBytes(shards, Math.ceil(drop.units / shards));
  const vectorReads = (viewReaders * eventuallyConsistentReadUnits(vectorBytes)) / assumptions.stockViewSeconds;
  // Each stream shard (about one per partition of the drop's writes) with records invokes the relay at
  // every poll; a full batch invokes it sooner. Every hold writes one shard, so holds/s stock records a second.
  const streamShards = Math.max(1, Math.ceil(writeUnitsPerSecond / assumptions.partitionWriteUnits));
  const relayInvocationsPerSecond = Math.max(
    streamShards * assumptions.relayPollsPerSecond,
    saturatedHolds / assumptions.relayBatchSize,
  );
  // A single vector is rewritten, and the SKU's snapshot published to its message group, by every relay
  // invocation: a SKU whose relay would write the vector past a partition or publish past the group's rate
  // is replicated, and the sweeper writes and publishes it once a second instead.
  const relayBound =
    relayInvocationsPerSecond * writeUnits(vectorBytes) > assumptions.partitionWriteUnits ||
    relayInvocationsPerSecond > assumptions.messagesPerGroup;
  const viewReplicasWanted = Math.max(relayBound ? 2 : 1, Math.ceil(vectorReads / assumptions.partitionReadUnits));
  const viewReplicas = Math.min(MAX_VIEW_REPLICAS, viewReplicasWanted);
  return {
    drop,
    shardsWanted,
    shards,
    inFlightPerShard,
    conflictShare,
    attemptsPerRequest,
    busyShare,
    invocationSeconds,
    reservationEnvironments,
    checkoutRps: checkoutRpsFor(drop),
    checkoutEnvironments: checkoutProvisionedFor(drop),
    sellOutSeconds,
    writeTriesPerSecond,
    writeUnitsPerSecond,
    holdCapacity,
    holdsPerSecond,
    viewReaders,
    vectorBytes,
    viewReplicasWanted,
    viewReplicas,
    relayInvocationsPerSecond,
    partitionLoads: partitionLoadsOf({
      shards,
      triesPerSecond: drop.expectedPeakRps * attemptsPerRequest,
      stockRecordsPerSecond: saturatedHolds,
      viewReaders,
      vectorBytes,
      viewReplicas,
      relayInvocationsPerSecond,
    }),
    roomlessCapacity,
    waitingRoom: drop.expectedPeakRps > roomlessCapacity,
  };
}

/**
 * What each hot item of a drop takes a second at the peak. Stock shards: every try writes one (2 write
 * units, transactional). Stock-vector and product replicas: every environment reads one of each per
 * view lifetime. A replicated SKU's vector replicas and snapshot groups are written and read once a
 * second by the sweeper; a single vector is rewritten, and the snapshot groups read, by every relay
 * invocation. A relay invocation folds its batch into the snapshot groups its records touch: with
 * `r` records over `G` groups, a group is touched with probability 1 − (1 − 1/G)^r.
 */
function partitionLoadsOf(d: {
  readonly shards: number;
  readonly triesPerSecond: number;
  readonly stockRecordsPerSecond: number;
  readonly viewReaders: number;
  readonly vectorBytes: number;
  readonly viewReplicas: number;
  readonly relayInvocationsPerSecond: number;
}): PartitionLoad[] {
  const { partitionReadUnits: reads, partitionWriteUnits: writes, stockViewSeconds } = assumptions;
  const replicated = d.viewReplicas > 1;
  const groups = Math.ceil(d.shards / SHARDS_PER_SNAPSHOT_GROUP);
  const recordsPerInvocation = d.stockRecordsPerSecond / d.relayInvocationsPerSecond;
  const touched = 1 - (1 - 1 / groups) ** recordsPerInvocation;
  const composes = replicated ? assumptions.replicatedPublishesPerSecond : d.relayInvocationsPerSecond;
  const vectorReadUnits = eventuallyConsistentReadUnits(d.vectorBytes);
  return [
    {
      item: 'stock shard',
      unit: 'WCU',
      perSecond: (d.triesPerSecond / d.shards) * assumptions.shardItemWriteUnits,
      limit: writes,
      detail: `${Math.round(d.triesPerSecond)} tries/s (retries included) / ${d.shards} shards × 2 WRU`,
    },
    {
      item: 'stock-vector replica',
      unit: 'RCU',
      perSecond: (d.viewReaders * vectorReadUnits) / stockViewSeconds / d.viewReplicas,
      limit: reads,
      detail: `${d.viewReaders} environments × ${vectorReadUnits} RCU (${Math.ceil(d.vectorBytes / 1024)} KB) a second / ${d.viewReplicas} replicas`,
    },
    {
      item: 'stock-vector replica',
      unit: 'WCU',
      perSecond: composes * writeUnits(d.vectorBytes),
      limit: writes,
      detail: `${replicated ? 'the sweeper, once a second' : `every relay invocation (${Math.round(composes)}/s)`} × ${writeUnits(d.vectorBytes)} WRU`,
    },
    {
      item: 'product replica',
      unit: 'RCU',
      perSecond: (d.viewReaders * assumptions.productReadUnits) / stockViewSeconds / PRODUCT_REPLICAS,
      limit: reads,
      detail: `${d.viewReaders} environments × ${assumptions.productReadUnits} RCU a second / ${PRODUCT_REPLICAS} replicas`,
    },
    {
      item: 'snapshot group',
      unit: 'WCU',
      perSecond: d.relayInvocationsPerSecond * touched * writeUnits(snapshotGroupBytes()),
      limit: writes,
      detail: `${Math.round(d.relayInvocationsPerSecond)} relay invocations/s × ${(touched * 100).toFixed(0)}% touch one of ${groups} groups × ${writeUnits(snapshotGroupBytes())} WRU`,
    },
    {
      item: 'snapshot group',
      unit: 'RCU',
      perSecond: composes * Math.ceil(snapshotGroupBytes() / 4096),
      limit: reads,
      detail: `${replicated ? 'the sweeper reads every group once a second' : 'every relay invocation reads every group'}, strongly consistent`,
    },
  ];
}

/** Read units a second every environment's stock-view refresh costs: its product and stock-vector replicas. */
export function viewReadUnitsPerSecond(demand: DropDemand): number {
  const perRefresh = eventuallyConsistentReadUnits(demand.vectorBytes) + assumptions.productReadUnits;
  return (demand.viewReaders * perRefresh) / assumptions.stockViewSeconds;
}

/** Why a drop cannot run as planned on DynamoDB: an item past its partition, or past the item size. */
export function partitionRefusals(demand: DropDemand): string[] {
  const refusals: string[] = [];
  const { sku } = demand.drop;
  for (const load of demand.partitionLoads) {
    if (load.perSecond > load.limit) {
      refusals.push(
        `${sku}: each ${load.item} takes ${Math.round(load.perSecond)} ${load.unit}/s, over the ${load.limit} one partition serves (${load.detail})`,
      );
    }
  }
  if (demand.vectorBytes > MAX_ITEM_BYTES) {
    refusals.push(
      `${sku}: the stock vector of ${demand.shards} shards is ${Math.ceil(demand.vectorBytes / 1024)} KB, over DynamoDB's ${MAX_ITEM_BYTES / 1024} KB item size`,
    );
  }
  if (demand.viewReplicasWanted > MAX_VIEW_REPLICAS) {
    refusals.push(
      `${sku}: ${demand.viewReplicasWanted} stock-vector replicas would keep each within a partition's reads; at most ${MAX_VIEW_REPLICAS} are kept`,
    );
  }
  return refusals;
}

/** Environments the reservation path needs at a drop's peak (Little's law with retries, see `demandOf`). */
export function provisionedFor(drop: Drop): number {
  return demandOf(drop).reservationEnvironments;
}

/**
 * The most of `items` keys that land on one of `partitions` partitions with probability
 * `confidence`, when keys hash at random (balls into bins: a union bound over the partitions of the
 * binomial tail).
 */
export function busiestPartitionShare(items: number, partitions: number, confidence: number): number {
  if (partitions <= 1 || items <= 1) return Math.max(0, items);
  const q = 1 / partitions;
  const pmf: number[] = [(1 - q) ** items];
  for (let j = 0; j < items; j++) pmf.push((pmf[j] as number) * ((items - j) / (j + 1)) * (q / (1 - q)));
  let tail = 0;
  let k = items;
  // Smallest k with partitions × P[Binomial(items, q) ≥ k + 1] ≤ 1 − confidence.
  while (k > 1) {
    tail += pmf[k] as number;
    if (partitions * tail > 1 - confidence) break;
    k--;
  }
  return k;
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

const effectiveWindows = (windows: readonly Window[], nowMs: number): Window[] => {
  const deployedBy = nowMs + assumptions.deployMarginMinutes * MINUTE;
  return windows.map((window) => (window.from <= deployedBy ? { ...window, from: nowMs } : window));
};

/**
 * The drops whose windows (from `warmUpLeadMinutes` before `startsAt` to `dropWindowMinutes` after)
 * are open at `now` or open before a deploy started then could finish (`deployMarginMinutes`).
 */
export function dropsLiveAtDeploy(plan: DropPlan, now: Date): Drop[] {
  const nowMs = now.getTime();
  return effectiveWindows(plan.drops.map(windowOf), nowMs)
    .filter((window) => window.from <= nowMs && nowMs < window.to)
    .map((window) => window.drop);
}

/**
 * A path's floor at deploy, its steps after that (up before each window, down after it) and its
 * target-tracking ceiling. Registering a scalable target moves current capacity into its
 * [min, max] range at once ("RegisterScalableTarget", Application Auto Scaling API Reference,
 * https://docs.aws.amazon.com/autoscaling/application/APIReference/API_RegisterScalableTarget.html),
 * so a window already open gets its environments from the deploy itself.
 */
function pathCapacity(windows: readonly Window[], nowMs: number, perDrop: (drop: Drop) => number): PathCapacity {
  const effective = effectiveWindows(windows, nowMs);
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

/** The largest sum of `value` over drops live at one instant (a window's start is where sums peak). */
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

const partitionsOf = (writes: number, reads: number) =>
  Math.max(1, Math.floor(writes / assumptions.partitionWriteUnits), Math.floor(reads / assumptions.partitionReadUnits));

/** Write units per second the busiest partition takes from one drop's shards, at `partitions` partitions. */
function busiestPartitionWrites(demand: DropDemand, partitions: number): number {
  const perShard = (demand.writeTriesPerSecond / demand.shards) * assumptions.shardItemWriteUnits;
  return busiestPartitionShare(demand.shards, partitions, assumptions.partitionConfidence) * perShard;
}

/**
 * Warm throughput only ever goes up: once raised it cannot be lowered, and an update asking less
 * fails ("Understanding DynamoDB warm throughput",
 * https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/warm-throughput.html). So it is
 * sized from every drop of the plan, past ones included, never from `now`: with the plan's history
 * kept, the value a stage asks can only grow. Writes are what can actually write (see `demandOf`),
 * raised until no partition is expected to carry more than 1,000 WRU/s of one SKU's shards; both are
 * capped at the table's on-demand maximum (the most a table can be pre-warmed to) and never below the
 * floor the stage declares.
 */
export function warmThroughputFor(
  plan: DropPlan,
  limits: CapacityLimits = defaultCapacityLimits,
): {
  readonly writes: number;
  readonly reads: number;
  readonly wantedWrites: number;
  readonly wantedReads: number;
  readonly warnings: readonly string[];
} {
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
  const windows = plan.drops.map(windowOf);
  const demands = new Map(plan.drops.map((drop) => [drop, demandOf(drop)]));
  const demandFor = (drop: Drop) => demands.get(drop) as DropDemand;
  const stockWrites = peakOf(windows, (drop) => demandFor(drop).writeUnitsPerSecond);
  const peakRps = peakOf(windows, (drop) => drop.expectedPeakRps);
  // Sold-out refusals read an idempotency key each; every environment refreshes its stock view besides.
  const viewReads = peakOf(windows, (drop) => viewReadUnitsPerSecond(demandFor(drop)));
  const wantReads = Math.ceil(peakRps * assumptions.readUnitsPerAttempt * assumptions.headroom + viewReads);

  // A partition key is not a partition: find the partitions (1,000 WRU each) that keep every drop's
  // busiest partition within its write units while its shards share partitions. Searched up to 16
  // partitions per shard; a drop no count fixes keeps the writes it has and gets a warning below.
  // Independent of the limits, so what the plan needs does not move with what context declares.
  let wantWrites = stockWrites;
  for (const demand of demands.values()) {
    const from = partitionsOf(Math.max(assumptions.tableWarmWrites, wantWrites), wantReads);
    for (let partitions = from; partitions <= Math.max(from, demand.shards * 16); partitions++) {
      if (busiestPartitionWrites(demand, partitions) <= assumptions.partitionWriteUnits) {
        wantWrites = Math.max(wantWrites, partitions * assumptions.partitionWriteUnits);
        break;
      }
    }
  }

  const writes = Math.max(
    limits.warmWritesFloor,
    Math.min(limits.tableMaxWriteUnits, Math.max(assumptions.tableWarmWrites, wantWrites)),
  );
  const reads = Math.max(
    limits.warmReadsFloor,
    Math.min(limits.tableMaxReadUnits, Math.max(assumptions.tableWarmReads, wantReads)),
  );
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
  const partitions = partitionsOf(writes, reads);
  for (const demand of demands.values()) {
    const busiest = Math.round(busiestPartitionWrites(demand, partitions));
    if (busiest > assumptions.partitionWriteUnits) {
      const share = busiestPartitionShare(demand.shards, partitions, assumptions.partitionConfidence);
      warnings.push(
        `${demand.drop.sku}: until split-for-heat isolates its shards, up to ${share} of its ${demand.shards} shards may share one of ~${partitions} partitions, ${busiest} WRU/s on it (a partition takes 1,000): expect throttling in the first minutes`,
      );
    }
  }
  return { writes, reads, wantedWrites: wantWrites, wantedReads: wantReads, warnings };
}

/**
 * Concurrency the on-demand functions use while a drop peaks: they share the account's concurrent
 * executions with the provisioned paths. The stream relay runs one invocation per stream shard (about
 * one per partition), each FIFO consumer at most its mapping's maximum or one per message group (a
 * SKU), the sweep one, and the API's other routes `defaultApiRate × otherRouteSeconds`.
 */
function onDemandAtPeak(partitions: number, liveSkus: number): number {
  const consumers = eventSourceMappings.reduce(
    (total, mapping) => total + (mapping.maxConcurrency ?? Math.max(1, liveSkus)),
    0,
  );
  const otherRoutes = Math.ceil(assumptions.defaultApiRate * assumptions.otherRouteSeconds);
  return partitions + consumers + 1 + otherRoutes;
}

/**
 * Provisioned concurrency, shards and throttles come from the drops not yet over at `now`; warm
 * throughput from the whole plan (see `warmThroughputFor`). `quotas` says what the plan needs of the
 * account against `limits`; the app refuses to synthesize what Lambda would refuse to allocate.
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
  const drops = plan.drops.map((drop) => demandOf(drop));
  const demandFor = (drop: Drop) => drops.find((demand) => demand.drop === drop) as DropDemand;

  const reservation = pathCapacity(windows, now.getTime(), provisionedFor);
  const checkout = pathCapacity(windows, now.getTime(), checkoutProvisionedFor);

  const shardsBySku: Record<string, number> = {};
  const viewReplicasBySku: Record<string, number> = {};
  const refusals: string[] = [];
  const waitingRoomSkus = new Set<string>();
  for (const window of windows) {
    const demand = demandFor(window.drop);
    if (demand.waitingRoom) waitingRoomSkus.add(window.drop.sku);
    shardsBySku[window.drop.sku] = Math.max(shardsBySku[window.drop.sku] ?? 1, demand.shards);
    if (demand.viewReplicas > 1) {
      viewReplicasBySku[window.drop.sku] = Math.max(viewReplicasBySku[window.drop.sku] ?? 1, demand.viewReplicas);
    }
    refusals.push(...partitionRefusals(demand));
    if (demand.shards < demand.shardsWanted) {
      const uncapped = demandOf(window.drop, demand.shardsWanted);
      warnings.push(
        `${window.drop.sku}: ${demand.shardsWanted} shards keep ${assumptions.targetInFlightPerShard} transactions in flight per shard; capped at ${demand.shards} (MAX_SHARDS), ${demand.inFlightPerShard.toFixed(2)} are and ${Math.round(demand.conflictShare * 100)}% of tries conflict, so the reservation path needs ${demand.reservationEnvironments} environments where ${demand.shardsWanted} shards would need ${uncapped.reservationEnvironments}`,
      );
    }
  }

  const warm = warmThroughputFor(plan, limits);
  warnings.push(...warm.warnings);
  const partitions = partitionsOf(warm.writes, warm.reads);
  // The stream relay runs one invocation per stream shard, about one per partition of the table as the plan wants it.
  const wantedPartitions = partitionsOf(warm.wantedWrites, warm.wantedReads);

  // Lambda: what the floors ask at one instant, what target tracking may ask, what on-demand uses.
  const effective = effectiveWindows(windows, now.getTime());
  const instants = [now.getTime(), ...effective.map((window) => window.from)];
  const peakProvisioned = Math.max(
    ...instants.map(
      (instant) => floorAt(effective, instant, provisionedFor) + floorAt(effective, instant, checkoutProvisionedFor),
    ),
  );
  const liveSkus = Math.max(
    1,
    peakOf(windows, () => 1),
  );
  const onDemand = windows.length > 0 ? onDemandAtPeak(wantedPartitions, liveSkus) : 0;
  const maxProvisioned = reservation.maxProvisioned + checkout.maxProvisioned;
  const lambdaNeeded = peakProvisioned + Math.max(assumptions.unreservedMinimum, onDemand);
  if (maxProvisioned + onDemand > limits.accountConcurrency) {
    warnings.push(
      `target tracking may ask up to ${maxProvisioned} provisioned environments, with ~${onDemand} on-demand beside them, above the account's ${limits.accountConcurrency} concurrent executions: scaling past the plan would fail (the alarm topic hears of it)`,
    );
  }

  // API throttles: every limit within the account's rate, which all stages and methods share.
  const peakRps = peakOf(windows, (drop) => drop.expectedPeakRps);
  const wantedReservation = Math.ceil(peakRps * assumptions.headroom);
  const wantedStage = Math.max(assumptions.defaultApiRate, wantedReservation + assumptions.defaultApiRate);
  const rateLimit = Math.min(wantedStage, limits.apiAccountRps);
  const otherRoutes = Math.min(assumptions.defaultApiRate, rateLimit / 2);
  const reservationRateLimit = Math.min(
    Math.max(wantedReservation, assumptions.defaultApiRate / 2),
    rateLimit - otherRoutes,
  );
  if (wantedStage > limits.apiAccountRps) {
    warnings.push(
      `the plan wants an API rate of ${wantedStage} rps; throttles are held within the account's ${limits.apiAccountRps} (stage ${rateLimit}, reservations ${reservationRateLimit}): raise the API Gateway throttle quota and -c apiAccountRps`,
    );
  }

  const quotas: QuotaNeed[] = [
    {
      quota: 'AWS Lambda: Concurrent executions',
      contextKey: 'accountConcurrency',
      awsDefault: defaultCapacityLimits.accountConcurrency,
      declared: limits.accountConcurrency,
      needed: lambdaNeeded,
      unit: 'concurrent executions',
      short: lambdaNeeded > limits.accountConcurrency,
      detail: `provisioned floors peak at ${peakProvisioned} (reservation + checkout), plus ${Math.max(assumptions.unreservedMinimum, onDemand)} unreserved for on-demand functions; target tracking may go to ${maxProvisioned}`,
    },
    {
      quota: 'Amazon DynamoDB: Table-level write throughput limit',
      contextKey: 'tableMaxWriteUnits',
      awsDefault: defaultCapacityLimits.tableMaxWriteUnits,
      declared: limits.tableMaxWriteUnits,
      needed: warm.wantedWrites,
      unit: 'WRU/s',
      short: warm.wantedWrites > limits.tableMaxWriteUnits,
      detail: 'warm writes: tries that can write in the busiest second × 9 WRU, and partitions for the shards',
    },
    {
      quota: 'Amazon DynamoDB: Table-level read throughput limit',
      contextKey: 'tableMaxReadUnits',
      awsDefault: defaultCapacityLimits.tableMaxReadUnits,
      declared: limits.tableMaxReadUnits,
      needed: warm.wantedReads,
      unit: 'RRU/s',
      short: warm.wantedReads > limits.tableMaxReadUnits,
      detail: 'warm reads: peak × 1 RRU × 1.5, plus every environment refreshing its stock view each second',
    },
    {
      quota: 'Amazon API Gateway: Throttle rate',
      contextKey: 'apiAccountRps',
      awsDefault: defaultCapacityLimits.apiAccountRps,
      declared: limits.apiAccountRps,
      needed: wantedStage,
      unit: 'requests/s',
      short: wantedStage > limits.apiAccountRps,
      detail:
        'the stage throttle: reservations at peak × 1.5 plus 1,000 for the other routes, shared with every API of the account',
    },
  ];

  return {
    reservation,
    checkout,
    shardsBySku,
    viewReplicasBySku,
    waitingRoomSkus: [...waitingRoomSkus].sort(),
    drops,
    table: { warmWritesPerSecond: warm.writes, warmReadsPerSecond: warm.reads, partitions },
    api: {
      rateLimit,
      burstLimit: Math.min(limits.apiAccountBurst, rateLimit),
      reservationRateLimit,
      adminRateLimit: assumptions.adminRate,
      adminBurstLimit: assumptions.adminBurst,
    },
    lambda: { peakProvisioned, maxProvisioned, onDemandAtPeak: onDemand },
    quotas,
    refusals,
    warnings,
  };
}

/**
 * What stops a synth: provisioned concurrency Lambda would refuse to allocate. Application Auto Scaling
 * sets it on the alias, and Lambda allocates provisioned concurrency only within the account's
 * unreserved concurrency minus 100; past it the scaling activity fails after the deploy, with the drop
 * path cold.
 */
export function assertDeployable(capacity: Capacity, limits: CapacityLimits): void {
  if (capacity.refusals.length > 0) {
    throw new CapacityError(
      `the plan takes DynamoDB items past what one partition serves, which no quota raises: ${capacity.refusals.join('; ')}`,
    );
  }
  const allowed = limits.accountConcurrency - assumptions.unreservedMinimum;
  if (capacity.lambda.peakProvisioned > allowed) {
    const lambda = capacity.quotas.find((quota) => quota.contextKey === 'accountConcurrency');
    throw new CapacityError(
      `the plan's provisioned concurrency peaks at ${capacity.lambda.peakProvisioned} environments, but the Lambda quota "Concurrent executions" declared is ${limits.accountConcurrency} and provisioned concurrency can take at most ${allowed} of it: request at least ${lambda?.needed ?? capacity.lambda.peakProvisioned + assumptions.unreservedMinimum} in Service Quotas, then synth with -c accountConcurrency=<granted> (npx dropline preflight shows every quota the plan needs)`,
    );
  }
}
