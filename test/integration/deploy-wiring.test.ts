/**
 * What the deployed stack hands the functions through their environment, on
 * the app's assembly synthesized with a drop plan: the plan's shard counts,
 * the sweeper that keeps sweeping within one invocation, and the health route
 * behind the Route 53 health check.
 */
import { ApiClient } from '../../local/api-client';
import { PLANNED_CONTEXT, startTestStack, type TestStack } from '../support/local-stack';

let stack: TestStack;
let api: ApiClient;

beforeAll(async () => {
  stack = await startTestStack({
    // The plan sizes PLANNED-1 and TINY-1 for 120 attempts a second: 12 shards each (lib/config/capacity.ts).
    context: PLANNED_CONTEXT,
    // Deployed, one scheduled invocation sweeps every second for 55 s (the template's); two seconds here.
    environment: { SWEEP_FOR_SECONDS: '2' },
  });
  api = new ApiClient(stack.url, stack.adminKey, 16);
}, 300_000);

afterAll(async () => {
  await api.close();
  await stack.stop();
});

const product = { name: 'Planned', priceCents: 100, holdSeconds: 600 };

test('creates a planned SKU with the shard count the plan sized it for', async () => {
  const created = await api.call('PUT', '/admin/products/PLANNED-1', {
    body: { ...product, stock: 1000 },
    admin: true,
  });
  expect(created.status).toBe(201);
  expect(created.body).toMatchObject({ shards: 12 });
});

test('never gives a planned SKU more shards than units', async () => {
  const created = await api.call('PUT', '/admin/products/TINY-1', { body: { ...product, stock: 5 }, admin: true });
  expect(created.body).toMatchObject({ shards: 5 });
});

test('keeps an explicit shard count and the default for unplanned SKUs', async () => {
  const explicit = await api.call('PUT', '/admin/products/PLANNED-1-B', {
    body: { ...product, stock: 1000, shards: 3 },
    admin: true,
  });
  expect(explicit.body).toMatchObject({ shards: 3 });
  const unplanned = await api.call('PUT', '/admin/products/UNPLANNED-1', {
    body: { ...product, stock: 1000 },
    admin: true,
  });
  expect(unplanned.body).toMatchObject({ shards: 8 });
});

test('answers the health check after reading the table', async () => {
  const readsBefore = stack.dynamodbRequests.counts().GetItem ?? 0;
  const health = await api.call('GET', '/health');
  expect(health.status).toBe(200);
  expect(health.body).toEqual({ status: 'ok' });
  expect(stack.dynamodbRequests.counts().GetItem ?? 0).toBeGreaterThan(readsBefore);
});

test('one sweep invocation keeps sweeping every second, returning a hold that expires while it runs', async () => {
  await api.call('PUT', '/admin/products/SWEPT-1', { body: { ...product, stock: 3, holdSeconds: 1 }, admin: true });
  const hold = await api.reserve('SWEPT-1', 'sweeper-customer', 1, 'swept-1-key');
  expect(hold.status).toBe(201);

  // One invocation of each scheduled function, as its schedule makes. The hold falls due a second after it was
  // made, after the first sweep of any invocation running now: only a sweep that came round again within one
  // invocation can expire it before the run ends (the schedules' own runs fire at start and once a minute, and
  // a run in flight is joined, not doubled).
  const started = Date.now();
  await stack.runSchedules();

  expect(Date.now() - started).toBeGreaterThanOrEqual(1000);
  const ledger = await api.call('GET', '/admin/products/SWEPT-1/ledger', { admin: true });
  expect(ledger.body).toMatchObject({ available: 3, held: 0, expired: 1 });
});
