/**
 * Stock and shards are fixed at creation: a later PUT that asks for other
 * values says it did not apply them, and points to restock.
 */
import { ApiClient } from '../../local/api-client';
import { startTestStack, type TestStack } from '../support/local-stack';

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

const tee = { name: 'Tee', priceCents: 2500, stock: 10, shards: 2 };

test('a PUT asking for more stock on an existing product says the stock was ignored and names restock', async () => {
  await api.putProduct('put-stock-1', tee);

  const updated = await api.putProduct('put-stock-1', { ...tee, name: 'Renamed', stock: 50 });

  expect(updated.status).toBe(200);
  expect(updated.body).toMatchObject({ name: 'Renamed', supplied: 10, available: 10 });
  expect(updated.body.ignored).toEqual({
    stock: 'stock is set once, at creation (supplied now: 10); add units with POST /admin/products/put-stock-1/restock',
  });
});

test('a PUT asking for other shards says the shard count was ignored', async () => {
  await api.putProduct('put-stock-2', tee);

  const updated = await api.putProduct('put-stock-2', { ...tee, shards: 4 });

  expect(updated.body).toMatchObject({ shards: 2 });
  expect(updated.body.ignored).toEqual({ shards: 'shards are set once, at creation (now: 2)' });
});

test('a PUT that repeats the supplied stock ignores nothing and says nothing', async () => {
  await api.putProduct('put-stock-3', tee);

  const updated = await api.putProduct('put-stock-3', { ...tee, priceCents: 2600 });

  expect(updated.status).toBe(200);
  expect(updated.body).toMatchObject({ priceCents: 2600, supplied: 10 });
  expect(updated.body).not.toHaveProperty('ignored');
});

test('creation applies stock and says nothing about it', async () => {
  const created = await api.putProduct('put-stock-4', { ...tee, stock: 7 });

  expect(created.status).toBe(201);
  expect(created.body).toMatchObject({ supplied: 7 });
  expect(created.body).not.toHaveProperty('ignored');
});
