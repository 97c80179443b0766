/**
 * The stock view's replicas on DynamoDB Local: a product's settings are
 * copied to its replicas in the transaction that writes it (and two updates
 * racing each other leave every copy equal to the product), an environment's
 * hot-path read goes to the replica its seed picks, and a stock vector is
 * written to every replica, each only forward, replica 0 last.
 */
import { GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { PRODUCT_REPLICAS } from '../../contract/stock-view';
import { DynamoDbInventoryStore } from '../../lambdas/adapters/dynamodb-inventory-store';
import { DynamoDbStockSnapshots } from '../../lambdas/adapters/dynamodb-stock-snapshots';
import { inventoryOn, testTable } from '../support/test-table';

const { tableName, dynamodb, client, provision } = testTable('dropline-replicas');
const store = new DynamoDbInventoryStore(client, tableName);
const snapshots = new DynamoDbStockSnapshots(client, tableName);
const inventory = inventoryOn(store, { client, tableName }, { plannedViewReplicas: { 'REPL-BIG': 3 } });

const item = async (pk: string) =>
  (await client.send(new GetCommand({ TableName: tableName, Key: { pk }, ConsistentRead: true }))).Item;
const replicaPrices = async (sku: string) =>
  Promise.all(
    Array.from(
      { length: PRODUCT_REPLICAS },
      async (_, replica) => (await item(`PRODUCT#${sku}#${replica}`))?.priceCents,
    ),
  );

beforeAll(async () => {
  await provision();
});

afterAll(() => dynamodb.destroy());

test('a product is copied to every replica when it is created and when it is updated', async () => {
  await inventory.upsertProduct({ sku: 'REPL-1', name: 'Replicated', priceCents: 100, stock: 10, shards: 2 });
  expect(await replicaPrices('REPL-1')).toEqual(Array(PRODUCT_REPLICAS).fill(100));

  await inventory.upsertProduct({ sku: 'REPL-1', name: 'Replicated', priceCents: 250, stock: 10 });

  expect(await replicaPrices('REPL-1')).toEqual(Array(PRODUCT_REPLICAS).fill(250));
  expect(await item('PRODUCT#REPL-1#0')).toMatchObject({ kind: 'product-replica', sku: 'REPL-1', shards: 2 });
});

test('two updates racing each other leave every replica equal to the product', async () => {
  await inventory.upsertProduct({ sku: 'REPL-RACE', name: 'Race', priceCents: 100, stock: 10 });

  await Promise.all(
    [200, 300, 400].map((priceCents) =>
      inventory.upsertProduct({ sku: 'REPL-RACE', name: 'Race', priceCents, stock: 10 }),
    ),
  );

  const product = await item('PRODUCT#REPL-RACE');
  expect(await replicaPrices('REPL-RACE')).toEqual(Array(PRODUCT_REPLICAS).fill(product?.priceCents));
});

test("an environment's eventually consistent read goes to the replica its seed picks", async () => {
  await inventory.upsertProduct({ sku: 'REPL-SEED', name: 'Seeded', priceCents: 100, stock: 10 });
  // Only replica 7 says otherwise: a read that finds it read replica 7.
  await client.send(
    new PutCommand({
      TableName: tableName,
      Item: { ...(await item('PRODUCT#REPL-SEED#7')), priceCents: 777 },
    }),
  );

  const seventh = await new DynamoDbInventoryStore(client, tableName, 7).getProduct('REPL-SEED', { consistent: false });
  const third = await new DynamoDbInventoryStore(client, tableName, 3).getProduct('REPL-SEED', { consistent: false });
  const strong = await new DynamoDbInventoryStore(client, tableName, 7).getProduct('REPL-SEED');

  expect([seventh?.priceCents, third?.priceCents, strong?.priceCents]).toEqual([777, 100, 100]);
});

test('a product written before it had replicas is read from its own item', async () => {
  await client.send(
    new PutCommand({
      TableName: tableName,
      Item: {
        pk: 'PRODUCT#REPL-OLD',
        kind: 'product',
        sku: 'REPL-OLD',
        name: 'Old',
        priceCents: 90,
        currency: 'USD',
        maxPerCustomer: 2,
        holdSeconds: 300,
        dropStartsAt: '2026-01-01T00:00:00Z',
        shards: 1,
      },
    }),
  );

  const product = await store.getProduct('REPL-OLD', { consistent: false });

  expect(product).toMatchObject({ sku: 'REPL-OLD', priceCents: 90, viewReplicas: 1 });
});

test('a planned SKU is created with its stock-vector replicas and listed for the sweeper', async () => {
  const { product } = await inventory.upsertProduct({ sku: 'REPL-BIG', name: 'Big', priceCents: 100, stock: 30 });

  expect(product.viewReplicas).toBe(3);
  expect(await snapshots.listReplicatedSkus(100)).toContain('REPL-BIG');
  expect(await snapshots.listReplicatedSkus(100)).not.toContain('REPL-1');
});

test('a stock vector reaches every replica, and a late writer rolls none back', async () => {
  await snapshots.writeStockVector('REPL-VEC', 5, [4, 4], 3);
  await snapshots.writeStockVector('REPL-VEC', 3, [9, 9], 3);

  const replicas = await Promise.all([0, 1, 2].map((seed) => new DynamoDbInventoryStore(client, tableName, seed)));
  const read = await Promise.all(replicas.map((reader) => reader.readStockVector('REPL-VEC', 3)));

  expect(read).toEqual([
    [4, 4],
    [4, 4],
    [4, 4],
  ]);
  expect(await snapshots.stockVectorVersion('REPL-VEC')).toBe(5);
  expect(await snapshots.listStockVectors(100)).toContain('REPL-VEC');
  expect(await item('STOCKVIEW#REPL-VEC#2')).toMatchObject({ version: 5 });
});
