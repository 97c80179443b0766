// (DynamoDB Streams) --> relay the outbox: new orders --> SQS FIFO; stock changes --> coalesced snapshots --> SNS FIFO;
// drop-state changes --> SNS FIFO
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import type { DynamoDBStreamEvent } from 'aws-lambda';
import type { DropStateEvent } from '../../contract/edge-values';
import type { OrderPlaced, StockChangeReason } from '../../contract/messages';
import { metricNames } from '../../contract/metrics';
import { shardImageOf } from '../adapters/dynamodb-inventory-items';
import type { ShardImage } from '../domain/model';
import { dropStateChange, orderPlaced, type ProductImage, type StockChanges } from '../domain/outbox';
import { stockChangeReasons } from '../domain/stock-events';
import { outbox } from '../shared/composition';
import { eventHandler } from '../shared/event-handler';
import { logger } from '../shared/powertools/logger';
import { metrics } from '../shared/powertools/metrics';

type Image = Record<string, unknown>;

const image = (raw: unknown): Image | undefined =>
  raw ? unmarshall(raw as Record<string, AttributeValue>) : undefined;

const productImage = (item: Image): ProductImage => ({
  sku: String(item.sku),
  dropState: item.dropState === 'PAUSED' || item.dropState === 'CLOSED' ? item.dropState : 'OPEN',
  dropStartsAt: String(item.dropStartsAt),
  waitingRoom: item.waitingRoom === true,
  revision: Number(item.revision ?? 0),
  ...(Number.isInteger(item.holdSeconds) ? { holdSeconds: Number(item.holdSeconds) } : {}),
});

/**
 * One stream batch: every new order goes to the orders queue (deduplicated by
 * reservation), and every SKU whose shards changed gets one snapshot, however
 * many reservations the batch holds — a hot SKU changes far more often than
 * an SNS FIFO message group carries (~300/s). The snapshot is built from the
 * shard images the stream carries (the newest of each shard), never by
 * reading the hot shards. A product's creation publishes its first snapshot
 * when its shards' records got there first (a wide product writes them before
 * the product item).
 */
export async function publishChanges(event: DynamoDBStreamEvent): Promise<{ orders: number; snapshots: number }> {
  const orders: OrderPlaced[] = [];
  const changedSkus = new Map<string, Set<StockChangeReason>>();
  const newestShards = new Map<string, Map<number, ShardImage>>();
  const drops: DropStateEvent[] = [];
  const created: string[] = [];
  const publishedAt = new Date().toISOString();
  for (const record of event.Records) {
    const after = image(record.dynamodb?.NewImage);
    const before = image(record.dynamodb?.OldImage);
    if (after?.kind === 'order' && record.eventName === 'INSERT') {
      orders.push(
        orderPlaced({
          orderId: String(after.orderId),
          reservationId: String(after.reservationId),
          sku: String(after.sku),
          quantity: Number(after.quantity),
        }),
      );
    }
    if (after?.kind === 'product') {
      const drop = dropStateChange(before && productImage(before), productImage(after), publishedAt);
      if (drop) drops.push(drop);
      if (record.eventName === 'INSERT') created.push(String(after.sku));
    }
    if (after?.kind === 'stock') {
      const reasons = changedSkus.get(String(after.sku)) ?? new Set<StockChangeReason>();
      for (const reason of stockChangeReasons(before, after)) reasons.add(reason);
      changedSkus.set(String(after.sku), reasons);
      const shards = newestShards.get(String(after.sku)) ?? new Map<number, ShardImage>();
      const image = shardImageOf(after);
      if ((shards.get(image.shard)?.version ?? -1) < image.version) shards.set(image.shard, image);
      newestShards.set(String(after.sku), shards);
    }
  }

  const changes: StockChanges = new Map(
    [...changedSkus].map(([sku, reasons]) => [
      sku,
      { reasons: [...reasons], images: [...(newestShards.get(sku)?.values() ?? [])] },
    ]),
  );
  // Throwing makes the stream redeliver the batch; dedup ids make the resend harmless.
  await outbox.relay(orders, changes, drops, created);
  metrics.addMetric(metricNames.ordersRelayed, MetricUnit.Count, orders.length);
  metrics.addMetric(metricNames.stockSnapshotsPublished, MetricUnit.Count, changedSkus.size);
  if (orders.length + changedSkus.size > 0) {
    logger.debug('Relayed changes', {
      records: event.Records.length,
      orders: orders.length,
      snapshots: changedSkus.size,
    });
  }
  return { orders: orders.length, snapshots: changedSkus.size };
}

export const handler = eventHandler(publishChanges);
