/**
 * Queues, the inventory topic, its subscriptions and the event source
 * mappings, described once. The CDK stack and the local runtime both build
 * from this description.
 */
export type ConsumerHandler = 'fulfil-orders' | 'apply-channel-events';

export interface QueueSpec {
  /** Logical name; the physical name is `<prefix>-<name>.fifo`. */
  readonly name: string;
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
}

export const INVENTORY_EVENT_TYPES = ['stock-changed', 'low-stock', 'sold-out'] as const;

export const ordersQueue: QueueSpec = { name: 'orders', visibilityTimeoutSeconds: 60, maxReceiveCount: 5 };

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
  visibilityTimeoutSeconds: 30,
  maxReceiveCount: 5,
});

export const inventoryTopic = { name: 'inventory-events' } as const;

export const eventSourceMappings: readonly EventSourceMapping[] = [
  { queue: ordersQueue.name, handler: 'fulfil-orders', batchSize: 10 },
  ...channels.map((channel) => ({
    queue: channelQueue(channel).name,
    handler: 'apply-channel-events' as const,
    batchSize: 10,
  })),
];

/** The table's stream feeds this function (the transactional outbox's relay). */
export const streamConsumer = { handler: 'publish-changes', batchSize: 100 } as const;

export const fifoName = (prefix: string, name: string) => `${prefix}-${name}.fifo`;
export const dlqName = (name: string) => `${name}-dlq`;

/** The channel a queue belongs to, from its physical name or ARN; undefined for other queues. */
export function channelOfQueue(queueNameOrArn: string): string | undefined {
  const name = queueNameOrArn.split(':').at(-1) ?? '';
  return channels.find((channel) => name.endsWith(`-${channelQueue(channel).name}.fifo`))?.name;
}
