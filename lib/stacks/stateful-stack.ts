/**
 * What must survive a redeploy: the inventory table, the order queue, the
 * inventory topic, each channel's queue, every dead-letter queue and the
 * stream-failure queue. All retained on stack deletion (docs/deploy.md).
 */
import { Duration, RemovalPolicy, Stack, type StackProps, Tags, Validations } from 'aws-cdk-lib';
import {
  AttributeType,
  Billing,
  ProjectionType,
  StreamViewType,
  TableEncryptionV2,
  TableV2,
} from 'aws-cdk-lib/aws-dynamodb';
import { Alias } from 'aws-cdk-lib/aws-kms';
import { FifoThroughputScope, SubscriptionFilter, Topic } from 'aws-cdk-lib/aws-sns';
import { SqsSubscription } from 'aws-cdk-lib/aws-sns-subscriptions';
import { Queue, QueueEncryption } from 'aws-cdk-lib/aws-sqs';
import type { Construct } from 'constructs';
import { inventoryTable } from '../../contract/inventory-table';
import {
  channelQueue,
  channels,
  edgeStateFilterPolicy,
  edgeStateQueue,
  inventoryTopic,
  ordersQueue,
} from '../../contract/topology';
import type { Capacity } from '../config/capacity';
import { FifoQueueWithDlq, QUEUE_TAG } from '../constructs/fifo-queue';

export interface StatefulStackProps extends StackProps {
  readonly capacity: Capacity;
}

export class StatefulStack extends Stack {
  readonly table: TableV2;
  readonly orders: FifoQueueWithDlq;
  readonly inventoryTopic: Topic;
  /** Channel name → its queue. */
  readonly channelQueues: ReadonlyMap<string, FifoQueueWithDlq>;
  /** Where stream records the relay could not publish after every retry are described (replay from there). */
  readonly streamFailures: Queue;
  /** The edge-state writer's subscription to the inventory topic. */
  readonly edgeStateQueue: FifoQueueWithDlq;

  constructor(scope: Construct, id: string, props: StatefulStackProps) {
    super(scope, id, props);
    const spec = inventoryTable;
    this.table = new TableV2(this, 'Inventory', {
      partitionKey: { name: spec.partitionKey.name, type: AttributeType.STRING },
      billing: Billing.onDemand(),
      dynamoStream: StreamViewType[spec.stream],
      timeToLiveAttribute: spec.timeToLiveAttribute,
      globalSecondaryIndexes: [
        {
          indexName: spec.holdsByExpiryIndex.indexName,
          partitionKey: { name: spec.holdsByExpiryIndex.partitionKey.name, type: AttributeType.STRING },
          sortKey: { name: spec.holdsByExpiryIndex.sortKey.name, type: AttributeType.NUMBER },
          projectionType: ProjectionType[spec.holdsByExpiryIndex.projection],
        },
      ],
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      encryption: TableEncryptionV2.awsManagedKey(),
      deletionProtection: true,
      removalPolicy: RemovalPolicy.RETAIN,
      // Pre-warmed for the plan's peak, so the first second of a drop doesn't wait for partition splits.
      warmThroughput: {
        writeUnitsPerSecond: props.capacity.table.warmWritesPerSecond,
        readUnitsPerSecond: props.capacity.table.warmReadsPerSecond,
      },
    });

    Tags.of(this.table).add('dropline:table', 'inventory');
    // Queue names start with the stack's name: one set per stage, and within SQS's 80 characters.
    const namePrefix = this.stackName;
    this.orders = new FifoQueueWithDlq(this, 'Orders', { spec: ordersQueue, namePrefix });

    this.inventoryTopic = new Topic(this, 'InventoryEvents', {
      displayName: `dropline ${inventoryTopic.name}`,
      fifo: true,
      contentBasedDeduplication: false,
      // High-throughput FIFO topic: ordering and throughput are per message group (one per SKU).
      fifoThroughputScope: FifoThroughputScope.MESSAGE_GROUP,
      masterKey: Alias.fromAliasName(this, 'SnsManagedKey', 'alias/aws/sns'),
      enforceSSL: true,
    });
    this.inventoryTopic.applyRemovalPolicy(RemovalPolicy.RETAIN);
    Tags.of(this.inventoryTopic).add('dropline:topic', inventoryTopic.name);

    const queues = new Map<string, FifoQueueWithDlq>();
    for (const channel of channels) {
      const queue = new FifoQueueWithDlq(this, `Channel-${channel.name}`, { spec: channelQueue(channel), namePrefix });
      this.inventoryTopic.addSubscription(
        new SqsSubscription(queue.queue, {
          rawMessageDelivery: true,
          filterPolicy: Object.fromEntries(
            Object.entries(channel.filterPolicy).map(([attribute, values]) => [
              attribute,
              SubscriptionFilter.stringFilter({ allowlist: [...values] }),
            ]),
          ),
        }),
      );
      queues.set(channel.name, queue);
    }
    this.channelQueues = queues;

    this.edgeStateQueue = new FifoQueueWithDlq(this, 'EdgeState', { spec: edgeStateQueue, namePrefix });
    this.inventoryTopic.addSubscription(
      new SqsSubscription(this.edgeStateQueue.queue, {
        rawMessageDelivery: true,
        filterPolicy: {
          type: SubscriptionFilter.stringFilter({ allowlist: [...(edgeStateFilterPolicy.type ?? [])] }),
        },
      }),
    );

    this.streamFailures = new Queue(this, 'StreamFailures', {
      retentionPeriod: Duration.days(14),
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    // Where the stream mapping describes a batch it gave up on (the assembly's local runtime sends the same
    // description; the hand-wired one retries a failed batch in place).
    Tags.of(this.streamFailures).add(QUEUE_TAG, 'stream-failures');
    Validations.of(this.streamFailures).acknowledge({
      id: 'AwsSolutions-SQS3',
      reason: 'this queue is itself a dead-letter destination (failed stream batches of the outbox relay)',
    });
  }
}
