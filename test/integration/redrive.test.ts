/**
 * Recovering a lost stream range with the operator's redrive, on a copy of
 * the app's assembly whose table stream has no mapping to the relay: nothing
 * consumes the stream, so every order and every stock change this file makes
 * through the API is exactly what a lost range would leave behind: committed
 * in DynamoDB, never relayed. The orders queue's mapping is disabled (as an
 * operator pauses fulfilment), so what the redrive sends stays queued to be
 * counted; fulfilment then runs the assembly's own function on that queue, as
 * its mapping would. The channel queues, their subscriptions and mappings and
 * the applier are the assembly's as they deploy; each channel's filter policy
 * also feeds a queue of the test's own on the topic, to see what it is sent.
 *
 * The redrive (the assembly's function, invoked as an operator does) must send
 * every PLACED order once more and a snapshot per SKU that matches the ledger;
 * fulfilment of what it sent must dispatch each order once (orders sent twice
 * within SQS's dedup window are queued once); a second redrive after
 * fulfilment must send no order; a dry run and a refused request must send
 * nothing.
 */
import { randomUUID } from 'node:crypto';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SNSClient, SubscribeCommand } from '@aws-sdk/client-sns';
import {
  ChangeMessageVisibilityCommand,
  CreateQueueCommand,
  DeleteMessageCommand,
  GetQueueAttributesCommand,
  type Message,
  PurgeQueueCommand,
  ReceiveMessageCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import { DynamoDBDocumentClient, GetCommand } from '@aws-sdk/lib-dynamodb';
import type { SQSBatchResponse } from 'aws-lambda';
import { channels } from '../../contract/topology';
import { ApiClient } from '../../local/api-client';
import { type RunningEventSource, startSqsEventSource } from '../../local/event-sources/sqs';
import { eventually } from '../support/eventually';
import { type AssemblyTemplate, type AssemblyTestStack, resourceNamed, startTestStack } from '../support/local-stack';

interface ChannelsView {
  readonly version: number;
  readonly available: number;
  readonly channels: { channel: string; version: number | null; available: number | null; synced: boolean }[];
}

let stack: AssemblyTestStack;
let api: ApiClient;
let sqs: SQSClient;
let sns: SNSClient;
let documentClient: DynamoDBDocumentClient;
let ordersQueue: { url: string; arn: string };
/** Per channel, a queue of the test's own on the inventory topic with the channel's filter policy. */
const taps = new Map<string, string>();
const placed = new Map<string, string[]>();
const SKUS = ['REDRIVE-A', 'REDRIVE-B'];

/**
 * The app's assembly after a lost stream range: the relay's mapping on the table's stream removed, the
 * orders queue's mapping disabled until the test fulfils what the redrive sends.
 */
function lostStreamRange(templates: Readonly<Record<string, AssemblyTemplate>>): void {
  const stateless = templates['Dropline-Stateless'];
  if (!stateless) throw new Error('the assembly holds no Dropline-Stateless stack');
  const edited = { stream: 0, orders: 0 };
  for (const [id, resource] of Object.entries(stateless.Resources)) {
    if (resource.Type !== 'AWS::Lambda::EventSourceMapping') continue;
    const source = JSON.stringify(resource.Properties?.EventSourceArn);
    if (/StreamArn/.test(source)) {
      delete stateless.Resources[id];
      edited.stream++;
    } else if (/OrdersQueue/.test(source)) {
      (resource.Properties as Record<string, unknown>).Enabled = false;
      edited.orders++;
    }
  }
  if (edited.stream !== 1 || edited.orders !== 1) {
    throw new Error(`the edit no longer applies to the app: ${JSON.stringify(edited)} mappings edited`);
  }
}

beforeAll(async () => {
  stack = await startTestStack({ edit: lostStreamRange });
  api = new ApiClient(stack.url, stack.adminKey);
  sqs = new SQSClient({ endpoint: stack.endpoints.sqs });
  sns = new SNSClient({ endpoint: stack.endpoints.sns });
  documentClient = DynamoDBDocumentClient.from(new DynamoDBClient({ endpoint: stack.endpoints.dynamodb }));
  const orders = resourceNamed(stack, 'AWS::SQS::Queue', 'OrdersQueue');
  ordersQueue = { url: orders.ref, arn: orders.attributes.Arn as string };
  // The queue's name is the app's: what an earlier file on the run's fauxqs left on it is not this file's.
  await sqs.send(new PurgeQueueCommand({ QueueUrl: ordersQueue.url }));
  const topics = stack.resources('AWS::SNS::Topic').filter((topic) => topic.ref.endsWith('.fifo'));
  expect(topics).toHaveLength(1);
  for (const channel of channels) taps.set(channel.name, await tap(topics[0]?.ref as string, channel.filterPolicy));

  // Orders committed while the stream "was lost": 8 on one SKU, 2 on another, plus a hold never paid for.
  for (const [sku, count] of [
    ['REDRIVE-A', 8],
    ['REDRIVE-B', 2],
  ] as const) {
    const created = await api.putProduct(sku, {
      name: sku,
      priceCents: 500,
      stock: 20,
      shards: 4,
      maxPerCustomer: 1,
      holdSeconds: 600,
    });
    expect(created.status).toBe(201);
    const orderIds: string[] = [];
    for (let index = 0; index < count; index++) {
      const hold = await api.reserve(sku, `${sku}-customer-${index}`, 1, `${sku}-key-${index}`);
      expect(hold.status).toBe(201);
      const paid = await api.call('POST', `/reservations/${hold.body.reservationId}/checkout`, {
        body: { paymentToken: 'tok_ok' },
      });
      expect(paid.status).toBe(201);
      orderIds.push(paid.body.orderId as string);
    }
    placed.set(sku, orderIds);
  }
  expect((await api.reserve('REDRIVE-A', 'holder', 1, 'REDRIVE-A-held')).status).toBe(201);
}, 300_000);

afterAll(async () => {
  sqs?.destroy();
  sns?.destroy();
  documentClient?.destroy();
  await api?.close();
  await stack?.stop();
});

/** A FIFO queue of the test's own on the topic, filtered as a channel's subscription is: what that channel is sent. */
async function tap(topicArn: string, filterPolicy: Readonly<Record<string, readonly string[]>>): Promise<string> {
  const { QueueUrl } = await sqs.send(
    new CreateQueueCommand({ QueueName: `redrive-tap-${randomUUID()}.fifo`, Attributes: { FifoQueue: 'true' } }),
  );
  const { Attributes } = await sqs.send(new GetQueueAttributesCommand({ QueueUrl, AttributeNames: ['QueueArn'] }));
  await sns.send(
    new SubscribeCommand({
      TopicArn: topicArn,
      Protocol: 'sqs',
      Endpoint: Attributes?.QueueArn,
      Attributes: { RawMessageDelivery: 'true', FilterPolicy: JSON.stringify(filterPolicy) },
    }),
  );
  return QueueUrl as string;
}

/** Everything on a queue now, deleted as it is read. */
async function drain(queueUrl: string): Promise<Message[]> {
  const received: Message[] = [];
  for (let empty = 0; empty < 2; ) {
    const { Messages = [] } = await sqs.send(
      new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 1 }),
    );
    empty = Messages.length === 0 ? empty + 1 : 0;
    for (const message of Messages) {
      received.push(message);
      await sqs.send(new DeleteMessageCommand({ QueueUrl: queueUrl, ReceiptHandle: message.ReceiptHandle }));
    }
  }
  return received;
}

/** What a queue holds now, left on it (visible again at once) for its consumer. */
async function peek(queueUrl: string): Promise<Message[]> {
  const { Messages = [] } = await sqs.send(
    new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 1 }),
  );
  for (const message of Messages) {
    await sqs.send(
      new ChangeMessageVisibilityCommand({
        QueueUrl: queueUrl,
        ReceiptHandle: message.ReceiptHandle,
        VisibilityTimeout: 0,
      }),
    );
  }
  return Messages;
}

const bodies = (messages: Message[]) => messages.map((message) => JSON.parse(message.Body as string));

/** Every snapshot each channel has been sent in this file, in order (a repeated version is deduplicated by SNS). */
const snapshotsSeen = new Map<string, Array<Record<string, unknown>>>(channels.map(({ name }) => [name, []]));

async function drainSnapshots(): Promise<Array<Record<string, unknown>>> {
  const fresh: Array<Record<string, unknown>> = [];
  for (const [channel, url] of taps) {
    const received = bodies(await drain(url));
    snapshotsSeen.get(channel)?.push(...received);
    if (channel === 'storefront') fresh.push(...received);
  }
  return fresh;
}

const redrive = (request: unknown) => stack.invoke('RedriveOutbox', request) as Promise<Record<string, unknown>>;
const channelsOf = async (sku: string) =>
  (await api.call<ChannelsView>('GET', `/admin/products/${sku}/channels`, { admin: true })).body;

test('a dry run counts what it would send and sends nothing', async () => {
  const result = await redrive({ dryRun: true });
  expect(result).toMatchObject({ dryRun: true, orders: 10, snapshots: 2 });
  expect(await drain(ordersQueue.url)).toEqual([]);
  expect(await drainSnapshots()).toEqual([]);
  for (const channel of snapshotsSeen.values()) expect(channel).toEqual([]);
  // Nothing relayed the stream: the products' creation and every hold reached no channel of the assembly.
  for (const sku of SKUS)
    expect((await channelsOf(sku)).channels.map(({ version }) => version)).toEqual([null, null, null]);
});

test('refuses a malformed request, naming the field, and sends nothing', async () => {
  await expect(redrive({ skus: ['../etc'] })).rejects.toThrow(/skus\.0/);
  await expect(redrive({ skus: 'REDRIVE-A' })).rejects.toThrow(/not valid/);
  await expect(redrive({ everything: true })).rejects.toThrow(/not valid/);
  expect(await drain(ordersQueue.url)).toEqual([]);
  expect(await drainSnapshots()).toEqual([]);
});

test('narrowed to SKUs, sends only their orders and snapshots', async () => {
  const result = await redrive({ skus: ['REDRIVE-B'] });
  expect(result).toMatchObject({ dryRun: false, orders: 2, snapshots: 1 });
  // Left queued: a later redrive of the same orders within SQS's 5-minute dedup window adds no copy.
  const orders = bodies(await peek(ordersQueue.url));
  expect(orders.map((order) => order.orderId).sort()).toEqual([...(placed.get('REDRIVE-B') ?? [])].sort());
  const snapshots = await drainSnapshots();
  expect(snapshots.map((snapshot) => snapshot.sku)).toEqual(['REDRIVE-B']);
});

test('sends every PLACED order and a snapshot equal to each ledger; fulfilment dispatches each order once', async () => {
  const result = await redrive({});
  expect(result).toMatchObject({ orders: 10, snapshots: 2 });
  expect(result.scanned).toBeGreaterThan(10);
  // REDRIVE-B's two orders were still queued from the narrowed redrive: deduplicated, not queued twice.
  const { Attributes } = await sqs.send(
    new GetQueueAttributesCommand({ QueueUrl: ordersQueue.url, AttributeNames: ['ApproximateNumberOfMessages'] }),
  );
  expect(Attributes?.ApproximateNumberOfMessages).toBe('10');

  await drainSnapshots();
  for (const [channel, seen] of snapshotsSeen) {
    for (const sku of SKUS) {
      const ledger = await api.ledger(sku);
      const latest = seen.filter((snapshot) => snapshot.sku === sku).at(-1);
      expect([channel, latest]).toEqual([
        channel,
        expect.objectContaining({
          schema: 'dropline.inventory.stock.v1',
          supplied: ledger.supplied,
          available: ledger.available,
          held: ledger.held,
          sold: ledger.sold,
          reasons: [],
        }),
      ]);
    }
  }
  // And the assembly's own channel queues took them: every channel's view is the ledger's now.
  for (const sku of SKUS) {
    const ledger = await api.ledger(sku);
    await eventually(async () => {
      const view = await channelsOf(sku);
      expect(view.channels.map(({ channel, synced, available }) => [channel, synced, available])).toEqual(
        channels.map(({ name }) => [name, true, ledger.available]),
      );
    });
  }

  // Fulfilment: the assembly's function on the orders queue, polled as its (disabled) mapping polls it.
  const fulfilling: RunningEventSource = startSqsEventSource({
    name: 'fulfil-orders',
    endpoint: stack.endpoints.sqs,
    queueUrl: ordersQueue.url,
    queueArn: ordersQueue.arn,
    handler: async (event) => (await stack.invoke('FulfilOrders', event)) as SQSBatchResponse,
    batchSize: 10,
  });
  const allOrders = [...placed.values()].flat();
  try {
    await eventually(async () => {
      for (const orderId of allOrders) {
        const order = await api.call('GET', `/orders/${orderId}`);
        expect([orderId, order.status, order.body.status]).toEqual([orderId, 200, 'FULFILLED']);
      }
    });
  } finally {
    await fulfilling.stop();
  }
  for (const orderId of allOrders) {
    const { Item } = await documentClient.send(
      new GetCommand({ TableName: stack.tableName, Key: { pk: `DISPATCH#${orderId}` }, ConsistentRead: true }),
    );
    expect(Item).toMatchObject({ orderId });
  }

  const again = await redrive({});
  expect(again).toMatchObject({ orders: 0, snapshots: 2 });
  expect(await drain(ordersQueue.url)).toEqual([]);
}, 120_000);
