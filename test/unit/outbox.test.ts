/**
 * @jest-environment node
 *
 * The outbox relay and the operator's redrive on in-memory fakes of the
 * ports: orders reach the orders queue and stock snapshots the inventory
 * topic, a failed send is retried whole, and a redrive recovers what a lost
 * stream range would have carried.
 */
import { orderPlaced, type StockChanges } from '../../lambdas/domain/outbox';
import { type Drop, fakeDrop } from '../support/fakes/drop';
import { TransientFaultError } from '../support/fakes/faults';

/** A hold of `quantity` by `customerId`, checked out: its order is PLACED. */
async function placeOrder(drop: Drop, sku: string, customerId: string, quantity = 1) {
  const { reservation } = await drop.inventory.reserve({ sku, customerId, quantity, idempotencyKey: customerId });
  const { order } = await drop.checkout.checkout(reservation.reservationId, 'tok_visa');
  return order;
}

/** What a stream batch carries for these SKUs: every shard's newest image. */
async function changesOf(
  drop: Drop,
  ...products: ReadonlyArray<{ sku: string; shards: number }>
): Promise<StockChanges> {
  return new Map(
    await Promise.all(
      products.map(
        async ({ sku, shards }) =>
          [sku, { reasons: ['reserved' as const], images: await drop.store.readShardImages(sku, shards) }] as const,
      ),
    ),
  );
}

describe('relay', () => {
  test('sends every new order to the queue and one snapshot per SKU that changed', async () => {
    const drop = fakeDrop();
    const shoes = await drop.product({ stock: 10, shards: 2 });
    const hats = await drop.product({ stock: 5, shards: 1 });
    const orders = [await placeOrder(drop, shoes.sku, 'alice'), await placeOrder(drop, hats.sku, 'bob', 2)];

    await drop.outbox.relay(orders.map(orderPlaced), await changesOf(drop, shoes, hats));

    expect(drop.queue.orders().map((order) => order.orderId)).toEqual(orders.map((order) => order.orderId));
    expect(drop.topic.events(shoes.sku)).toMatchObject([{ available: 9, sold: 1 }]);
    expect(drop.topic.events(hats.sku)).toMatchObject([{ available: 3, sold: 2 }]);
  });

  test('fails the batch when the queue refuses, and the redelivered batch sends each message once', async () => {
    const drop = fakeDrop();
    const product = await drop.product({ stock: 10, shards: 1 });
    const order = await placeOrder(drop, product.sku, 'alice');
    const changes = await changesOf(drop, product);
    drop.queue.faults.fail('enqueueOrders', new TransientFaultError('throttled'));

    await expect(drop.outbox.relay([orderPlaced(order)], changes)).rejects.toBeInstanceOf(TransientFaultError);
    await drop.outbox.relay([orderPlaced(order)], changes);
    await drop.outbox.relay([orderPlaced(order)], changes);

    expect(drop.queue.orders()).toHaveLength(1);
    expect(drop.topic.events(product.sku)).toHaveLength(1);
  });

  test('fails the batch when a snapshot cannot be published', async () => {
    const drop = fakeDrop();
    const product = await drop.product({ stock: 10, shards: 1 });
    drop.topic.faults.fail('publishStockEvent', new TransientFaultError());

    await expect(drop.outbox.relay([], await changesOf(drop, product))).rejects.toBeInstanceOf(TransientFaultError);

    expect(drop.topic.events()).toEqual([]);
  });
});

describe('redrive', () => {
  test('sends again every order still PLACED, none fulfilled, and gives every SKU a fresh snapshot', async () => {
    const drop = fakeDrop();
    const shoes = await drop.product({ stock: 10, shards: 2 });
    const hats = await drop.product({ stock: 5, shards: 1 });
    const placed = await placeOrder(drop, shoes.sku, 'alice');
    const fulfilled = await placeOrder(drop, hats.sku, 'bob');
    await drop.fulfilment.fulfil(fulfilled.orderId);

    const result = await drop.outbox.redrive({ dryRun: false });

    expect(result).toMatchObject({ dryRun: false, orders: 1, snapshots: 2 });
    expect(drop.queue.orders().map((order) => order.orderId)).toEqual([placed.orderId]);
    expect(drop.topic.events(shoes.sku)).toMatchObject([{ available: 9, sold: 1 }]);
    expect(drop.topic.events(hats.sku)).toMatchObject([{ available: 4, sold: 1 }]);
  });

  test('a dry run counts what it would send and sends nothing', async () => {
    const drop = fakeDrop();
    const shoes = await drop.product({ stock: 10, shards: 2 });
    await placeOrder(drop, shoes.sku, 'alice');

    const result = await drop.outbox.redrive({ dryRun: true });

    expect(result).toMatchObject({ dryRun: true, orders: 1, snapshots: 1 });
    expect(drop.queue.orders()).toEqual([]);
    expect(drop.topic.events()).toEqual([]);
  });

  test('only the SKUs asked: their orders and their snapshots', async () => {
    const drop = fakeDrop();
    const shoes = await drop.product({ stock: 10, shards: 2 });
    const hats = await drop.product({ stock: 5, shards: 1 });
    await placeOrder(drop, shoes.sku, 'alice');
    const hat = await placeOrder(drop, hats.sku, 'bob');

    const result = await drop.outbox.redrive({ skus: [hats.sku], dryRun: false });

    expect(result).toMatchObject({ orders: 1, snapshots: 1 });
    expect(drop.queue.orders().map((order) => order.orderId)).toEqual([hat.orderId]);
    expect(drop.topic.events().map((event) => event.sku)).toEqual([hats.sku]);
  });

  test('tells the running totals after each page', async () => {
    const drop = fakeDrop();
    const shoes = await drop.product({ stock: 10, shards: 2 });
    await placeOrder(drop, shoes.sku, 'alice');
    const pages: unknown[] = [];

    await drop.outbox.redrive({ dryRun: true }, (progress) => pages.push(progress));

    expect(pages).toEqual([{ scanned: expect.any(Number), orders: 1, skus: 1 }]);
  });
});
