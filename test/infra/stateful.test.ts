import { Match } from 'aws-cdk-lib/assertions';
import { DROP_STATE_EVENT_TYPE } from '../../contract/drops';
import { INVENTORY_EVENT_TYPES } from '../../contract/event-types';
import { allQueues, channels, edgeStateQueue, ordersQueue } from '../../contract/topology';
import { QUEUE_TAG } from '../../lib/constructs/fifo-queue';
import { resourcesOf, type Synthesized, synthesize } from './synth';

let synth: Synthesized;
beforeAll(() => {
  synth = synthesize();
});

describe('the inventory table', () => {
  it('streams old and new images to the outbox relay and keeps point-in-time recovery', () => {
    synth.stateful.hasResourceProperties('AWS::DynamoDB::GlobalTable', {
      KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }],
      BillingMode: 'PAY_PER_REQUEST',
      StreamSpecification: { StreamViewType: 'NEW_AND_OLD_IMAGES' },
      TimeToLiveSpecification: { AttributeName: 'ttl', Enabled: true },
      Replicas: [
        Match.objectLike({
          PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
          DeletionProtectionEnabled: true,
        }),
      ],
    });
  });

  it('is encrypted with a KMS key', () => {
    synth.stateful.hasResourceProperties('AWS::DynamoDB::GlobalTable', {
      SSESpecification: { SSEEnabled: true, SSEType: 'KMS' },
    });
  });

  it('indexes held reservations by lane and expiry, keys only', () => {
    synth.stateful.hasResourceProperties('AWS::DynamoDB::GlobalTable', {
      GlobalSecondaryIndexes: [
        {
          IndexName: 'holdsByExpiry',
          KeySchema: [
            { AttributeName: 'holdLane', KeyType: 'HASH' },
            { AttributeName: 'holdExpiresAt', KeyType: 'RANGE' },
          ],
          Projection: { ProjectionType: 'KEYS_ONLY' },
        },
      ],
    });
  });

  it("is pre-warmed for what the plan's shards can write, within the table maximum (lib/config/capacity.ts)", () => {
    synth.stateful.hasResourceProperties('AWS::DynamoDB::GlobalTable', {
      WarmThroughput: { WriteUnitsPerSecond: 34_677, ReadUnitsPerSecond: 12_000 },
    });
  });

  it('is retained when the stack is deleted', () => {
    synth.stateful.hasResource('AWS::DynamoDB::GlobalTable', { DeletionPolicy: 'Retain' });
  });
});

describe('queues', () => {
  const queues = () => Object.values(resourcesOf(synth.stateful, 'AWS::SQS::Queue'));

  it('gives the order queue and every channel queue a FIFO dead-letter queue', () => {
    const withRedrive = queues().filter((queue) => queue.Properties.RedrivePolicy);
    expect(withRedrive).toHaveLength(allQueues.length);
    for (const queue of withRedrive) {
      expect(queue.Properties).toMatchObject({
        FifoQueue: true,
        ContentBasedDeduplication: false,
        RedrivePolicy: { maxReceiveCount: ordersQueue.maxReceiveCount },
      });
    }
    const fifoDlqs = queues().filter((queue) => queue.Properties.FifoQueue && !queue.Properties.RedrivePolicy);
    expect(fifoDlqs).toHaveLength(allQueues.length);
  });

  it('runs the FIFO queues in high-throughput mode', () => {
    synth.stateful.hasResourceProperties('AWS::SQS::Queue', {
      VisibilityTimeout: ordersQueue.visibilityTimeoutSeconds,
      DeduplicationScope: 'messageGroup',
      FifoThroughputLimit: 'perMessageGroupId',
    });
  });

  it('encrypts every queue at rest and refuses plain HTTP', () => {
    for (const queue of queues()) expect(queue.Properties.SqsManagedSseEnabled).toBe(true);
    const policies = Object.values(resourcesOf(synth.stateful, 'AWS::SQS::QueuePolicy'));
    const denied = policies.flatMap((policy) =>
      (policy.Properties.PolicyDocument as { Statement: Array<Record<string, unknown>> }).Statement.filter(
        (statement) => statement.Effect === 'Deny',
      ),
    );
    expect(denied.length).toBe(queues().length);
    for (const statement of denied) {
      expect(statement.Condition).toEqual({ Bool: { 'aws:SecureTransport': 'false' } });
    }
  });
});

describe('the inventory topic', () => {
  it('is a FIFO topic, ordered and throttled per SKU message group, under KMS', () => {
    synth.stateful.hasResourceProperties('AWS::SNS::Topic', {
      FifoTopic: true,
      ContentBasedDeduplication: false,
      FifoThroughputScope: 'MessageGroup',
      KmsMasterKeyId: Match.anyValue(),
    });
  });

  it('feeds each channel queue with raw stock messages, and the edge queue with drop-state changes too', () => {
    const subscriptions = Object.values(resourcesOf(synth.stateful, 'AWS::SNS::Subscription'));
    expect(subscriptions).toHaveLength(channels.length + 1);
    const queues = resourcesOf(synth.stateful, 'AWS::SQS::Queue');
    for (const subscription of subscriptions) {
      const queue = queues[(subscription.Properties.Endpoint as { 'Fn::GetAtt': [string] })['Fn::GetAtt'][0]];
      const tags = (queue?.Properties.Tags ?? []) as Array<{ Key: string; Value: string }>;
      const edge = tags.some((tag) => tag.Key === QUEUE_TAG && tag.Value === edgeStateQueue.name);
      expect(subscription.Properties).toMatchObject({
        Protocol: 'sqs',
        RawMessageDelivery: true,
        FilterPolicy: { type: edge ? [...INVENTORY_EVENT_TYPES, DROP_STATE_EVENT_TYPE] : [...INVENTORY_EVENT_TYPES] },
      });
    }
  });
});
