/**
 * The order pipeline under at-least-once delivery: redelivered and duplicated
 * messages, a crash between fulfilment steps, and a poison message that must
 * reach the dead-letter queue without holding up other message groups.
 */
import { randomUUID } from 'node:crypto';
import { DynamoDBClient, ScanCommand } from '@aws-sdk/client-dynamodb';
import {
  GetQueueAttributesCommand,
  ReceiveMessageCommand,
  SendMessageCommand,
  SetQueueAttributesCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { DynamoDbInventoryStore } from '../../lambdas/adapters/dynamodb-inventory-store';
import { SimulatedWarehouse } from '../../lambdas/adapters/simulated-warehouse';
import { Fulfilment } from '../../lambdas/domain/fulfilment';
import type { Order } from '../../lambdas/domain/model';
import { ApiClient } from '../../local/api-client';
import { eventually } from '../support/eventually';
import { type AssemblyTestStack, resourceNamed, startTestStack } from '../support/local-stack';

let stack: AssemblyTestStack;
let api: ApiClient;
let dynamodb: DynamoDBClient;
let sqs: SQSClient;
/** The template's orders queue and the dead-letter queue its redrive policy names. */
let orders: { queueUrl: string; dlqUrl: string; maxReceiveCount: number };

beforeAll(async () => {
  stack = await startTestStack();
  api = new ApiClient(stack.url, stack.adminKey);
  dynamodb = new DynamoDBClient({ endpoint: stack.endpoints.dynamodb });
  sqs = new SQSClient({ endpoint: stack.endpoints.sqs });
  orders = await ordersQueues();
});

afterAll(async () => {
  sqs.destroy();
  dynamodb.destroy();
  await api.close();
  await stack.stop();
});

async function placeOrder(sku: string, customerId: string): Promise<string> {
  const held = await api.reserve(sku, customerId, 1, `${sku}-${customerId}`);
  const placed = await api.call('POST', `/reservations/${held.body.reservationId}/checkout`, {
    body: { paymentToken: 'tok_ok' },
  });
  expect(placed.status).toBe(201);
  return placed.body.orderId;
}

async function dispatchesOf(orderId: string): Promise<number> {
  const { Count } = await dynamodb.send(
    new ScanCommand({
      TableName: stack.tableName,
      FilterExpression: 'pk = :pk',
      ExpressionAttributeValues: { ':pk': { S: `DISPATCH#${orderId}` } },
      Select: 'COUNT',
    }),
  );
  return Count ?? 0;
}

async function ordersQueues(): Promise<typeof orders> {
  const queueUrl = resourceNamed(stack, 'AWS::SQS::Queue', 'OrdersQueue').ref;
  const { Attributes } = await sqs.send(
    new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['RedrivePolicy'] }),
  );
  const redrive = JSON.parse(Attributes?.RedrivePolicy ?? '{}') as {
    deadLetterTargetArn?: string;
    maxReceiveCount?: number;
  };
  const dlq = stack
    .resources('AWS::SQS::Queue')
    .find(({ attributes }) => attributes.Arn === redrive.deadLetterTargetArn);
  if (!dlq || redrive.maxReceiveCount === undefined)
    throw new Error(`the orders queue has no dead-letter queue: ${Attributes?.RedrivePolicy}`);
  return { queueUrl, dlqUrl: dlq.ref, maxReceiveCount: Number(redrive.maxReceiveCount) };
}

const orderStatus = async (orderId: string) => (await api.call('GET', `/orders/${orderId}`)).body.status;

test('a redelivered or duplicated order message dispatches once and fulfils once', async () => {
  const sku = 'pipeline-dup';
  await api.putProduct(sku, { name: 'Dup', priceCents: 100, stock: 5, holdSeconds: 600 });
  const orderId = await placeOrder(sku, 'dup-buyer');
  await eventually(async () => expect(await orderStatus(orderId)).toBe('FULFILLED'));

  // The same order again, under a fresh deduplication id, as a redelivery past the dedup window would look.
  const order = (await api.call('GET', `/orders/${orderId}`)).body;
  for (const attempt of [1, 2]) {
    await sqs.send(
      new SendMessageCommand({
        QueueUrl: orders.queueUrl,
        MessageBody: JSON.stringify({ schema: 'dropline.orders.placed.v1', ...order, quantity: 1 }),
        MessageGroupId: orderId,
        MessageDeduplicationId: `replay-${attempt}-${randomUUID()}`,
      }),
    );
  }

  await new Promise((resolve) => setTimeout(resolve, 1500));
  expect(await dispatchesOf(orderId)).toBe(1);
  expect(await orderStatus(orderId)).toBe('FULFILLED');
});

test('a crash between dispatch and marking the order fulfilled never dispatches twice', async () => {
  const sku = 'pipeline-crash';
  await api.putProduct(sku, { name: 'Crash', priceCents: 100, stock: 5, holdSeconds: 600 });
  const client = DynamoDBDocumentClient.from(dynamodb);
  const store = new DynamoDbInventoryStore(client, stack.tableName);
  const order: Order = {
    orderId: randomUUID(),
    reservationId: randomUUID(),
    sku,
    customerId: 'crash-buyer',
    quantity: 1,
    amountCents: 100,
    currency: 'USD',
    chargeId: 'ch_test',
    status: 'PLACED',
    placedAt: new Date().toISOString(),
  };
  // An order as checkout records it, written straight to the table (no queue: this test delivers by hand).
  const { PutCommand } = await import('@aws-sdk/lib-dynamodb');
  await client.send(
    new PutCommand({
      TableName: stack.tableName,
      Item: { pk: `ORDER#${order.orderId}`, kind: 'test-order', ...order },
    }),
  );
  const warehouse = new SimulatedWarehouse(client, stack.tableName);
  let crashes = 1;
  const crashingWarehouse = {
    dispatch: async (placed: Order) => {
      const dispatched = await warehouse.dispatch(placed);
      if (crashes-- > 0) throw new Error('process died after dispatching');
      return dispatched;
    },
  };
  const fulfilment = new Fulfilment({ store, warehouse: crashingWarehouse });

  await expect(fulfilment.fulfil(order.orderId)).rejects.toThrow('process died');
  const redelivered = await fulfilment.fulfil(order.orderId);
  const again = await fulfilment.fulfil(order.orderId);

  expect(redelivered).toBe('fulfilled');
  expect(again).toBe('already-fulfilled');
  expect(await dispatchesOf(order.orderId)).toBe(1);
  expect((await store.getOrder(order.orderId))?.status).toBe('FULFILLED');
});

test('a poison message lands in the dead-letter queue after maxReceiveCount without blocking other groups', async () => {
  const sku = 'pipeline-poison';
  await api.putProduct(sku, { name: 'Poison', priceCents: 100, stock: 10, holdSeconds: 600 });
  // The template's visibility timeout (six times the consumer's, 180 s) would space the five receives
  // fifteen minutes apart; an operator's change of the running queue's attribute brings it to two seconds.
  // What is tested is where the message ends and what it holds up, not how long SQS hides a failed one.
  await sqs.send(new SetQueueAttributesCommand({ QueueUrl: orders.queueUrl, Attributes: { VisibilityTimeout: '2' } }));
  await sqs.send(
    new SendMessageCommand({
      QueueUrl: orders.queueUrl,
      MessageBody: '{"schema":"dropline.orders.placed.v1","orderId":"not-an-order"}',
      MessageGroupId: 'poison-group',
      MessageDeduplicationId: randomUUID(),
    }),
  );

  // Orders placed while the poison message is being retried are fulfilled all the same.
  const orderIds = await Promise.all(['a', 'b', 'c'].map((buyer) => placeOrder(sku, `poison-${buyer}`)));
  await eventually(async () => {
    expect(await Promise.all(orderIds.map(orderStatus))).toEqual(['FULFILLED', 'FULFILLED', 'FULFILLED']);
  });

  const dead = await eventually(
    async () => {
      const { Messages = [] } = await sqs.send(
        new ReceiveMessageCommand({
          QueueUrl: orders.dlqUrl,
          MaxNumberOfMessages: 10,
          MessageSystemAttributeNames: ['All'],
        }),
      );
      expect(Messages).toHaveLength(1);
      return Messages[0];
    },
    { timeoutMs: 40_000, intervalMs: 500 },
  );
  expect(dead?.Body).toContain('not-an-order');
  expect(Number(dead?.Attributes?.ApproximateReceiveCount)).toBeGreaterThanOrEqual(orders.maxReceiveCount);
}, 60_000);
