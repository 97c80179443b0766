/**
 * Queues, the inventory topic, its subscriptions and the event source
 * mappings, described once. The CDK stack and the local runtime both build
 * from this description.
 */
import { DROP_STATE_EVENT_TYPE } from './drops';
import { envVars } from './env-vars';
import { INVENTORY_EVENT_TYPES } from './event-types';

export type ConsumerHandler = 'fulfil-orders' | 'apply-channel-events' | 'publish-edge-state';

export interface QueueSpec {
  /** Logical name; the physical name is `<prefix>-<name>.fifo`. */
  readonly name: string;
  /** Six times its consumer's function timeout (see `consumerTimeoutSeconds`). */
  readonly visibilityTimeoutSeconds: number;
  /** Deliveries before a message moves to the queue's dead-letter queue `<name>-dlq`. */
  readonly maxReceiveCount: number;
}

export interface ChannelSpec {
  /** Sales channel (and its queue) name. */
  readonly name: string;
  readonly description: string;
  /** SNS filter policy on message attributes: the event types this channel consumes. */
  readonly filterPolicy: Readonly<Record<string, readonly string[]>>;
}

export interface EventSourceMapping {
  readonly queue: string;
  readonly handler: ConsumerHandler;
  /** FIFO queues: at most 10, no batching window. */
  readonly batchSize: number;
  /**
   * Most concurrent invocations this mapping may start (`ScalingConfig.MaximumConcurrency`, 2–1,000:
   * "Configuring scaling behavior for SQS event source mappings",
   * https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-scaling.html). Unset: as many as
   * the queue's message groups allow.
   */
  readonly maxConcurrency?: number;
}

/**
 * Each queue consumer's function timeout. Its queue's visibility timeout is six times that, as
 * AWS asks of an SQS event source: "set the source queue's visibility timeout to at least six
 * times the configuration timeout on your function", leaving Lambda time to retry a batch that
 * was throttled ("Creating and configuring an Amazon SQS event source mapping",
 * https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-configure.html). Below that, throttled
 * receives count towards `maxReceiveCount` and good messages reach the dead-letter queue.
 */
export const consumerTimeoutSeconds: Readonly<Record<ConsumerHandler, number>> = {
  'fulfil-orders': 30,
  'apply-channel-events': 20,
  'publish-edge-state': 20,
};

export const VISIBILITY_TIMEOUT_PER_FUNCTION_TIMEOUT = 6;

const visibilityFor = (handler: ConsumerHandler) =>
  VISIBILITY_TIMEOUT_PER_FUNCTION_TIMEOUT * consumerTimeoutSeconds[handler];

export const ordersQueue: QueueSpec = {
  name: 'orders',
  visibilityTimeoutSeconds: visibilityFor('fulfil-orders'),
  maxReceiveCount: 5,
};

export const channels: readonly ChannelSpec[] = [
  {
    name: 'warehouse',
    description: 'pick-and-pack stock levels',
    filterPolicy: { type: [...INVENTORY_EVENT_TYPES] },
  },
  {
    name: 'marketplace',
    description: 'third-party marketplace listings',
    filterPolicy: { type: [...INVENTORY_EVENT_TYPES] },
  },
  {
    name: 'storefront',
    description: 'the read model behind GET /products/{sku} (what CloudFront caches)',
    filterPolicy: { type: [...INVENTORY_EVENT_TYPES] },
  },
];

export const channelQueue = (channel: ChannelSpec): QueueSpec => ({
  name: `channel-${channel.name}`,
  visibilityTimeoutSeconds: visibilityFor('apply-channel-events'),
  maxReceiveCount: 5,
});

export const inventoryTopic = { name: 'inventory-events' } as const;

/**
 * The edge's subscription: every stock snapshot and drop-state change, in order per SKU, for the writer that
 * keeps each drop's public state in CloudFront's KeyValueStore (`contract/drops.ts`, `edge/admission.js`).
 */
export const edgeStateQueue: QueueSpec = {
  name: 'edge-state',
  visibilityTimeoutSeconds: visibilityFor('publish-edge-state'),
  maxReceiveCount: 5,
};
export const edgeStateFilterPolicy: Readonly<Record<string, readonly string[]>> = {
  type: [...INVENTORY_EVENT_TYPES, DROP_STATE_EVENT_TYPE],
};

/** Every queue the stack makes (each with its dead-letter queue): orders, each channel's, the edge's. */
export const allQueues: readonly QueueSpec[] = [ordersQueue, ...channels.map(channelQueue), edgeStateQueue];

/** The inventory topic's subscriptions: each channel's queue and the edge's. */
export const topicSubscriptions: ReadonlyArray<{
  readonly queue: QueueSpec;
  readonly filterPolicy: Readonly<Record<string, readonly string[]>>;
}> = [
  ...channels.map((channel) => ({ queue: channelQueue(channel), filterPolicy: channel.filterPolicy })),
  { queue: edgeStateQueue, filterPolicy: edgeStateFilterPolicy },
];

export const eventSourceMappings: readonly EventSourceMapping[] = [
  // Fulfilment can wait; the drop path (holds, checkouts) shares the account's concurrency with it.
  { queue: ordersQueue.name, handler: 'fulfil-orders', batchSize: 10, maxConcurrency: 10 },
  ...channels.map((channel) => ({
    queue: channelQueue(channel).name,
    handler: 'apply-channel-events' as const,
    batchSize: 10,
  })),
  { queue: edgeStateQueue.name, handler: 'publish-edge-state', batchSize: 10 },
];

/**
 * The outbox relay's stream mapping. Only writes of stock shards, orders and products (a drop-state change)
 * invoke it: idempotency, limit, refund, charge and snapshot writes are
 * filtered out before Lambda is called (DynamoDB event source mappings filter
 * on the record's `dynamodb` key only: "Using event filtering with a DynamoDB
 * event source", https://docs.aws.amazon.com/lambda/latest/dg/with-ddb-filtering.html).
 * A batch that keeps failing is split in two until the bad record is alone,
 * retried a bounded number of times, and a record older than an hour goes to
 * the stream-failure queue rather than holding its shard back
 * (MaximumRecordAgeInSeconds and MaximumRetryAttempts: "Lambda parameters for
 * Amazon DynamoDB event source mappings",
 * https://docs.aws.amazon.com/lambda/latest/dg/services-ddb-params.html).
 * The operator's redrive rebuilds what such a record carried.
 */
export const streamConsumer = {
  handler: 'publish-changes',
  batchSize: 100,
  filterPattern: { dynamodb: { NewImage: { kind: { S: ['stock', 'order', 'product'] } } } },
  retryAttempts: 20,
  maxRecordAgeSeconds: 3600,
} as const;

/**
 * SQS's limit on a queue name, the `.fifo` suffix included ("Amazon SQS FIFO queue quotas",
 * https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/quotas-fifo.html).
 * CloudFormation does not shorten a FIFO queue name it generates, so every queue is named here.
 */
export const MAX_QUEUE_NAME_LENGTH = 80;

export class QueueNameError extends Error {
  constructor(name: string) {
    super(`queue name ${name} has ${name.length} characters; SQS allows ${MAX_QUEUE_NAME_LENGTH}`);
    this.name = 'QueueNameError';
  }
}

export const fifoName = (prefix: string, name: string) => {
  const fifo = `${prefix}-${name}.fifo`;
  if (fifo.length > MAX_QUEUE_NAME_LENGTH) throw new QueueNameError(fifo);
  return fifo;
};
export const dlqName = (name: string) => `${name}-dlq`;

/**
 * How the channel applier learns which channel a queue feeds: `CHANNEL_QUEUE_ARNS` holds a JSON
 * object of channel name → queue ARN, set by whoever wires the function (the CDK stack, the local
 * runtime). Queue names differ between the two and are never read for it.
 */
export class ChannelQueuesError extends Error {
  constructor(detail: string) {
    super(`${envVars.channelQueueArns} is not valid: ${detail}`);
    this.name = 'ChannelQueuesError';
  }
}

/** Queue ARN → channel, from the variable's JSON; refuses unknown channels and anything but strings. */
export function channelsByQueueArn(json: string): ReadonlyMap<string, string> {
  let raw: unknown;
  try {
    raw = JSON.parse(json);
  } catch {
    throw new ChannelQueuesError('not JSON');
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new ChannelQueuesError('not an object');
  const byArn = new Map<string, string>();
  for (const [channel, arns] of Object.entries(raw)) {
    if (!channels.some((known) => known.name === channel)) throw new ChannelQueuesError(`unknown channel ${channel}`);
    for (const arn of [arns].flat()) {
      if (typeof arn !== 'string' || arn === '') throw new ChannelQueuesError(`${channel} has no queue ARN`);
      byArn.set(arn, channel);
    }
  }
  return byArn;
}
