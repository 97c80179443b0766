/**
 * DynamoDB throttling on every route, on the wire: the proxy in front of
 * DynamoDB Local answers in its place with the throttling errors DynamoDB
 * sends under load (DynamoDB Local never does), so the SDK parses and retries
 * them as it would on AWS. Whatever a route was doing, the shopper or
 * operator gets 429 THROTTLED or BUSY (or 503) with Retry-After — never a
 * 500 — and nothing changes.
 */
import { apiRoutes } from '../../contract/routes';
import { ApiClient, type ApiResponse, isGatewayThrottled } from '../../local/api-client';
import type { WireFault } from '../../local/probes/request-counter';
import { startTestStack, type TestStack } from '../support/local-stack';

let stack: TestStack;
let api: ApiClient;

const READS = ['GetItem', 'BatchGetItem', 'Query'];
const WRITES = ['PutItem', 'UpdateItem', 'TransactWriteItems', 'TransactGetItems'];

beforeAll(async () => {
  stack = await startTestStack();
  api = new ApiClient(stack.url, stack.adminKey, 16);
});

afterEach(() => stack.dynamodbRequests.clearFaults());

afterAll(async () => {
  await api.close();
  await stack.stop();
});

let skus = 0;
async function freshProduct() {
  const sku = `throttled-${++skus}`;
  const created = await api.putProduct(sku, { name: sku, priceCents: 500, stock: 10, shards: 2, maxPerCustomer: 2 });
  expect(created.status).toBe(201);
  return sku;
}

function expectRetryable(response: ApiResponse, label: string) {
  const code = (response.body as { error?: { code?: string } }).error?.code ?? '';
  const answer = { label, status: response.status, code, retryAfter: response.headers['retry-after'] };
  // The function's own answer to the fault: API Gateway's throttle (the admin key's usage plan) would pass
  // for a retryable answer without the function ever meeting the fault.
  const retryable =
    !isGatewayThrottled(response) &&
    ((response.status === 429 && ['THROTTLED', 'BUSY'].includes(code)) ||
      (response.status === 503 && code === 'UNAVAILABLE'));
  expect({ ...answer, retryable }).toEqual({ ...answer, retryable: true, retryAfter: '1' });
}

/** One request per route of the contract, each on state it can act on. */
async function everyRoute(): Promise<Array<[string, () => Promise<ApiResponse>]>> {
  const sku = await freshProduct();
  const held = await api.reserve(sku, 'alice', 1, `${sku}-held`);
  const reservationId = held.body.reservationId as string;
  const sold = await api.reserve(sku, 'bob', 1, `${sku}-sold`);
  const checkout = await api.call('POST', `/reservations/${sold.body.reservationId}/checkout`, {
    body: { paymentToken: 'tok_visa' },
  });
  const orderId = checkout.body.orderId as string;
  const calls: Array<[string, () => Promise<ApiResponse>]> = [
    ['GET /products/{sku}', () => api.call('GET', `/products/${sku}`)],
    ['POST /products/{sku}/reservations', () => api.reserve(sku, 'carol', 1, `${sku}-new`)],
    ['GET /reservations/{reservationId}', () => api.call('GET', `/reservations/${reservationId}`)],
    ['DELETE /reservations/{reservationId}', () => api.call('DELETE', `/reservations/${reservationId}`)],
    [
      'POST /reservations/{reservationId}/checkout',
      () => api.call('POST', `/reservations/${reservationId}/checkout`, { body: { paymentToken: 'tok_visa' } }),
    ],
    ['GET /orders/{orderId}', () => api.call('GET', `/orders/${orderId}`)],
    [
      'PUT /admin/products/{sku}',
      () => api.admin('PUT', `/admin/products/${sku}`, { body: { name: 'x', priceCents: 1, stock: 10 } }),
    ],
    [
      'POST /admin/products/{sku}/restock',
      () =>
        api.admin('POST', `/admin/products/${sku}/restock`, {
          body: { quantity: 1 },
          headers: { 'idempotency-key': `${sku}-restock` },
        }),
    ],
    ['GET /admin/products/{sku}/ledger', () => api.admin('GET', `/admin/products/${sku}/ledger`)],
    ['GET /admin/products/{sku}/channels', () => api.admin('GET', `/admin/products/${sku}/channels`)],
    [
      'POST /products/{sku}/feedback',
      () => api.call('POST', `/products/${sku}/feedback`, { body: { customerId: 'dora', outcome: 'PAID', rating: 5 } }),
    ],
    ['GET /admin/products/{sku}/feedback', () => api.admin('GET', `/admin/products/${sku}/feedback`)],
    ['GET /health', () => api.call('GET', '/health')],
    ['POST /admin/drops/{sku}/{action}', () => api.admin('POST', `/admin/drops/${sku}/pause`)],
  ];
  return calls;
}

test('every route of the contract is covered here', async () => {
  const covered = (await everyRoute()).map(([label]) => label).sort();
  expect(covered).toEqual(apiRoutes.map((route) => `${route.method} ${route.path}`).sort());
});

test.each<[string, WireFault]>([
  ['ProvisionedThroughputExceededException', { kind: 'error', type: 'ProvisionedThroughputExceededException' }],
  ['ThrottlingException', { kind: 'error', type: 'ThrottlingException' }],
  ['RequestLimitExceeded', { kind: 'error', type: 'RequestLimitExceeded' }],
])(
  '%s on every read and write: each route answers 429/503 with Retry-After and changes nothing',
  async (_name, fault) => {
    const calls = await everyRoute();
    const sku = `throttled-${skus}`;
    const before = await api.ledger(sku);
    stack.dynamodbRequests.injectFault([...READS, ...WRITES], fault);

    const answers = await Promise.all(calls.map(async ([label, call]) => [label, await call()] as const));

    stack.dynamodbRequests.clearFaults();
    for (const [label, response] of answers) expectRetryable(response, label);
    expect(await api.ledger(sku)).toEqual(before);
  },
);

test('BatchGetItem leaving every key unprocessed, round after round: a shard read gives up BUSY, not at the Lambda timeout', async () => {
  const sku = await freshProduct();
  stack.dynamodbRequests.injectFault(['BatchGetItem'], { kind: 'unprocessed' });

  // The ledger always reads every shard (strongly consistent): the read that must give up.
  const answer = await api.admin('GET', `/admin/products/${sku}/ledger`);

  expect(answer.status).toBe(429);
  expect(answer.body.error.code).toBe('BUSY');
  expect(answer.headers['retry-after']).toBe('1');
  expect(stack.dynamodbRequests.counts().BatchGetItem ?? 0).toBeGreaterThanOrEqual(6);
  stack.dynamodbRequests.clearFaults();
  expect((await api.admin('GET', `/admin/products/${sku}/ledger`)).status).toBe(200);
});
