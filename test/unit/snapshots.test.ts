/**
 * @jest-environment node
 *
 * Stock snapshots on in-memory fakes of the ports: folded from the shard
 * images a stream batch carries, published to the channels' topic, kept in
 * the stock vector every stock view reads, and rebuilt by the sweeper when a
 * stream record was lost.
 */

import type { StockEvent } from '../../contract/messages';
import type { ShardImage } from '../../lambdas/domain/model';
import { MAX_RECONCILE_FAILURES, Snapshots } from '../../lambdas/domain/outbox';
import { type Drop, fakeDrop } from '../support/fakes/drop';
import { TransientFaultError } from '../support/fakes/faults';

/** The images of `shards` new shards of 3 units each, as a wide product writes them before its product item. */
function newShards(shards: number): ShardImage[] {
  return Array.from({ length: shards }, (_, shard) => ({
    shard,
    version: 0,
    supplied: 3,
    available: 3,
    held: 0,
    sold: 0,
    released: 0,
    expired: 0,
  }));
}

/** The images a stream batch would carry for these shards: each as its last write left it. */
async function streamImages(drop: Drop, sku: string, shards: number, only?: readonly number[]): Promise<ShardImage[]> {
  const images = await drop.store.readShardImages(sku, shards);
  return only ? images.filter((image) => only.includes(image.shard)) : images;
}

describe('publish', () => {
  test('publishes the snapshot the shard images add up to, and keeps its stock vector', async () => {
    const drop = fakeDrop();
    const { sku } = await drop.product({ stock: 10, shards: 2 });
    await drop.inventory.reserve({ sku, customerId: 'alice', quantity: 2, idempotencyKey: 'a' });

    const event = await drop.snapshots.publish(sku, ['reserved'], await streamImages(drop, sku, 2));

    expect(event).toMatchObject({ sku, type: 'stock-changed', supplied: 10, available: 8, held: 2, sold: 0 });
    expect(drop.topic.events(sku)).toEqual([event]);
    expect(await drop.store.readStockVector(sku, 1)).toEqual([3, 5]);
    expect(await drop.store.stockVectorVersion(sku)).toBe(event?.version);
  });

  test('publishes nothing until every shard of the SKU has been seen', async () => {
    const drop = fakeDrop();
    const { sku } = await drop.product({ stock: 10, shards: 2 });

    const partial = await drop.snapshots.publish(sku, [], await streamImages(drop, sku, 2, [0]));
    const completed = await drop.snapshots.publish(sku, [], await streamImages(drop, sku, 2, [1]));

    expect(partial).toBeUndefined();
    expect(completed).toMatchObject({ supplied: 10, available: 10 });
    expect(drop.topic.events(sku)).toHaveLength(1);
  });

  test('an image older than the one folded in never rolls the snapshot back', async () => {
    const drop = fakeDrop();
    const { sku } = await drop.product({ stock: 10, shards: 1 });
    const before = await streamImages(drop, sku, 1);
    await drop.inventory.reserve({ sku, customerId: 'alice', quantity: 2, idempotencyKey: 'a' });
    const newest = await drop.snapshots.publish(sku, ['reserved'], await streamImages(drop, sku, 1));

    const late = await drop.snapshots.publish(sku, [], before);

    expect(late).toMatchObject({ version: newest?.version, available: 8 });
    expect(await drop.store.readStockVector(sku, 1)).toEqual([8]);
    expect(drop.topic.events(sku)).toHaveLength(1);
  });

  test('types the event by the stock left: low at a tenth of supply, sold out at zero', async () => {
    const drop = fakeDrop();
    const { sku } = await drop.product({ stock: 10, shards: 1, maxPerCustomer: 10 });
    await drop.inventory.reserve({ sku, customerId: 'alice', quantity: 9, idempotencyKey: 'a' });
    const low = await drop.snapshots.publish(sku, ['reserved'], await streamImages(drop, sku, 1));
    await drop.inventory.reserve({ sku, customerId: 'bob', quantity: 1, idempotencyKey: 'b' });

    const gone = await drop.snapshots.publish(sku, ['reserved'], await streamImages(drop, sku, 1));

    expect(low).toMatchObject({ type: 'low-stock', available: 1 });
    expect(gone).toMatchObject({ type: 'sold-out', available: 0 });
  });

  test('carries the units that came back, released or expired, so held + sold + returned only grows', async () => {
    const drop = fakeDrop();
    const { sku } = await drop.product({ stock: 10, shards: 2, maxPerCustomer: 10, holdSeconds: 60 });
    const released = await drop.inventory.reserve({ sku, customerId: 'alice', quantity: 2, idempotencyKey: 'a' });
    await drop.inventory.reserve({ sku, customerId: 'bob', quantity: 3, idempotencyKey: 'b' });
    await drop.inventory.release(released.reservation.reservationId);
    drop.clock.advance(60_000);
    await drop.inventory.expireDueHolds();
    await drop.inventory.restock({ sku, quantity: 4, idempotencyKey: 'r' });

    const event = await drop.snapshots.publish(sku, [], await streamImages(drop, sku, 2));

    expect(event).toMatchObject({ supplied: 14, available: 14, held: 0, sold: 0, returned: 5 });
  });

  test('a redrive, given no images, reads every shard and publishes the ledger', async () => {
    const drop = fakeDrop();
    const { sku } = await drop.product({ stock: 10, shards: 2 });
    await drop.inventory.reserve({ sku, customerId: 'alice', quantity: 2, idempotencyKey: 'a' });

    const event = await drop.snapshots.publish(sku, []);

    const { supplied, available, held, sold } = await drop.inventory.ledger(sku);
    expect(event).toMatchObject({ supplied, available, held, sold, reasons: [] });
    expect(drop.store.faults.calls('shardImages')).toBe(1);
  });

  test('reports no drift for a balanced ledger, and the units a broken image cannot account for', async () => {
    const drop = fakeDrop();
    const { sku } = await drop.product({ stock: 10, shards: 1 });
    await drop.snapshots.publish(sku, [], await streamImages(drop, sku, 1));
    const broken: ShardImage = {
      shard: 0,
      version: 5,
      supplied: 10,
      available: 4,
      held: 1,
      sold: 2,
      released: 0,
      expired: 0,
    };

    await drop.snapshots.publish(sku, [], [broken]);

    expect(drop.drifts).toEqual([
      { sku, drift: 0, version: 0 },
      { sku, drift: 3, version: 5 },
    ]);
  });

  test('keeps the images of shards written before their product, and publishes once it exists', async () => {
    const drop = fakeDrop();
    const early: ShardImage = {
      shard: 0,
      version: 0,
      supplied: 7,
      available: 7,
      held: 0,
      sold: 0,
      released: 0,
      expired: 0,
    };

    const before = await drop.snapshots.publish('late-product', [], [early]);
    await drop.product({ sku: 'late-product', stock: 7, shards: 1 });
    const after = await drop.snapshots.publish('late-product', [], []);

    expect(before).toBeUndefined();
    expect(after).toMatchObject({ sku: 'late-product', supplied: 7, available: 7 });
  });

  test('publishes a wide product whose every shard was relayed before it existed, when its creation is relayed', async () => {
    const drop = fakeDrop();
    const early = newShards(3);

    // Every shard's record reaches the relay before the product item is written: each is only folded in.
    for (const image of early) expect(await drop.snapshots.publish('all-early', [], [image])).toBeUndefined();
    await drop.product({ sku: 'all-early', stock: 9, shards: 3 });
    const first = await drop.snapshots.publishFirst('all-early');

    expect(first).toMatchObject({ sku: 'all-early', supplied: 9, available: 9, version: 0 });
    expect(await drop.store.readStockVector('all-early', 1)).toEqual([3, 3, 3]);
  });

  test('publishes a product once when its creation is relayed after its shards were published', async () => {
    const drop = fakeDrop();
    const { sku } = await drop.product({ stock: 10, shards: 2 });
    await drop.snapshots.publish(sku, [], await streamImages(drop, sku, 2));

    const first = await drop.snapshots.publishFirst(sku);

    expect(first).toBeUndefined();
    expect(drop.topic.events(sku)).toHaveLength(1);
  });

  test('publishes a product whose creation is relayed between its last shard relay’s read and fold', async () => {
    const drop = fakeDrop();
    const [first, last] = newShards(2) as [ShardImage, ShardImage];
    await drop.snapshots.publish('raced', [], [first]);
    // The last shard's relay reads no product; before it folds its image, the product is written and its
    // creation's relay finds the group without that image (so publishes nothing).
    let created: StockEvent | undefined | 'not run' = 'not run';
    const racing = new Snapshots({
      products: drop.store,
      store: new Proxy(drop.store, {
        get(target, property, receiver) {
          if (property !== 'foldShardImages') return Reflect.get(target, property, receiver);
          return async (sku: string, images: readonly ShardImage[]) => {
            await drop.product({ sku: 'raced', stock: 6, shards: 2 });
            created = await drop.snapshots.publishFirst('raced');
            return target.foldShardImages(sku, images);
          };
        },
      }),
      topic: drop.topic,
      clock: drop.clock,
      reportDrift: () => undefined,
      reportReconcileFailure: () => undefined,
    });

    const published = await racing.publish('raced', [], [last]);

    expect(created).toBeUndefined();
    expect(published).toMatchObject({ sku: 'raced', supplied: 6, available: 6 });
    expect(drop.topic.events('raced')).toHaveLength(1);
  });
});

describe('reconcile', () => {
  test('rebuilds a stock vector a lost stream record left behind, and publishes it', async () => {
    const drop = fakeDrop();
    const { sku } = await drop.product({ stock: 10, shards: 2 });
    await drop.snapshots.publish(sku, [], await streamImages(drop, sku, 2));
    // The hold's stream record never reaches the relay.
    await drop.inventory.reserve({ sku, customerId: 'alice', quantity: 2, idempotencyKey: 'a' });

    const reconciled = await drop.snapshots.reconcile();

    expect(reconciled).toBe(1);
    expect(await drop.store.readStockVector(sku, 1)).toEqual([3, 5]);
    expect(drop.topic.events(sku).at(-1)).toMatchObject({ available: 8, held: 2 });
  });

  test('repairs every other SKU when one fails, reports that one, and repairs it at the next run', async () => {
    const drop = fakeDrop();
    const first = await drop.product({ stock: 10, shards: 2 });
    const second = await drop.product({ stock: 10, shards: 2 });
    for (const { sku } of [first, second]) await drop.snapshots.publish(sku, [], await streamImages(drop, sku, 2));
    // Both vectors go stale; the first SKU's repair fails on its shard read.
    for (const { sku } of [first, second]) {
      await drop.inventory.reserve({ sku, customerId: 'alice', quantity: 2, idempotencyKey: `a-${sku}` });
    }
    drop.store.faults.fail('readShardImages', new TransientFaultError('throttled'));

    expect(await drop.snapshots.reconcile()).toBe(1);
    expect(drop.reconcileFailures.map(({ sku }) => sku)).toEqual([first.sku]);
    expect(drop.topic.events(second.sku).at(-1)).toMatchObject({ available: 8, held: 2 });

    expect(await drop.snapshots.reconcile()).toBe(1);
    expect(drop.topic.events(first.sku).at(-1)).toMatchObject({ available: 8, held: 2 });
  });

  test('repairs again a SKU whose publish failed: its vector is written only after the publish', async () => {
    const drop = fakeDrop();
    const { sku } = await drop.product({ stock: 10, shards: 2 });
    await drop.snapshots.publish(sku, [], await streamImages(drop, sku, 2));
    await drop.inventory.reserve({ sku, customerId: 'alice', quantity: 2, idempotencyKey: 'a' });
    drop.topic.faults.fail('publishStockEvent', new TransientFaultError('throttled'));

    expect(await drop.snapshots.reconcile()).toBe(0);
    expect(await drop.store.readStockVector(sku, 1)).toEqual([5, 5]);
    expect(await drop.snapshots.reconcile()).toBe(1);

    expect(drop.topic.events(sku).at(-1)).toMatchObject({ available: 8, held: 2 });
    expect(await drop.store.readStockVector(sku, 1)).toEqual([3, 5]);
  });

  test('stops a run after MAX_RECONCILE_FAILURES failed SKUs, leaving the rest to the next', async () => {
    const drop = fakeDrop();
    const products = [];
    for (let index = 0; index < MAX_RECONCILE_FAILURES + 2; index++) products.push(await drop.product({ stock: 4 }));
    for (const { sku } of products) await drop.snapshots.publish(sku, [], await streamImages(drop, sku, 2));
    drop.store.faults.fail('readShardImages', new TransientFaultError('timeout'), Number.POSITIVE_INFINITY);
    const readsBefore = drop.store.faults.calls('readShardImages');

    await drop.snapshots.reconcile();

    expect(drop.reconcileFailures).toHaveLength(MAX_RECONCILE_FAILURES);
    expect(drop.store.faults.calls('readShardImages') - readsBefore).toBe(MAX_RECONCILE_FAILURES);
  });

  test('leaves alone a SKU whose shards add up to the version its vector was written at', async () => {
    const drop = fakeDrop();
    const { sku } = await drop.product({ stock: 10, shards: 2 });
    await drop.inventory.reserve({ sku, customerId: 'alice', quantity: 2, idempotencyKey: 'a' });
    await drop.snapshots.publish(sku, ['reserved'], await streamImages(drop, sku, 2));

    const reconciled = await drop.snapshots.reconcile();

    expect(reconciled).toBe(0);
    expect(drop.topic.events(sku)).toHaveLength(1);
    expect(drop.store.faults.calls('mergeShardImages')).toBe(1);
  });
});

describe('a replicated SKU', () => {
  const replicated = () => fakeDrop({ plannedViewReplicas: { BIG: 3 } });

  test('is created with the replicas its plan gives, any other SKU with one', async () => {
    const drop = replicated();

    const big = await drop.product({ sku: 'BIG' });
    const small = await drop.product({ sku: 'SMALL' });

    expect([big.viewReplicas, small.viewReplicas]).toEqual([3, 1]);
  });

  test('has each relay batch folded in, and nothing published or written until the sweeper publishes', async () => {
    const drop = replicated();
    await drop.product({ sku: 'BIG', stock: 10, shards: 2 });
    await drop.inventory.reserve({ sku: 'BIG', customerId: 'alice', quantity: 2, idempotencyKey: 'a' });

    const relayed = await drop.snapshots.publish('BIG', ['reserved'], await streamImages(drop, 'BIG', 2));

    expect(relayed).toBeUndefined();
    expect(drop.topic.events('BIG')).toEqual([]);
    expect(await drop.store.readStockVector('BIG', 3)).toBeUndefined();
  });

  test('is published once by the sweeper, every replica of its stock vector written at that version', async () => {
    const drop = replicated();
    await drop.product({ sku: 'BIG', stock: 10, shards: 2 });
    await drop.inventory.reserve({ sku: 'BIG', customerId: 'alice', quantity: 2, idempotencyKey: 'a' });
    await drop.snapshots.publish('BIG', ['reserved'], await streamImages(drop, 'BIG', 2));

    const published = await drop.snapshots.publishReplicated();

    const [event] = drop.topic.events('BIG');
    expect(published).toBe(1);
    expect(event).toMatchObject({ available: 8, held: 2 });
    expect(drop.store.stockVectorReplicas('BIG')).toEqual(
      new Map([
        [0, event?.version],
        [1, event?.version],
        [2, event?.version],
      ]),
    );
    drop.store.replicaSeed = 2;
    expect(await drop.store.readStockVector('BIG', 3)).toEqual([3, 5]);
  });

  test('is not published again by the sweeper until its snapshot moves on, then with why it moved', async () => {
    const drop = replicated();
    await drop.product({ sku: 'BIG', stock: 10, shards: 2 });
    await drop.snapshots.publish('BIG', [], await streamImages(drop, 'BIG', 2));
    await drop.snapshots.publishReplicated();

    const idle = await drop.snapshots.publishReplicated();
    await drop.inventory.reserve({ sku: 'BIG', customerId: 'alice', quantity: 1, idempotencyKey: 'a' });
    await drop.snapshots.publish('BIG', ['reserved'], await streamImages(drop, 'BIG', 2));
    const moved = await drop.snapshots.publishReplicated();

    expect([idle, moved]).toEqual([0, 1]);
    expect(drop.topic.events('BIG')).toMatchObject([{ available: 10 }, { available: 9, reasons: ['reserved'] }]);
  });

  test('is left to the relay when it has one stock vector', async () => {
    const drop = replicated();
    const { sku } = await drop.product({ stock: 10, shards: 2 });
    await drop.snapshots.publish(sku, [], await streamImages(drop, sku, 2));

    const published = await drop.snapshots.publishReplicated();

    expect(published).toBe(0);
    expect(drop.topic.events(sku)).toHaveLength(1);
  });
});
