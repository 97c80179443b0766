// (DynamoDB Streams) --> relay the outbox: new orders --> SQS FIFO; stock changes --> coalesced snapshots --> SNS FIFO
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import { captureLambdaHandler } from '@aws-lambda-powertools/tracer/middleware';
import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import { PublishCommand } from '@aws-sdk/client-sns';
import { SendMessageBatchCommand } from '@aws-sdk/client-sqs';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import middy from '@middy/core';
import type { DynamoDBStreamEvent } from 'aws-lambda';
import {
  ORDER_PLACED_SCHEMA,
  type OrderPlaced,
  type StockChangeReason,
  stockChangeReasons,
  stockEvent,
} from '../shared/events';
import { store } from '../shared/inventory';
import { inventoryTopicArn, ordersQueueUrl, sns, sqs } from '../shared/messaging';
import { logger, metrics, tracer } from '../shared/powertools';

type Image = Record<string, unknown>;

const image = (raw: unknown): Image | undefined =>
  raw ? unmarshall(raw as Record<string, AttributeValue>) : undefined;

/**
 * One stream batch: every new order goes to the orders queue (deduplicated by
 * reservation), and every SKU whose shards changed gets one snapshot, however
 * many reservations the batch holds — a hot SKU changes far more often than
 * an SNS FIFO message group carries (~300/s).
 */
export async function publishChanges(event: DynamoDBStreamEvent): Promise<{ orders: number; snapshots: number }> {
  const orders: OrderPlaced[] = [];
  const changedSkus = new Map<string, Set<StockChangeReason>>();
  for (const record of event.Records) {
    const after = image(record.dynamodb?.NewImage);
    const before = image(record.dynamodb?.OldImage);
    if (after?.kind === 'order' && record.eventName === 'INSERT') {
      orders.push({
        schema: ORDER_PLACED_SCHEMA,
        orderId: String(after.orderId),
        reservationId: String(after.reservationId),
        sku: String(after.sku),
        quantity: Number(after.quantity),
      });
    }
    if (after?.kind === 'stock') {
      const reasons = changedSkus.get(String(after.sku)) ?? new Set<StockChangeReason>();
      for (const reason of stockChangeReasons(before, after)) reasons.add(reason);
      changedSkus.set(String(after.sku), reasons);
    }
  }

  for (let start = 0; start < orders.length; start += 10) {
    const batch = orders.slice(start, start + 10);
    const { Failed } = await sqs.send(
      new SendMessageBatchCommand({
        QueueUrl: ordersQueueUrl,
        Entries: batch.map((order, index) => ({
          Id: String(index),
          MessageBody: JSON.stringify(order),
          MessageGroupId: order.orderId,
          MessageDeduplicationId: order.reservationId,
        })),
      }),
    );
    // Throwing makes the stream redeliver the batch; dedup ids make the resend harmless.
    if (Failed && Failed.length > 0) throw new Error(`${Failed.length} orders were not enqueued`);
  }

  for (const [sku, reasons] of changedSkus) {
    const product = await store.getProduct(sku);
    if (!product) continue;
    const snapshot = stockEvent(await store.snapshot(sku, product.shards), [...reasons], new Date());
    // The snapshot is one serializable read: any drift here is a broken promise, alarmed on.
    const drift = Math.abs(snapshot.supplied - snapshot.available - snapshot.held - snapshot.sold);
    metrics.addMetric('LedgerDrift', MetricUnit.Count, drift);
    if (drift > 0) logger.error('Inventory ledger drift', { sku, drift, version: snapshot.version });
    await sns.send(
      new PublishCommand({
        TopicArn: inventoryTopicArn,
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
  }
  metrics.addMetric('OrdersRelayed', MetricUnit.Count, orders.length);
  metrics.addMetric('StockSnapshotsPublished', MetricUnit.Count, changedSkus.size);
  if (orders.length + changedSkus.size > 0) {
    logger.debug('Relayed changes', {
      records: event.Records.length,
      orders: orders.length,
      snapshots: changedSkus.size,
    });
  }
  return { orders: orders.length, snapshots: changedSkus.size };
}

export const handler = middy<DynamoDBStreamEvent>()
  .use(captureLambdaHandler(tracer))
  .use(injectLambdaContext(logger))
  .use(logMetrics(metrics))
  .handler(publishChanges);
