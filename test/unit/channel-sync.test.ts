/**
 * @jest-environment node
 *
 * Channel sync's report on in-memory fakes of the ports: the truth the shards
 * hold beside each channel's view, so an operator sees how far each is behind.
 */
import { NotFoundError } from '../../lambdas/domain/errors';
import { stockEvent } from '../../lambdas/domain/stock-events';
import { DROP_CHANNELS, fakeDrop } from '../support/fakes/drop';

test('reports the shards’ truth beside the views that exist, in the channels’ order', async () => {
  const drop = fakeDrop();
  const { sku } = await drop.product({ stock: 10, shards: 2 });
  const published = await drop.snapshots.publish(sku, [], await drop.store.readShardImages(sku, 2));
  await drop.inventory.reserve({ sku, customerId: 'alice', quantity: 2, idempotencyKey: 'a' });
  const [first, , last] = DROP_CHANNELS as [string, string, string];
  await drop.channelViews.apply(last, published as NonNullable<typeof published>);
  await drop.channelViews.apply(first, published as NonNullable<typeof published>);

  const report = await drop.channelSync.report(sku);

  expect(report.truth).toMatchObject({ sku, supplied: 10, available: 8, held: 2 });
  expect(report.channels).toEqual(DROP_CHANNELS);
  expect(report.views.map((view) => [view.channel, view.available])).toEqual([
    [first, 10],
    [last, 10],
  ]);
});

test('the truth counts every change, including one no channel has seen yet', async () => {
  const drop = fakeDrop();
  const { sku } = await drop.product({ stock: 10, shards: 2 });
  await drop.inventory.reserve({ sku, customerId: 'alice', quantity: 2, idempotencyKey: 'a' });
  const truth = await drop.store.snapshot(sku, 2);
  await drop.channelViews.apply(DROP_CHANNELS[0] as string, stockEvent(truth, ['reserved'], new Date()));

  const report = await drop.channelSync.report(sku);

  expect(report.views[0]?.version).toBe(report.truth.version);
  await drop.inventory.reserve({ sku, customerId: 'bob', quantity: 1, idempotencyKey: 'b' });
  const later = await drop.channelSync.report(sku);
  expect(later.truth.version).toBeGreaterThan(later.views[0]?.version ?? Number.POSITIVE_INFINITY);
});

test('a SKU with no product is not found', async () => {
  const drop = fakeDrop();

  await expect(drop.channelSync.report('nothing')).rejects.toBeInstanceOf(NotFoundError);
});
