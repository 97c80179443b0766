/**
 * A SKU with more shards than one transaction holds (250 here; a transaction
 * takes 100 actions): created, restocked and read in chunks, and every step
 * leaves each shard — so the ledger — balanced. A restock that fails part-way
 * resumes under its Idempotency-Key and adds its units exactly once. Run on
 * the real store over DynamoDB Local; the one injected fault (a chunk's
 * transaction refused) is named where it is.
 */
import { GetCommand, TransactWriteCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { SHARDS_PER_SNAPSHOT_GROUP } from '../../contract/stock-view';
import { keys } from '../../lambdas/adapters/dynamodb-inventory-items';
import { DynamoDbInventoryStore } from '../../lambdas/adapters/dynamodb-inventory-store';
import { DynamoDbStockSnapshots, MAX_FOLD_ATTEMPTS } from '../../lambdas/adapters/dynamodb-stock-snapshots';
import { type ShardImage, snapshotOf } from '../../lambdas/domain/model';
import { expectBalanced } from '../support/ledger';
import { inventoryOn, testTable } from '../support/test-table';

const SHARDS = 250;
const { tableName, dynamodb, client, provision } = testTable('dropline-wide');

/** Refuses the next restock chunk that advances its key's record past `afterChunk` (nothing of it is written). */
let refuseChunkAfter: number | undefined;
const faulty = new Proxy(client, {
  get(target, property, receiver) {
    if (property !== 'send') return Reflect.get(target, property, receiver);
    return (command: unknown) => {
      const head = command instanceof TransactWriteCommand ? command.input.TransactItems?.[0]?.Update : undefined;
      const advancing = String(head?.Key?.pk ?? '').startsWith('RESTOCK#')
        ? head?.ExpressionAttributeValues
        : undefined;
      if (refuseChunkAfter !== undefined && advancing?.[':done'] === refuseChunkAfter) {
        refuseChunkAfter = undefined;
        return Promise.reject(Object.assign(new Error('the function timed out between chunks'), { name: 'Crash' }));
      }
      return target.send(command as TransactWriteCommand);
    };
  },
});
const store = new DynamoDbInventoryStore(faulty, tableName);
const snapshots = new DynamoDbStockSnapshots(client, tableName);
const inventory = inventoryOn(store, { client, tableName });

beforeAll(async () => {
  await provision();
});

afterAll(() => dynamodb.destroy());

test(`a ${SHARDS}-shard SKU is created, held, restocked and read with every shard balanced`, async () => {
  const { created, product } = await inventory.upsertProduct({
    sku: 'WIDE-1',
    name: 'Wide',
    priceCents: 100,
    stock: 2500,
    shards: SHARDS,
    maxPerCustomer: 2,
  });
  expect(created).toBe(true);
  expect(product.shards).toBe(SHARDS);
  expect(await inventory.ledger('WIDE-1')).toMatchObject({ supplied: 2500, available: 2500 });

  const holds = await Promise.all(
    Array.from({ length: 60 }, (_, index) =>
      inventory.reserve({ sku: 'WIDE-1', customerId: `w-${index}`, quantity: 2, idempotencyKey: `w-${index}` }),
    ),
  );
  expect(holds).toHaveLength(60);

  const { ledger, replayed } = await inventory.restock({ sku: 'WIDE-1', quantity: 1000, idempotencyKey: 'wide-r1' });
  expect(replayed).toBe(false);
  expect(ledger).toMatchObject({ supplied: 3500, held: 120, available: 3380 });
  expectBalanced(ledger);

  const images = await snapshots.shardImages('WIDE-1', SHARDS);
  expect(images).toHaveLength(SHARDS);
  const merged = (await snapshots.mergeShardImages('WIDE-1', images, SHARDS)) ?? [];
  const snapshot = snapshotOf('WIDE-1', merged);
  expect(snapshot).toMatchObject({ supplied: 3500, held: 120, available: 3380 });
  await snapshots.writeStockVector(
    'WIDE-1',
    snapshot.version,
    merged.map((image) => image.available),
    1,
  );
  expect(await store.readStockVector('WIDE-1', 1)).toHaveLength(SHARDS);
});

test('a restock that fails between chunks resumes under its key and adds its units once', async () => {
  await inventory.upsertProduct({ sku: 'WIDE-2', name: 'Wide', priceCents: 100, stock: 500, shards: SHARDS });
  refuseChunkAfter = 1;

  await expect(inventory.restock({ sku: 'WIDE-2', quantity: 750, idempotencyKey: 'wide-r2' })).rejects.toThrow(
    'timed out between chunks',
  );
  const partway = await inventory.ledger('WIDE-2');
  expectBalanced(partway);
  // The first chunk (99 shards × 3 units) landed, nothing else.
  expect(partway.supplied).toBe(500 + 99 * 3);

  const resumed = await inventory.restock({ sku: 'WIDE-2', quantity: 750, idempotencyKey: 'wide-r2' });
  const repeated = await inventory.restock({ sku: 'WIDE-2', quantity: 750, idempotencyKey: 'wide-r2' });

  expect(resumed.ledger).toMatchObject({ supplied: 1250, available: 1250 });
  expect(repeated).toMatchObject({ replayed: true, ledger: { supplied: 1250 } });
  await expect(inventory.restock({ sku: 'WIDE-2', quantity: 5, idempotencyKey: 'wide-r2' })).rejects.toMatchObject({
    code: 'IDEMPOTENCY_MISMATCH',
  });
});

describe('a snapshot group another writer keeps changing', () => {
  const image = (shard: number, version: number): ShardImage => ({
    shard,
    version,
    supplied: 10,
    available: 10 - version,
    held: version,
    sold: 0,
    released: 0,
    expired: 0,
  });
  const group = async (sku: string) =>
    (await client.send(new GetCommand({ TableName: tableName, Key: keys.snapshot(sku, 0), ConsistentRead: true })))
      .Item ?? {};
  /**
   * Snapshots whose every fold into `sku`'s group is preceded by another writer folding a newer image of
   * the first shard still owed (`rounds` times): what a relay racing the sweeper's reconciliation, or a
   * redelivered batch, can make. DynamoDB Local runs the writes one after the other; only the interleaving
   * is arranged.
   */
  const racedBy = (sku: string, owed: number[], rounds: number) => {
    let raced = 0;
    const racing = new Proxy(client, {
      get(target, property, receiver) {
        if (property !== 'send') return Reflect.get(target, property, receiver);
        return async (command: UpdateCommand) => {
          const folding = command instanceof UpdateCommand && command.input.Key?.pk === keys.snapshot(sku, 0).pk;
          const shard = folding && raced++ < rounds ? owed.shift() : undefined;
          if (shard !== undefined) await snapshots.foldShardImages(sku, [image(shard, 9)]);
          return target.send(command);
        };
      },
    });
    return new DynamoDbStockSnapshots(racing, tableName);
  };

  test('of two relays folding into one SKU’s groups at once, the one that reads last sees both folds', async () => {
    const sku = 'WIDE-TWO-RELAYS';
    const shards = 2 * SHARDS_PER_SNAPSHOT_GROUP;
    const all = Array.from({ length: shards }, (_, shard) => image(shard, 1));
    // Relay X carries the first shard of each group; relay Y (on other stream shards) the rest.
    const carriedByX = (shard: number) => shard % SHARDS_PER_SNAPSHOT_GROUP === 0;
    // X folds into group 0, then Y folds into both groups and composes, then X folds into group 1.
    let releaseX: () => void = () => undefined;
    const xMayFoldGroup1 = new Promise<void>((resolve) => {
      releaseX = resolve;
    });
    let group0Folded: () => void = () => undefined;
    const xFoldedGroup0 = new Promise<void>((resolve) => {
      group0Folded = resolve;
    });
    const gated = new Proxy(client, {
      get(target, property, receiver) {
        if (property !== 'send') return Reflect.get(target, property, receiver);
        return async (command: UpdateCommand) => {
          const pk = command instanceof UpdateCommand ? command.input.Key?.pk : undefined;
          if (pk === keys.snapshot(sku, 1).pk) await xMayFoldGroup1;
          const answer = await target.send(command);
          if (pk === keys.snapshot(sku, 0).pk) group0Folded();
          return answer;
        };
      },
    });

    const fromX = new DynamoDbStockSnapshots(gated, tableName).mergeShardImages(
      sku,
      all.filter((shard) => carriedByX(shard.shard)),
      shards,
    );
    await xFoldedGroup0;
    const fromY = await snapshots.mergeShardImages(
      sku,
      all.filter((shard) => !carriedByX(shard.shard)),
      shards,
    );
    releaseX();

    // Y composed before X's second fold: it has nothing whole to publish. X, reading after both, has.
    expect(fromY).toBeUndefined();
    const merged = await fromX;
    expect(merged?.map((shard) => shard.version)).toEqual(all.map(() => 1));
    expect(snapshotOf(sku, merged ?? [])).toMatchObject({ supplied: shards * 10, available: shards * 9 });
  });

  test('a fold that loses a race folds what is still newer', async () => {
    const sku = 'WIDE-RACE-1';
    await racedBy(sku, [0], 1).foldShardImages(
      sku,
      [0, 1, 2].map((shard) => image(shard, 5)),
    );

    const held = await group(sku);
    expect([held.shard0?.[0], held.shard1?.[0], held.shard2?.[0]]).toEqual([9, 5, 5]);
  });

  test('a fold that keeps losing fails its batch for the stream to deliver again, rather than drop its images', async () => {
    const sku = 'WIDE-RACE-2';
    const images = Array.from({ length: 8 }, (_, shard) => image(shard, 5));

    await expect(racedBy(sku, [0, 1, 2, 3, 4, 5, 6, 7], 8).foldShardImages(sku, images)).rejects.toThrow(
      'kept changing',
    );
    // Each failed fold lost to a newer image of one shard: MAX_FOLD_ATTEMPTS of them are in.
    const raced = Array.from({ length: 8 }, (_, shard) => (shard < MAX_FOLD_ATTEMPTS ? 9 : 5));
    // The batch again, with the other writer done: every image it carries is in, none rolled back.
    await snapshots.foldShardImages(sku, images);

    const held = await group(sku);
    expect(Array.from({ length: 8 }, (_, shard) => held[`shard${shard}`]?.[0])).toEqual(raced);
  });
});
