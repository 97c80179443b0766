/**
 * The outbox's two destinations, written once for the stream relay and the
 * redrive: orders to the orders queue (deduplicated by reservation) and
 * versioned stock snapshots to the inventory topic (deduplicated by
 * `sku:version`). Sending either twice is harmless by design.
 */
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { PublishCommand } from '@aws-sdk/client-sns';
import { SendMessageBatchCommand } from '@aws-sdk/client-sqs';
import {
  ORDER_PLACED_SCHEMA,
  type OrderPlaced,
  type StockChangeReason,
  type StockEvent,
} from '../../contract/messages';
import { metricNames } from '../../contract/metrics';
import type { Order, ShardImage } from '../domain/model';
import { stockEvent } from './events';
import { store } from './inventory';
import { inventoryTopicArn, ordersQueueUrl, sns, sqs } from './messaging';
import { logger, metrics } from './powertools';

export const orderPlaced = (order: Pick<Order, 'orderId' | 'reservationId' | 'sku' | 'quantity'>): OrderPlaced => ({
  schema: ORDER_PLACED_SCHEMA,
  orderId: order.orderId,
  reservationId: order.reservationId,
  sku: order.sku,
  quantity: order.quantity,
});

/** Throws when any order was not enqueued: the caller's retry resends them all, and dedup ids absorb the repeats. */
export async function enqueueOrders(orders: readonly OrderPlaced[]): Promise<void> {
  for (let start = 0; start < orders.length; start += 10) {
    const batch = orders.slice(start, start + 10);
    const { Failed } = await sqs.send(
      new SendMessageBatchCommand({
        QueueUrl: ordersQueueUrl(),
        Entries: batch.map((order, index) => ({
          Id: String(index),
          MessageBody: JSON.stringify(order),
          MessageGroupId: order.orderId,
          MessageDeduplicationId: order.reservationId,
        })),
      }),
    );
    if (Failed && Failed.length > 0) throw new Error(`${Failed.length} orders were not enqueued`);
  }
}

/**
 * Publishes the SKU's snapshot after folding `images` in: the shard images a
 * stream batch carried, or (for an operator's redrive, when none are given)
 * every shard read in one transaction. On the hot path nothing reads a stock
 * shard, so a snapshot never contends with the holds it reports. Undefined
 * when the product does not exist or not every shard has been seen yet (the
 * batch that carries the missing shard publishes).
 */
export async function publishSnapshot(
  sku: string,
  reasons: readonly StockChangeReason[],
  images?: readonly ShardImage[],
): Promise<StockEvent | undefined> {
  const product = await store.getProduct(sku);
  if (!product) {
    // A wide product writes its shards before its product item: keep their images for the snapshot.
    if (images) await store.foldShardImages(sku, images);
    return undefined;
  }
  const seen = images ?? (await store.shardImages(sku, product.shards));
  const merged = await store.mergeShardImages(sku, seen, product.shards);
  if (!merged) return undefined;
  const snapshot = stockEvent(merged, reasons, new Date());
  // Every shard image is balanced on its own (each transaction keeps it so): drift is a broken promise, alarmed on.
  const drift = Math.abs(snapshot.supplied - snapshot.available - snapshot.held - snapshot.sold);
  metrics.addMetric(metricNames.ledgerDrift, MetricUnit.Count, drift);
  if (drift > 0) logger.error('Inventory ledger drift', { sku, drift, version: snapshot.version });
  await sns.send(
    new PublishCommand({
      TopicArn: inventoryTopicArn(),
      Message: JSON.stringify(snapshot),
      MessageGroupId: sku,
      MessageDeduplicationId: `${sku}:${snapshot.version}`,
      MessageAttributes: {
        type: { DataType: 'String', StringValue: snapshot.type },
        sku: { DataType: 'String', StringValue: sku },
        reasons: { DataType: 'String.Array', StringValue: JSON.stringify(snapshot.reasons) },
      },
    }),
  );
  return snapshot;
}

/** How often the sweeper rebuilds each SKU's snapshot from its shards. */
export const RECONCILE_EVERY_MS = 30_000;

/**
 * Rebuilds every SKU's snapshot, stock vector and channel snapshot from its
 * shards (plain strongly consistent reads, never a transaction), so a stream
 * record the relay lost — past its retries or its age — is repaired within
 * `RECONCILE_EVERY_MS`, not when the shard next changes. A SKU whose shards
 * add up to the version its stock vector was written at is left alone: no
 * write, no message.
 */
export async function reconcileSnapshots(limit = 200): Promise<number> {
  let reconciled = 0;
  for (const sku of await store.listStockVectors(limit)) {
    const product = await store.getProduct(sku);
    if (!product) continue;
    const before = await store.stockVectorVersion(sku);
    const images = await store.readShardImages(sku, product.shards);
    // The vector was written at the sum of its shards' versions: the same sum now means nothing was lost.
    if (before !== undefined && images.reduce((sum, image) => sum + image.version, 0) <= before) continue;
    await publishSnapshot(sku, [], images);
    reconciled++;
  }
  return reconciled;
}
