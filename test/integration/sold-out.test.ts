/**
 * Sold-out is answered from the stock view: no DynamoDB write, counted at the
 * wire by a proxy in front of DynamoDB Local. And the view must not strand
 * units that come back.
 */
import { ApiClient } from '../../local/api-client';
import { eventually } from '../support/eventually';
import { BACKGROUND_KEY_PREFIXES, startTestStack, type TestStack } from '../support/local-stack';
import { pipelineSettled } from '../support/settled';

let stack: TestStack;
let api: ApiClient;

beforeAll(async () => {
  stack = await startTestStack();
  api = new ApiClient(stack.url, stack.adminKey);
});

afterAll(async () => {
  await api.close();
  await stack.stop();
});

const attempts = (sku: string, wave: string, count: number) =>
  Promise.all(
    Array.from({ length: count }, (_, index) => api.reserve(sku, `${wave}-${index}`, 1, `${sku}-${wave}-${index}`)),
  );

test('after sell-out, attempts are refused SOLD_OUT with zero DynamoDB writes', async () => {
  const sku = 'sold-out-writes';
  await api.putProduct(sku, {
    name: 'Gone',
    priceCents: 100,
    stock: 5,
    shards: 2,
    maxPerCustomer: 1,
    holdSeconds: 600,
  });
  const writesBeforeSelling = stack.dynamodbRequests.writes();
  const selling = await attempts(sku, 'buyer', 5);
  expect(selling.map((response) => response.status)).toEqual(Array(5).fill(201));
  // The counter sees the writes that selling costs, so a zero below means something.
  expect(stack.dynamodbRequests.writes() - writesBeforeSelling).toBeGreaterThanOrEqual(5);
  // Let the event pipeline (stream → snapshot → channel views) finish its own writes first.
  await pipelineSettled(api, sku);

  const writesAtSellOut = stack.dynamodbRequests.writesExcept(BACKGROUND_KEY_PREFIXES);
  const itemWritesAtSellOut = stack.dynamodbRequests.itemWrites();
  const refusedAtOnce = await attempts(sku, 'late', 200);
  // Past the view's lifetime the view is re-read (a read, not a write) and still says zero.
  await new Promise((resolve) => setTimeout(resolve, 1100));
  const refusedLater = await attempts(sku, 'later', 100);

  for (const response of [...refusedAtOnce, ...refusedLater]) {
    expect(response.status).toBe(409);
    expect(response.body.error.code).toBe('SOLD_OUT');
  }
  const written = [...stack.dynamodbRequests.itemWrites()].filter(
    ([key, n]) =>
      n !== itemWritesAtSellOut.get(key) && !BACKGROUND_KEY_PREFIXES.some((prefix) => key.startsWith(prefix)),
  );
  expect(written).toEqual([]);
  expect(stack.dynamodbRequests.writesExcept(BACKGROUND_KEY_PREFIXES) - writesAtSellOut).toBe(0);
  expect((await api.call('GET', `/products/${sku}`)).body).toMatchObject({ available: 0, soldOut: true });
  expect(stack.dynamodbRequests.counts()).toHaveProperty('GetItem');
});

test('a released unit sells again within the view lifetime of one second', async () => {
  const sku = 'sold-out-return';
  await api.putProduct(sku, {
    name: 'Back',
    priceCents: 100,
    stock: 2,
    shards: 2,
    maxPerCustomer: 1,
    holdSeconds: 600,
  });
  const [first] = await attempts(sku, 'buyer', 2);
  expect((await api.reserve(sku, 'waiting', 1, `${sku}-waiting-1`)).status).toBe(409);

  await api.call('DELETE', `/reservations/${first?.body.reservationId}`);
  await new Promise((resolve) => setTimeout(resolve, 1100));
  const retried = await api.reserve(sku, 'waiting', 1, `${sku}-waiting-2`);

  expect(retried.status).toBe(201);
  // The storefront read model follows within the pipeline's lag.
  await eventually(async () =>
    expect((await api.call('GET', `/products/${sku}`)).body).toMatchObject({ available: 0, soldOut: true }),
  );
});

test('a retry of a successful reservation after sell-out still gets its reservation', async () => {
  const sku = 'sold-out-replay';
  await api.putProduct(sku, {
    name: 'Replay',
    priceCents: 100,
    stock: 1,
    shards: 1,
    maxPerCustomer: 1,
    holdSeconds: 600,
  });
  const original = await api.reserve(sku, 'lucky', 1, `${sku}-lucky`);

  const retry = await api.reserve(sku, 'lucky', 1, `${sku}-lucky`);

  expect(retry.status).toBe(201);
  expect(retry.body.reservationId).toBe(original.body.reservationId);
});
