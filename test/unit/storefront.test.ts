/**
 * @jest-environment node
 *
 * The storefront's availability on in-memory fakes of the ports: answered
 * from the read model the storefront channel keeps, trusted for the stock
 * view's lifetime, and from the shards until the first snapshot arrives.
 */
import { NotFoundError } from '../../lambdas/domain/errors';
import { stockEvent } from '../../lambdas/domain/stock-events';
import { READ_MODEL_CHANNEL } from '../../lambdas/domain/storefront';
import { type Drop, fakeDrop } from '../support/fakes/drop';

const TTL_MS = 1_000;

/** The storefront channel applies a snapshot saying `available` units, at `version`. */
async function applyView(drop: Drop, sku: string, available: number, version: number) {
  const snapshot = { sku, version, supplied: 10, available, held: 10 - available, sold: 0, released: 0, expired: 0 };
  await drop.channelViews.apply(READ_MODEL_CHANNEL, stockEvent(snapshot, [], new Date(drop.clock.now())));
}

test('answers the storefront channel’s view once a snapshot has been applied', async () => {
  const drop = fakeDrop({ viewTtlMs: TTL_MS });
  const product = await drop.product({ stock: 10 });
  await applyView(drop, product.sku, 7, 3);

  const availability = await drop.storefront.availability(product.sku);

  expect(availability).toEqual({ product, available: 7 });
  expect(drop.store.faults.calls('readShards')).toBe(0);
});

test('answers from the shards until the first snapshot reaches the view', async () => {
  const drop = fakeDrop({ viewTtlMs: TTL_MS });
  const { sku } = await drop.product({ stock: 10 });
  await drop.inventory.reserve({ sku, customerId: 'alice', quantity: 2, idempotencyKey: 'a' });

  const { available } = await drop.storefront.availability(sku);

  expect(available).toBe(8);
});

test('trusts a read of the view for the view’s lifetime, then reads it again', async () => {
  const drop = fakeDrop({ viewTtlMs: TTL_MS });
  const { sku } = await drop.product({ stock: 10 });
  await applyView(drop, sku, 7, 3);
  await drop.storefront.availability(sku);
  await applyView(drop, sku, 4, 4);

  const within = await drop.storefront.availability(sku);
  drop.clock.advance(TTL_MS);
  const after = await drop.storefront.availability(sku);

  expect(within.available).toBe(7);
  expect(after.available).toBe(4);
  expect(drop.channelViews.faults.calls('views')).toBe(2);
});

test('a SKU with no product is not found, view or not', async () => {
  const drop = fakeDrop({ viewTtlMs: TTL_MS });
  await applyView(drop, 'ghost', 5, 1);

  await expect(drop.storefront.availability('ghost')).rejects.toBeInstanceOf(NotFoundError);
  await expect(drop.storefront.availability('nothing')).rejects.toBeInstanceOf(NotFoundError);
});
