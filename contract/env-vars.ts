/**
 * The environment variables a function is configured with, named once: the
 * stack and the local runtime set them, the handlers read them. Powertools
 * reads its own `POWERTOOLS_*` variables; they are named here because both
 * sides set them. Anything the runtime learns about its wiring (a queue's
 * role, a channel, a limit) comes through one of these, never from a
 * resource's name, which differs between local and deployed.
 */
import * as z from 'zod/mini';
import { MAX_SHARDS } from './inventory-table';
import { SKU_PATTERN, SKU_RULE } from './sku';
import { MAX_VIEW_REPLICAS } from './stock-view';

export const envVars = {
  /** The inventory table's name. */
  tableName: 'TABLE_NAME',
  /** Where the outbox relay and the redrive send new orders. */
  ordersQueueUrl: 'ORDERS_QUEUE_URL',
  /** Where stock snapshots are published. */
  inventoryTopicArn: 'INVENTORY_TOPIC_ARN',
  /** Channel name → its queue's ARN, as JSON (see `channelsByQueueArn`). */
  channelQueueArns: 'CHANNEL_QUEUE_ARNS',
  /** Units per second the stock path is planned to take: the waiting room admits towards it. */
  admissionCapacity: 'ADMISSION_CAPACITY_UPS',
  /** Seconds of open drop an admitted shopper has to use their turn (`ADMISSION_WINDOW_MS` unless set). */
  admissionWindow: 'ADMISSION_WINDOW_SECONDS',
  /** The ARN of the CloudFront KeyValueStore the edge function reads (the edge-state writer's target). */
  edgeStoreArn: 'EDGE_STORE_ARN',
  /** The shop's OpenID Connect provider (`contract/identity.ts`): its issuer, the audience, its keys. */
  identityIssuer: 'IDENTITY_ISSUER',
  identityAudience: 'IDENTITY_AUDIENCE',
  identityJwksUri: 'IDENTITY_JWKS_URI',
  /** `{"SKU": shards}` from the drop plan, as JSON (see `parsePlannedShards`). */
  plannedShards: 'PLANNED_SHARDS',
  /** `{"SKU": replicas}` from the drop plan, as JSON: each SKU's stock-vector replicas (see `parsePlannedViewReplicas`). */
  plannedViewReplicas: 'PLANNED_VIEW_REPLICAS',
  /** Seconds one expiry invocation keeps sweeping (every second); 0 sweeps once. */
  sweepForSeconds: 'SWEEP_FOR_SECONDS',
  /** How long a believed stock level (and so a sold-out answer) is trusted, in milliseconds. */
  stockViewTtlMs: 'STOCK_VIEW_TTL_MS',
  /**
   * Milliseconds a connection to an AWS service may stay silent before the attempt fails
   * (`lambdas/shared/clients/request-settings.ts`: 2,000 unless set); 0 sets no limit. The template
   * leaves it unset; the local runtime sets 0, as its emulators answer a spike in seconds.
   */
  awsAttemptTimeoutMs: 'AWS_ATTEMPT_TIMEOUT_MS',
  /** In-function tracing: `service` (Lambda's own segments only; when unset) or `sdk` (`lambdas/shared/powertools/tracer.ts`). */
  tracing: 'DROPLINE_TRACING',
  powertoolsServiceName: 'POWERTOOLS_SERVICE_NAME',
  powertoolsMetricsNamespace: 'POWERTOOLS_METRICS_NAMESPACE',
  powertoolsMetricsDisabled: 'POWERTOOLS_METRICS_DISABLED',
  powertoolsLogLevel: 'POWERTOOLS_LOG_LEVEL',
} as const;

/** What a function traces of itself (`-c tracing=`, docs/deploy.md): Lambda's segments only, or the X-Ray SDK's too. */
export const TRACING_MODES = ['service', 'sdk'] as const;
export type TracingMode = (typeof TRACING_MODES)[number];

/** `DROPLINE_TRACING` as a mode: unset is `service`; anything else unknown is a misconfigured function. */
export function parseTracingMode(value: string | undefined): TracingMode {
  if (value === undefined || value === '') return 'service';
  const mode = TRACING_MODES.find((known) => known === value);
  if (!mode) throw new Error(`${envVars.tracing} must be one of ${TRACING_MODES.join(', ')}, not ${value}`);
  return mode;
}

const SHARD_COUNT_RULE = `a whole number from 1 to ${MAX_SHARDS}`;

/** A SKU's planned shards: whole, and within the table's cap. */
export const PlannedShardCount = z
  .int(SHARD_COUNT_RULE)
  .check(z.gte(1, SHARD_COUNT_RULE), z.lte(MAX_SHARDS, SHARD_COUNT_RULE));

const VIEW_REPLICA_COUNT_RULE = `a whole number from 1 to ${MAX_VIEW_REPLICAS}`;

/** A SKU's planned stock-vector replicas. */
export const PlannedViewReplicaCount = z
  .int(VIEW_REPLICA_COUNT_RULE)
  .check(z.gte(1, VIEW_REPLICA_COUNT_RULE), z.lte(MAX_VIEW_REPLICAS, VIEW_REPLICA_COUNT_RULE));

/** A planned-counts variable (`PLANNED_SHARDS`, `PLANNED_VIEW_REPLICAS`) that does not parse. */
export class PlannedShardsError extends Error {
  constructor(detail: string, variable: string = envVars.plannedShards) {
    super(`${variable} is not valid: ${detail}`);
    this.name = 'PlannedShardsError';
  }
}

/** The variable's value for these shard counts. */
export const plannedShardsValue = (shardsBySku: Readonly<Record<string, number>>): string =>
  JSON.stringify(shardsBySku);

/** `PLANNED_VIEW_REPLICAS`'s value for these replica counts. */
export const plannedViewReplicasValue = (replicasBySku: Readonly<Record<string, number>>): string =>
  JSON.stringify(replicasBySku);

/**
 * Shards by SKU from the variable's value: empty when unset, and refused
 * whole when any entry is not a SKU with a planned shard count.
 */
export function parsePlannedShards(value: string): Record<string, number> {
  return parsePlannedCounts(value, envVars.plannedShards, 'shards', PlannedShardCount, SHARD_COUNT_RULE);
}

/** Stock-vector replicas by SKU from `PLANNED_VIEW_REPLICAS`, refused whole as `parsePlannedShards` refuses. */
export function parsePlannedViewReplicas(value: string): Record<string, number> {
  return parsePlannedCounts(
    value,
    envVars.plannedViewReplicas,
    'replicas',
    PlannedViewReplicaCount,
    VIEW_REPLICA_COUNT_RULE,
  );
}

function parsePlannedCounts(
  value: string,
  variable: string,
  what: string,
  schema: typeof PlannedShardCount,
  rule: string,
): Record<string, number> {
  if (value === '') return {};
  let raw: unknown;
  try {
    raw = JSON.parse(value);
  } catch {
    throw new PlannedShardsError('not JSON', variable);
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw new PlannedShardsError(`not an object of SKU → ${what}`, variable);
  }
  const planned: Record<string, number> = {};
  for (const [sku, count] of Object.entries(raw)) {
    if (!SKU_PATTERN.test(sku)) throw new PlannedShardsError(`${sku} is not a SKU (${SKU_RULE})`, variable);
    const parsed = schema.safeParse(count);
    if (!parsed.success) throw new PlannedShardsError(`${sku}: ${rule}`, variable);
    planned[sku] = parsed.data;
  }
  return planned;
}
