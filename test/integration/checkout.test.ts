/**
 * Checkout: a hold becomes exactly one order and one charge, however often
 * and however concurrently it is checked out; declined, late and released
 * holds are refused with their codes.
 */
import { DynamoDBClient, ScanCommand } from '@aws-sdk/client-dynamodb';
import { ApiClient } from '../../local/api-client';
import { eventually } from '../support/eventually';
import { expectBalanced } from '../support/ledger';
import { startTestStack, type TestStack } from '../support/local-stack';

let stack: TestStack;
let api: ApiClient;
let dynamodb: DynamoDBClient;

beforeAll(async () => {
  // Deployed, a scheduled sweep keeps sweeping for 55 s (the template's); here each run sweeps once.
  stack = await startTestStack({ environment: { SWEEP_FOR_SECONDS: '0' } });
  api = new ApiClient(stack.url, stack.adminKey, 256);
  dynamodb = new DynamoDBClient({ endpoint: stack.endpoints.dynamodb });
});

afterAll(async () => {
  dynamodb.destroy();
  await api.close();
  await stack.stop();
});

/** Items of one kind in the table (charges, dispatches, orders). */
async function itemsOfKind(kind: string): Promise<Array<Record<string, { S?: string; BOOL?: boolean; N?: string }>>> {
  const items: Array<Record<string, { S?: string; BOOL?: boolean; N?: string }>> = [];
  let start: Record<string, never> | undefined;
  do {
    const page = await dynamodb.send(
      new ScanCommand({
        TableName: stack.tableName,
        FilterExpression: 'kind = :kind',
        ExpressionAttributeValues: { ':kind': { S: kind } },
        ...(start ? { ExclusiveStartKey: start } : {}),
      }),
    );
    items.push(...((page.Items ?? []) as typeof items));
    start = page.LastEvaluatedKey as typeof start;
  } while (start);
  return items;
}

async function hold(sku: string, customerId: string, quantity = 1) {
  const response = await api.reserve(sku, customerId, quantity, `${sku}-${customerId}`);
  expect(response.status).toBe(201);
  return response.body.reservationId as string;
}

const checkout = (reservationId: string, paymentToken = 'tok_visa') =>
  api.call('POST', `/reservations/${reservationId}/checkout`, { body: { paymentToken } });

test('60 holds checked out concurrently, each twice, become exactly 60 fulfilled orders and 60 charges', async () => {
  const sku = 'checkout-spike';
  await api.putProduct(sku, {
    name: 'Drop',
    priceCents: 12_500,
    stock: 60,
    shards: 4,
    maxPerCustomer: 1,
    holdSeconds: 600,
  });
  const holds = await Promise.all(Array.from({ length: 60 }, (_, index) => hold(sku, `buyer-${index}`)));

  const answers = await Promise.all(holds.flatMap((id) => [checkout(id), checkout(id)]));

  expect(answers.map((answer) => answer.status)).toEqual(Array(120).fill(201));
  const orderIdByHold = new Map<string, Set<string>>();
  for (const { body } of answers) {
    expect(body.status).toBe('CONFIRMED');
    orderIdByHold.set(body.reservationId, (orderIdByHold.get(body.reservationId) ?? new Set()).add(body.orderId));
  }
  expect([...orderIdByHold.values()].every((ids) => ids.size === 1)).toBe(true);
  const orderIds = [...orderIdByHold.values()].map((ids) => [...ids][0] as string);
  expect(new Set(orderIds).size).toBe(60);

  const ledger = await api.ledger(sku);
  expect(ledger).toMatchObject({ supplied: 60, available: 0, held: 0, sold: 60 });
  expectBalanced(ledger);

  await eventually(async () => {
    const orders = await Promise.all(orderIds.map((id) => api.call('GET', `/orders/${id}`)));
    expect(orders.map((order) => order.body.status)).toEqual(Array(60).fill('FULFILLED'));
  });
  const orders = (await itemsOfKind('order')).filter((item) => item.sku?.S === sku);
  expect(orders).toHaveLength(60);
  const charges = await itemsOfKind('charge');
  const orderCharges = new Set(orders.map((order) => order.chargeId?.S));
  expect(charges.filter((charge) => orderCharges.has(charge.chargeId?.S))).toHaveLength(60);
  expect(charges.filter((charge) => orderCharges.has(charge.chargeId?.S) && charge.refunded?.BOOL)).toHaveLength(0);
  const dispatches = (await itemsOfKind('dispatch')).filter((item) => item.sku?.S === sku);
  expect(dispatches).toHaveLength(60);
});

test('a declined payment answers 402 PAYMENT_DECLINED and keeps the hold', async () => {
  const sku = 'checkout-declined';
  await api.putProduct(sku, { name: 'Drop', priceCents: 100, stock: 5, holdSeconds: 600 });
  const id = await hold(sku, 'decliner', 2);

  const declined = await checkout(id, 'tok_decline');

  expect(declined.status).toBe(402);
  expect(declined.body.error.code).toBe('PAYMENT_DECLINED');
  expect((await api.call('GET', `/reservations/${id}`)).body.status).toBe('HELD');
  expect(await api.ledger(sku)).toMatchObject({ held: 2, sold: 0 });
  const retried = await checkout(id, 'tok_other_card');
  expect(retried.status).toBe(201);
  expect(await api.ledger(sku)).toMatchObject({ held: 0, sold: 2 });
});

test('a checkout after the hold expired answers 410 RESERVATION_EXPIRED, swept or not, and charges nothing', async () => {
  const sku = 'checkout-late';
  await api.putProduct(sku, { name: 'Drop', priceCents: 100, stock: 5, holdSeconds: 1, maxPerCustomer: 1 });
  const swept = await hold(sku, 'late-swept');
  const unswept = await hold(sku, 'late-unswept');
  await new Promise((resolve) => setTimeout(resolve, 1200));
  await stack.runSchedules();

  const late = await Promise.all([checkout(swept), checkout(unswept)]);

  for (const answer of late) {
    expect(answer.status).toBe(410);
    expect(answer.body.error.code).toBe('RESERVATION_EXPIRED');
  }
  const ledger = await api.ledger(sku);
  expect(ledger.sold).toBe(0);
  expectBalanced(ledger);
});

test('checkout racing expiry ends each hold exactly one way: sold with one charge, or expired with none kept', async () => {
  const sku = 'checkout-race';
  await api.putProduct(sku, { name: 'Drop', priceCents: 100, stock: 40, shards: 4, holdSeconds: 1, maxPerCustomer: 1 });
  const holds = await Promise.all(Array.from({ length: 40 }, (_, index) => hold(sku, `racer-${index}`)));
  await new Promise((resolve) => setTimeout(resolve, 900));

  await Promise.all([...holds.map((id) => checkout(id)), stack.runSchedules(), stack.runSchedules()]);
  await new Promise((resolve) => setTimeout(resolve, 300));
  await stack.runSchedules();

  const statuses = await Promise.all(
    holds.map(async (id) => (await api.call('GET', `/reservations/${id}`)).body.status),
  );
  const confirmed = statuses.filter((status) => status === 'CONFIRMED').length;
  expect(statuses.every((status) => status === 'CONFIRMED' || status === 'EXPIRED')).toBe(true);
  const ledger = await api.ledger(sku);
  expect(ledger).toMatchObject({ supplied: 40, held: 0, sold: confirmed, expired: 40 - confirmed });
  expectBalanced(ledger);
  const orders = (await itemsOfKind('order')).filter((item) => item.sku?.S === sku);
  expect(orders).toHaveLength(confirmed);
  const kept = new Set(orders.map((order) => order.chargeId?.S));
  const raceCharges = (await itemsOfKind('charge')).filter((charge) => !charge.refunded?.BOOL);
  expect(raceCharges.filter((charge) => kept.has(charge.chargeId?.S))).toHaveLength(confirmed);
});

test('releasing a confirmed hold answers 409 INVALID_STATE; a released hold cannot be checked out', async () => {
  const sku = 'checkout-states';
  await api.putProduct(sku, { name: 'Drop', priceCents: 100, stock: 5, holdSeconds: 600, maxPerCustomer: 2 });
  const confirmed = await hold(sku, 'keeper');
  const released = await hold(sku, 'leaver');
  await checkout(confirmed);
  await api.call('DELETE', `/reservations/${released}`);

  const deleteConfirmed = await api.call('DELETE', `/reservations/${confirmed}`);
  const checkoutReleased = await checkout(released);

  expect(deleteConfirmed.status).toBe(409);
  expect(deleteConfirmed.body.error.code).toBe('INVALID_STATE');
  expect(checkoutReleased.status).toBe(409);
  expect(checkoutReleased.body.error.code).toBe('INVALID_STATE');
  expect(await api.ledger(sku)).toMatchObject({ sold: 1, held: 0, released: 1 });
});

test('GET /orders answers 404 for an unknown order and 400 for a malformed id; checkout validates its body', async () => {
  expect((await api.call('GET', '/orders/00000000-0000-4000-8000-000000000000')).status).toBe(404);
  expect((await api.call('GET', '/orders/nope')).body.error.code).toBe('VALIDATION_ERROR');
  const noToken = await api.call('POST', '/reservations/00000000-0000-4000-8000-000000000000/checkout', {
    body: { paymentToken: '' },
  });
  expect(noToken.status).toBe(400);
  expect(noToken.body.error.code).toBe('VALIDATION_ERROR');
});
