/**
 * Real-time sync: every stock change reaches every sales channel as a
 * versioned snapshot, through the SNS FIFO topic (one group per SKU) and each
 * channel's filtered queue; after a spike each view equals the ledger. The
 * assembly's stream mapping reads the one shard in lanes by partition key, as
 * Lambda reads a busy table's shards; with SNS calls held at random so
 * snapshots publish out of order, see channels-parallel-shards.test.ts.
 */
import { randomUUID } from 'node:crypto';
import {
  GetSubscriptionAttributesCommand,
  ListSubscriptionsByTopicCommand,
  SNSClient,
  SubscribeCommand,
} from '@aws-sdk/client-sns';
import {
  CreateQueueCommand,
  DeleteMessageBatchCommand,
  GetQueueAttributesCommand,
  ReceiveMessageCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import { INVENTORY_EVENT_TYPES } from '../../contract/event-types';
import { channels } from '../../contract/topology';
import { ApiClient } from '../../local/api-client';
import { eventually } from '../support/eventually';
import { type AssemblyTestStack, startTestStack } from '../support/local-stack';

let stack: AssemblyTestStack;
/** The inventory topic the assembly created (the FIFO one: the monitoring stack's alarm topic is not). */
let topicArn: string;
let api: ApiClient;
let sqs: SQSClient;
let sns: SNSClient;

beforeAll(async () => {
  stack = await startTestStack();
  const topics = stack.resources('AWS::SNS::Topic').filter((topic) => topic.ref.endsWith('.fifo'));
  expect(topics).toHaveLength(1);
  topicArn = topics[0]?.ref as string;
  api = new ApiClient(stack.url, stack.adminKey, 256);
  sqs = new SQSClient({ endpoint: stack.endpoints.sqs });
  sns = new SNSClient({ endpoint: stack.endpoints.sns });
});

afterAll(async () => {
  sqs.destroy();
  sns.destroy();
  await api.close();
  await stack.stop();
});

/** A FIFO queue of the test's own on the inventory topic, to watch what the channels are sent. */
async function tap(filterPolicy?: Record<string, string[]>) {
  const { QueueUrl } = await sqs.send(
    new CreateQueueCommand({ QueueName: `tap-${randomUUID()}.fifo`, Attributes: { FifoQueue: 'true' } }),
  );
  const url = QueueUrl as string;
  const { Attributes } = await sqs.send(new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ['QueueArn'] }));
  await sns.send(
    new SubscribeCommand({
      TopicArn: topicArn,
      Protocol: 'sqs',
      Endpoint: Attributes?.QueueArn,
      Attributes: {
        RawMessageDelivery: 'true',
        ...(filterPolicy ? { FilterPolicy: JSON.stringify(filterPolicy) } : {}),
      },
    }),
  );
  const received: Array<Record<string, never>> = [];
  return {
    drain: async () => {
      for (;;) {
        const { Messages = [] } = await sqs.send(
          new ReceiveMessageCommand({ QueueUrl: url, MaxNumberOfMessages: 10, WaitTimeSeconds: 0 }),
        );
        if (Messages.length === 0) return received;
        received.push(...Messages.map((message) => JSON.parse(message.Body ?? '{}')));
        await sqs.send(
          new DeleteMessageBatchCommand({
            QueueUrl: url,
            Entries: Messages.map((message, index) => ({
              Id: String(index),
              ReceiptHandle: message.ReceiptHandle as string,
            })),
          }),
        );
      }
    },
  };
}

test('after a spike of holds, releases, checkouts and a restock, every channel view equals the ledger, and the newest snapshot the topic sent is the ledger state', async () => {
  // Every stock event, as a channel is sent them (the topic also carries drop-state changes, for the edge).
  const everything = await tap({ type: [...INVENTORY_EVENT_TYPES] });
  const skus = ['sync-alpha', 'sync-beta'];
  for (const sku of skus) {
    await api.putProduct(sku, {
      name: sku,
      priceCents: 100,
      stock: 80,
      shards: 4,
      maxPerCustomer: 2,
      holdSeconds: 600,
    });
  }

  const holds = await Promise.all(
    Array.from({ length: 300 }, async (_, index) => {
      const sku = skus[index % 2] as string;
      const response = await api.reserve(sku, `sync-${index}`, 1 + (index % 2), `sync-key-${index}`);
      return response.status === 201 ? (response.body.reservationId as string) : undefined;
    }),
  );
  const held = holds.filter((id): id is string => id !== undefined);
  await Promise.all([
    ...held.slice(0, 20).map((id) => api.call('DELETE', `/reservations/${id}`)),
    ...held
      .slice(20, 50)
      .map((id) => api.call('POST', `/reservations/${id}/checkout`, { body: { paymentToken: 'tok_ok' } })),
    api.call('POST', `/admin/products/${skus[0]}/restock`, {
      body: { quantity: 25 },
      headers: { 'idempotency-key': 'channels-restock' },
      admin: true,
    }),
  ]);

  for (const sku of skus) {
    const ledger = await api.ledger(sku);
    const synced = await eventually(async () => {
      const { body } = await api.call('GET', `/admin/products/${sku}/channels`, { admin: true });
      expect(body.channels).toHaveLength(channels.length);
      for (const channel of body.channels) {
        expect(channel).toMatchObject({ synced: true, available: ledger.available, versionsBehind: 0 });
      }
      return body;
    });
    expect(synced.available).toBe(ledger.available);
    await eventually(async () =>
      expect((await api.call('GET', `/products/${sku}`)).body).toMatchObject({ available: ledger.available }),
    );
  }

  // What the topic sent, per SKU: each version once, the newest of them the ledger's state. Not necessarily in
  // version order: the relay and the sweeper's reconciliation both publish, and a snapshot folded earlier can be
  // published later (docs/events.md: convergence is guaranteed, arrival order is not; the views above only
  // ever move forward because a channel applies newer versions only).
  const sent = await everything.drain();
  for (const sku of skus) {
    const events = sent.filter((event) => event.sku === sku) as unknown as Array<{
      version: number;
      available: number;
    }>;
    const versions = events.map((event) => Number(event.version));
    expect(versions.length).toBeGreaterThan(1);
    expect(new Set(versions).size).toBe(versions.length);
    const newest = events.reduce((a, b) => (Number(b.version) > Number(a.version) ? b : a));
    expect(newest.available).toBe((await api.ledger(sku)).available);
  }
  // Coalesced: far fewer snapshots than the stock changes they summarise.
  expect(sent.length).toBeLessThan(held.length + 50);
});

test('each channel queue is subscribed with its filter policy, and filter policies are honoured', async () => {
  const soldOutOnly = await tap({ type: ['sold-out'] });
  const sku = 'sync-filter';
  await api.putProduct(sku, { name: sku, priceCents: 100, stock: 3, shards: 1, maxPerCustomer: 3, holdSeconds: 600 });
  await api.reserve(sku, 'filter-1', 1, 'filter-key-1');
  await api.reserve(sku, 'filter-2', 2, 'filter-key-2');

  const received = await eventually(async () => {
    const events = (await soldOutOnly.drain()).filter((event) => event.sku === sku);
    expect(events.length).toBeGreaterThan(0);
    return events;
  });
  expect(received.every((event) => event.type === 'sold-out')).toBe(true);

  const { Subscriptions = [] } = await sns.send(new ListSubscriptionsByTopicCommand({ TopicArn: topicArn }));
  for (const channel of channels) {
    const subscription = Subscriptions.find((candidate) =>
      candidate.Endpoint?.endsWith(`-channel-${channel.name}.fifo`),
    );
    const { Attributes } = await sns.send(
      new GetSubscriptionAttributesCommand({ SubscriptionArn: subscription?.SubscriptionArn }),
    );
    expect(JSON.parse(Attributes?.FilterPolicy ?? '{}')).toEqual(channel.filterPolicy);
  }
});
