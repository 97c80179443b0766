/**
 * `dropline preflight`: what a drop plan asks of AWS before anything is deployed — per drop its
 * shards, provisioned concurrency per path, writes and a cost estimate; for the stack its warm
 * throughput and API throttles; and every quota the plan needs against what context declares. The
 * numbers are the ones `cdk synth` puts in the templates (lib/config/capacity.ts), read from the same
 * context keys.
 */
import type { Node } from 'constructs';
import { PRODUCT_REPLICAS } from '../contract/stock-view';
import { assumptions, type Capacity, type CapacityLimits, type DropDemand, planCapacity } from '../lib/config/capacity';
import { type DropPlan, DropPlanError, loadDropPlan } from '../lib/config/drop-plan';
import { readCapacityLimits, SettingsError } from '../lib/config/settings';

/**
 * List prices (us-east-1) the estimate uses, each with where it was read. A price no stored page gave
 * is `undefined` and printed as "price not verified" beside its quantity.
 */
export const prices = {
  /** Lambda requests, $ per million, and arm64 duration, $ per GB-s (first tier). cloudchipr.com/blog/aws-lambda-pricing, from aws.amazon.com/lambda/pricing. */
  lambdaRequestsPerMillion: 0.2,
  lambdaArmGbSecond: 0.0000133334,
  /** Provisioned concurrency on arm64, $ per GB-s: not given by any stored page. */
  provisionedArmGbSecond: undefined as number | undefined,
  /** API Gateway REST, $ per million, first 333 million a month. docs.aws.amazon.com/whitepapers/latest/best-practices-api-gateway-private-apis-integration/cost-optimization.html */
  apiRestPerMillion: 3.5,
  /** DynamoDB on-demand, $ per million WRU and RRU. airbyte.com/data-engineering-resources/dynamodb-pricing (after the November 2024 reduction). */
  dynamoWritePerMillion: 0.625,
  dynamoReadPerMillion: 0.125,
  /** Pre-warming is charged ("Understanding DynamoDB warm throughput"); its price is not given by any stored page. */
  warmThroughput: undefined as number | undefined,
  /** AWS WAF: $0.60 per million requests, $5 per web ACL-month, $1 per rule-month; Bot Control ~$10 a month + $1 per million. c3x.dev/blog/aws-waf-cost-explained/ */
  wafPerMillion: 0.6,
  wafBotControlPerMillion: 1,
  wafWebAclMonth: 5,
  wafRuleMonth: 1,
  wafBotControlMonth: 10,
  /** KMS: $1 per key-month, $0.03 per 10,000 requests past 20,000 free. aws.amazon.com/kms/pricing/ */
  kmsKeyMonth: 1,
  /** CloudWatch: $0.10 per standard-resolution alarm-month. c3x.dev/resources/aws/aws_cloudwatch_metric_alarm */
  cloudwatchAlarmMonth: 0.1,
  /** Route 53: about $0.50 per health check-month on an AWS endpoint; HTTPS and other options extra (not verified). wewantcode.com (Route 53 health checks lesson) */
  route53HealthCheckMonth: 0.5,
} as const;

export interface DropCost {
  readonly requests: number;
  readonly lambdaGbSeconds: number;
  readonly provisionedGbSeconds: number;
  readonly writeUnits: number;
  readonly readUnits: number;
  /** Dollars per line; `undefined` where the price is not verified. */
  readonly lines: ReadonlyArray<{
    readonly item: string;
    readonly quantity: string;
    readonly dollars: number | undefined;
  }>;
  /** Sum of the verified lines. */
  readonly verifiedDollars: number;
}

/**
 * One drop's cost: its peak held for `spikeSeconds` (every attempt a reservation request; after
 * sell-out a refusal that reads 1 RRU), the provisioned environments for its whole window, and the
 * writes its tries make before sell-out.
 */
export function dropCost(demand: DropDemand): DropCost {
  const { drop } = demand;
  const requests = drop.expectedPeakRps * assumptions.spikeSeconds;
  const writingTries = Math.min(
    requests * demand.attemptsPerRequest,
    demand.writeTriesPerSecond * Math.max(1, Math.min(demand.sellOutSeconds, assumptions.spikeSeconds)),
  );
  const writeUnits = writingTries * assumptions.writeUnitsPerAttempt;
  const readUnits = Math.max(0, requests - drop.units) * assumptions.readUnitsPerAttempt;
  const lambdaGbSeconds =
    (requests * demand.invocationSeconds + drop.units * assumptions.checkoutSeconds) * assumptions.functionMemoryGb;
  const windowSeconds = (assumptions.warmUpLeadMinutes + assumptions.dropWindowMinutes) * 60;
  const provisionedGbSeconds =
    (demand.reservationEnvironments + demand.checkoutEnvironments) * windowSeconds * assumptions.functionMemoryGb;
  const lambdaRequests = requests + drop.units;
  const apiRequests = requests + drop.units;
  const lines = [
    {
      item: 'Lambda requests',
      quantity: `${fmt(lambdaRequests)} invocations`,
      dollars: (lambdaRequests / 1e6) * prices.lambdaRequestsPerMillion,
    },
    {
      item: 'Lambda duration (arm64, on-demand rate)',
      quantity: `${fmt(lambdaGbSeconds)} GB-s`,
      dollars: lambdaGbSeconds * prices.lambdaArmGbSecond,
    },
    {
      item: 'Provisioned concurrency (window of the drop)',
      quantity: `${fmt(provisionedGbSeconds)} GB-s`,
      dollars:
        prices.provisionedArmGbSecond === undefined ? undefined : provisionedGbSeconds * prices.provisionedArmGbSecond,
    },
    {
      item: 'API Gateway REST',
      quantity: `${fmt(apiRequests)} requests`,
      dollars: (apiRequests / 1e6) * prices.apiRestPerMillion,
    },
    {
      item: 'DynamoDB writes',
      quantity: `${fmt(writeUnits)} WRU`,
      dollars: (writeUnits / 1e6) * prices.dynamoWritePerMillion,
    },
    {
      item: 'DynamoDB reads',
      quantity: `${fmt(readUnits)} RRU`,
      dollars: (readUnits / 1e6) * prices.dynamoReadPerMillion,
    },
    {
      item: 'AWS WAF requests + Bot Control',
      quantity: `${fmt(apiRequests)} requests`,
      dollars: (apiRequests / 1e6) * (prices.wafPerMillion + prices.wafBotControlPerMillion),
    },
  ];
  const verifiedDollars = lines.reduce((total, line) => total + (line.dollars ?? 0), 0);
  return { requests, lambdaGbSeconds, provisionedGbSeconds, writeUnits, readUnits, lines, verifiedDollars };
}

export interface PreflightReport {
  readonly capacity: Capacity;
  readonly text: string;
  /** The quotas the plan cannot meet with what context declares. */
  readonly short: readonly string[];
  /** Where the plan takes an item past its partition: no quota raise helps. */
  readonly refused: readonly string[];
}

const fmt = (value: number) => Math.round(value).toLocaleString('en-US');
const money = (value: number | undefined) =>
  value === undefined ? 'price not verified' : `$${value < 0.01 && value > 0 ? value.toFixed(4) : value.toFixed(2)}`;

export function preflight(plan: DropPlan, limits: CapacityLimits, now: Date): PreflightReport {
  const capacity = planCapacity(plan, now, limits);
  const lines: string[] = [];
  const nowMs = now.getTime();
  lines.push(`Drop plan: ${plan.drops.length} drop(s), checked at ${now.toISOString()}`, '');
  for (const demand of capacity.drops) {
    const { drop } = demand;
    const over = Date.parse(drop.startsAt) + assumptions.dropWindowMinutes * 60_000 <= nowMs;
    lines.push(
      `Drop ${drop.sku} at ${drop.startsAt}: ${fmt(drop.expectedPeakRps)} attempts/s, ${fmt(drop.units)} units${over ? ' (over: counts only for warm throughput)' : ''}`,
    );
    const capped = demand.shards < demand.shardsWanted ? `; capped by MAX_SHARDS=${assumptions.maxShards}` : '';
    lines.push(
      `  shards             ${fmt(demand.shards)} (wants ${fmt(demand.shardsWanted)} for ${assumptions.targetInFlightPerShard} transactions in flight per shard${capped}); ${demand.inFlightPerShard.toFixed(2)} in flight, ${Math.round(demand.conflictShare * 100)}% of tries conflict, ${demand.attemptsPerRequest.toFixed(2)} tries per reservation`,
      `  reservation path   ${fmt(demand.reservationEnvironments)} provisioned environments (${demand.invocationSeconds.toFixed(3)} s per reservation, retries included, × peak × ${assumptions.headroom})`,
      `  checkout path      ${fmt(demand.checkoutEnvironments)} provisioned environments (${demand.checkoutRps.toFixed(0)} checkouts/s × ${assumptions.checkoutSeconds} s × ${assumptions.headroom})`,
      `  writes             sell-out in ~${demand.sellOutSeconds.toFixed(2)} s; ${fmt(demand.writeTriesPerSecond)} tries write in the busiest second (${fmt(demand.writeUnitsPerSecond)} WRU/s)`,
      `  holds/s            ${fmt(demand.holdsPerSecond)} (the shards take ${fmt(demand.holdCapacity)} at ${assumptions.targetInFlightPerShard} in flight per shard; the peak asks ${fmt(drop.expectedPeakRps)})`,
      `  waiting room       ${demand.waitingRoom ? 'on at creation' : 'off'}: the peak asks ${fmt(drop.expectedPeakRps)} attempts/s, the stock path absorbs ${fmt(demand.roomlessCapacity)} (its shards' holds/s, at most the ${fmt(assumptions.admissionUnitsPerSecond)} units/s the admission controller admits)`,
      `  stock view         ${fmt(demand.viewReaders)} environments refresh it each second: ${demand.viewReplicas} stock-vector replica(s) of ${fmt(Math.ceil(demand.vectorBytes / 1024))} KB${demand.viewReplicas > 1 ? ', published by the sweeper once a second' : ', kept by the relay'}; ${PRODUCT_REPLICAS} product replicas`,
      '  per partition      (one item, its load at the peak / what a partition serves)',
    );
    for (const load of demand.partitionLoads) {
      const flag = load.perSecond > load.limit ? 'OVER ' : 'ok   ';
      lines.push(
        `    ${flag} ${`${load.item} ${load.unit}/s`.padEnd(26)} ${fmt(load.perSecond).padStart(7)} / ${fmt(load.limit)}  ${load.detail}`,
      );
    }
    const cost = dropCost(demand);
    lines.push(
      `  cost estimate      ${money(cost.verifiedDollars)} for the verified lines (peak held ${assumptions.spikeSeconds} s, window ${assumptions.warmUpLeadMinutes + assumptions.dropWindowMinutes} min):`,
    );
    for (const line of cost.lines)
      lines.push(`    ${line.item.padEnd(46)} ${line.quantity.padStart(22)}  ${money(line.dollars)}`);
    lines.push(
      `    ${'DynamoDB warm throughput (pre-warming)'.padEnd(46)} ${`${fmt(capacity.table.warmWritesPerSecond)} WRU/s`.padStart(22)}  ${money(prices.warmThroughput)}`,
      '',
    );
  }

  const { api, table, lambda } = capacity;
  lines.push(
    'Stack',
    `  warm throughput    ${fmt(table.warmWritesPerSecond)} WRU/s, ${fmt(table.warmReadsPerSecond)} RRU/s (~${table.partitions} partitions); never asked lower: after the deploy, pin it with -c warmWritesFloor=${table.warmWritesPerSecond} -c warmReadsFloor=${table.warmReadsPerSecond}`,
    `  API throttles      stage ${fmt(api.rateLimit)} rps (burst ${fmt(api.burstLimit)}), reservations ${fmt(api.reservationRateLimit)} rps, admin ${api.adminRateLimit} rps (burst ${api.adminBurstLimit}); all share the account's ${fmt(limits.apiAccountRps)} rps`,
    `  waiting rooms      ${capacity.waitingRoomSkus.length > 0 ? `on at creation for ${capacity.waitingRoomSkus.join(', ')}` : 'none planned'} (PUT /admin/products/{sku}; an operator can still turn any room on or off)`,
    `  Lambda             provisioned floors peak at ${fmt(lambda.peakProvisioned)}, target tracking up to ${fmt(lambda.maxProvisioned)}, ~${fmt(lambda.onDemandAtPeak)} on-demand beside them`,
    `  monthly, any drop  web ACL ${money(prices.wafWebAclMonth)} + ${money(prices.wafRuleMonth)}/rule + Bot Control ${money(prices.wafBotControlMonth)}; KMS ${money(prices.kmsKeyMonth)}/key; alarms ${money(prices.cloudwatchAlarmMonth)} each; Route 53 health check ${money(prices.route53HealthCheckMonth)}`,
    '',
    'Quotas (needed / declared in context; AWS default)',
  );
  const short: string[] = [];
  for (const quota of capacity.quotas) {
    lines.push(
      `  ${quota.short ? 'RAISE' : 'ok   '}  ${quota.quota.padEnd(52)} ${fmt(quota.needed).padStart(9)} / ${fmt(quota.declared)} ${quota.unit} (default ${fmt(quota.awsDefault)}; -c ${quota.contextKey})`,
      `         ${quota.detail}`,
    );
    if (quota.short) {
      short.push(
        `${quota.quota} (-c ${quota.contextKey}): needs ${fmt(quota.needed)} ${quota.unit}, ${fmt(quota.declared)} declared`,
      );
    }
  }
  const ordersPerSecond = Math.max(0, ...capacity.drops.map((demand) => demand.checkoutRps));
  lines.push(
    `  ok     Amazon SQS FIFO (orders, channels)                    high-throughput mode on (per message group); orders peak at ~${fmt(ordersPerSecond)}/s, one group per order`,
    '         without it: 300 transactions/s per API action (3,000 messages/s in batches of 10)',
    '  ok     Amazon SNS FIFO (inventory topic)                     throughput scope MESSAGE_GROUP (regional maximum); one group per SKU, coalesced snapshots',
    `  note   Lambda scaling rate                                   past provisioned concurrency, each function gains at most 1,000 environments every 10 s`,
  );
  if (capacity.refusals.length > 0) {
    lines.push('', 'Refused (no quota raise helps: fewer environments or more replicas per item)');
    for (const refusal of capacity.refusals) lines.push(`  - ${refusal}`);
  }
  if (capacity.warnings.length > 0) {
    lines.push('', 'Warnings');
    for (const warning of capacity.warnings) lines.push(`  - ${warning}`);
  }
  return { capacity, text: `${lines.join('\n')}\n`, short, refused: capacity.refusals };
}

/** `-c key=value` pairs into a context lookup, as `cdk -c` takes them. */
function contextOf(pairs: readonly string[]): Record<string, string> {
  const context: Record<string, string> = {};
  for (const pair of pairs) {
    const at = pair.indexOf('=');
    if (at <= 0) throw new SettingsError(`-c ${pair}: expected key=value`);
    context[pair.slice(0, at)] = pair.slice(at + 1);
  }
  return context;
}

export interface PreflightOptions {
  readonly plan?: string | undefined;
  readonly context: readonly string[];
  readonly at?: string | undefined;
  readonly json: boolean;
}

/**
 * Exit code: 0 the plan fits, 1 a quota must be raised first (each named) or an item would pass its
 * partition (each named), 2 the plan or options are wrong.
 */
export function runPreflight(options: PreflightOptions, out = process.stdout, err = process.stderr): number {
  try {
    const context = contextOf(options.context);
    const path = options.plan ?? context.dropPlan;
    if (!path) throw new SettingsError('--plan FILE is required (or -c dropPlan=FILE)');
    const plan = loadDropPlan(path);
    const node = { tryGetContext: (key: string) => context[key] } as unknown as Node;
    const limits = readCapacityLimits(node);
    const now = options.at === undefined ? new Date() : new Date(options.at);
    if (Number.isNaN(now.getTime())) throw new SettingsError(`--at ${options.at} is not a date`);
    const report = preflight(plan, limits, now);
    out.write(options.json ? `${JSON.stringify({ ...report.capacity, short: report.short })}\n` : report.text);
    if (report.refused.length > 0) {
      err.write(
        `dropline preflight: the plan takes DynamoDB items past what one partition serves:\n${report.refused.map((line) => `  - ${line}`).join('\n')}\n`,
      );
    }
    if (report.short.length > 0) {
      err.write(
        `dropline preflight: the plan cannot be met with the quotas declared in context; raise in Service Quotas, then pass -c with what was granted:\n${report.short.map((line) => `  - ${line}`).join('\n')}\n`,
      );
      return 1;
    }
    return report.refused.length > 0 ? 1 : 0;
  } catch (error) {
    if (error instanceof DropPlanError || error instanceof SettingsError) {
      err.write(`dropline preflight: ${error.message}\n`);
      return 2;
    }
    throw error;
  }
}
