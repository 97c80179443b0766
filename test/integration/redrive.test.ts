/**
 * Recovering a lost stream range with the operator's redrive. Here the table
 * and the messaging are provisioned but nothing consumes the stream — so
 * every order and every stock change of this file is exactly what a lost
 * range would leave behind: committed in DynamoDB, never relayed.
 *
 * The redrive must send every PLACED order once more and a snapshot per SKU
 * that matches the ledger; fulfilment of what it sent must dispatch each
 * order once (orders sent twice within SQS's dedup window are queued once); a second redrive after fulfilment must send no order; a dry run
 * and a refused request must send nothing.
 */
import { randomBytes } from 'node:crypto';
import {
  ChangeMessageVisibilityCommand,
  DeleteMessageCommand,
  GetQueueAttributesCommand,
  type Message,
  ReceiveMessageCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { type RunningEventSource, type SqsHandler, startSqsEventSource } from '../../local/event-sources/sqs';
import type { LocalMessaging } from '../../local/provision-messaging';
import { provisionLocalResources } from '../../local/stack';
import { eventually } from '../support/eventually';

type Shared = {
  inventory: typeof import('../../lambdas/shared/composition').inventory;
  store: typeof import('../../lambdas/shared/composition').store;
  orders: typeof import('../../lambdas/shared/composition').orders;
  documentClient: typeof import('../../lambdas/shared/composition').documentClient;
  redriveOutbox: typeof import('../../lambdas/handlers/redrive-outbox').redriveOutbox;
};

const endpoints = {
  dynamodb: process.env.DROPLINE_TEST_DYNAMODB_ENDPOINT as string,
  sqs: process.env.DROPLINE_TEST_SQS_ENDPOINT as string,
  sns: process.env.DROPLINE_TEST_SNS_ENDPOINT as string,
};
const tableName = `dropline-redrive-${randomBytes(6).toString('hex')}`;
const sqs = new SQSClient({ endpoint: endpoints.sqs });
let messaging: LocalMessaging;
let shared: Shared;
const placed = new Map<string, string[]>();
const environment = { ...process.env };

beforeAll(async () => {
  // The local stack's resources without the stack: nothing here consumes the stream.
  messaging = await provisionLocalResources(endpoints, tableName);
  const { inventory, store, orders, documentClient } = await import('../../lambdas/shared/composition');
  const { redriveOutbox } = await import('../../lambdas/handlers/redrive-outbox');
  shared = { inventory, store, orders, documentClient, redriveOutbox };

  // Orders committed while the stream "was lost": 8 on one SKU, 2 on another, plus a hold never paid for.
  for (const [sku, count] of [
    ['REDRIVE-A', 8],
    ['REDRIVE-B', 2],
  ] as const) {
    await inventory.upsertProduct({ sku, name: sku, priceCents: 500, stock: 20, shards: 4, maxPerCustomer: 1 });
    const orderIds: string[] = [];
    for (let index = 0; index < count; index++) {
      const { reservation } = await inventory.reserve({
        sku,
        customerId: `${sku}-customer-${index}`,
        quantity: 1,
        idempotencyKey: `${sku}-key-${index}`,
      });
      const { order } = await orders.checkout(reservation.reservationId, 'tok_ok');
      orderIds.push(order.orderId);
    }
    placed.set(sku, orderIds);
  }
  await inventory.reserve({ sku: 'REDRIVE-A', customerId: 'holder', quantity: 1, idempotencyKey: 'REDRIVE-A-held' });
}, 60_000);

afterAll(() => {
  sqs.destroy();
  // Test files share one process: leave the environment as this file found it.
  for (const name of Object.keys(process.env)) if (!(name in environment)) delete process.env[name];
  Object.assign(process.env, environment);
});

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

const channelNames = ['warehouse', 'marketplace', 'storefront'];
/** Every snapshot each channel has received in this file, in order (a repeated version is deduplicated by SNS). */
const snapshotsSeen = new Map<string, Array<Record<string, unknown>>>(channelNames.map((name) => [name, []]));

async function drainSnapshots(): Promise<Array<Record<string, unknown>>> {
  const fresh: Array<Record<string, unknown>> = [];
  for (const channel of channelNames) {
    const received = bodies(await drain(messaging.queueUrls[`channel-${channel}`] as string));
    snapshotsSeen.get(channel)?.push(...received);
    if (channel === 'storefront') fresh.push(...received);
  }
  return fresh;
}

test('a dry run counts what it would send and sends nothing', async () => {
  const result = await shared.redriveOutbox({ dryRun: true });
  expect(result).toMatchObject({ dryRun: true, orders: 10, snapshots: 2 });
  expect(await drain(messaging.queueUrls.orders as string)).toEqual([]);
  expect(await drainSnapshots()).toEqual([]);
});

test('refuses a malformed request, naming the field, and sends nothing', async () => {
  await expect(shared.redriveOutbox({ skus: ['../etc'] })).rejects.toThrow(/skus\.0/);
  await expect(shared.redriveOutbox({ skus: 'REDRIVE-A' })).rejects.toThrow(/not valid/);
  await expect(shared.redriveOutbox({ everything: true })).rejects.toThrow(/not valid/);
  expect(await drain(messaging.queueUrls.orders as string)).toEqual([]);
});

test('narrowed to SKUs, sends only their orders and snapshots', async () => {
  const result = await shared.redriveOutbox({ skus: ['REDRIVE-B'] });
  expect(result).toMatchObject({ dryRun: false, orders: 2, snapshots: 1 });
  // Left queued: a later redrive of the same orders within SQS's 5-minute dedup window adds no copy.
  const orders = bodies(await peek(messaging.queueUrls.orders as string));
  expect(orders.map((order) => order.orderId).sort()).toEqual([...(placed.get('REDRIVE-B') ?? [])].sort());
  const snapshots = await drainSnapshots();
  expect(snapshots.map((snapshot) => snapshot.sku)).toEqual(['REDRIVE-B']);
});

test('sends every PLACED order and a snapshot equal to each ledger; fulfilment dispatches each order once', async () => {
  const result = await shared.redriveOutbox({});
  expect(result).toMatchObject({ orders: 10, snapshots: 2 });
  expect(result.scanned).toBeGreaterThan(10);
  // REDRIVE-B's two orders were still queued from the narrowed redrive: deduplicated, not queued twice.
  const { Attributes } = await sqs.send(
    new GetQueueAttributesCommand({
      QueueUrl: messaging.queueUrls.orders,
      AttributeNames: ['ApproximateNumberOfMessages'],
    }),
  );
  expect(Attributes?.ApproximateNumberOfMessages).toBe('10');

  await drainSnapshots();
  for (const channel of channelNames) {
    for (const sku of ['REDRIVE-A', 'REDRIVE-B']) {
      const ledger = await shared.inventory.ledger(sku);
      const latest = snapshotsSeen
        .get(channel)
        ?.filter((snapshot) => snapshot.sku === sku)
        .at(-1);
      expect(latest).toMatchObject({
        schema: 'dropline.inventory.stock.v1',
        supplied: ledger.supplied,
        available: ledger.available,
        held: ledger.held,
        sold: ledger.sold,
        reasons: [],
      });
    }
  }

  const { handler } = await import('../../lambdas/handlers/fulfil-orders');
  const fulfilling: RunningEventSource = startSqsEventSource({
    name: 'orders',
    endpoint: endpoints.sqs,
    queueUrl: messaging.queueUrls.orders as string,
    queueArn: messaging.queueArns.orders as string,
    handler: handler as unknown as SqsHandler,
    batchSize: 10,
  });
  const allOrders = [...placed.values()].flat();
  try {
    await eventually(async () => {
      for (const orderId of allOrders)
        expect(await shared.store.getOrder(orderId)).toMatchObject({ status: 'FULFILLED' });
    });
  } finally {
    await fulfilling.stop();
  }
  for (const orderId of allOrders) {
    const { Item } = await shared.documentClient.send(
      new GetCommand({ TableName: tableName, Key: { pk: `DISPATCH#${orderId}` }, ConsistentRead: true }),
    );
    expect(Item).toMatchObject({ orderId });
  }

  const again = await shared.redriveOutbox({});
  expect(again).toMatchObject({ orders: 0, snapshots: 2 });
  expect(await drain(messaging.queueUrls.orders as string)).toEqual([]);
}, 60_000);
