/**
 * The outbox's two destinations: orders to the orders queue (deduplicated by
 * reservation) and versioned stock snapshots to the inventory topic
 * (deduplicated by `sku:version`). Sending either twice is harmless by design.
 */
import { PublishCommand, type SNSClient } from '@aws-sdk/client-sns';
import { SendMessageBatchCommand, type SQSClient } from '@aws-sdk/client-sqs';
import type { DropStateEvent } from '../../contract/edge-values';
import type { OrderPlaced, StockEvent } from '../../contract/messages';
import type { OrderQueue, StockEventTopic } from '../domain/ports';

/** SendMessageBatch takes at most 10 messages. */
const SQS_BATCH = 10;

/** The orders queue, its URL read when first sent to. */
export class SqsOrderQueue implements OrderQueue {
  constructor(
    private readonly sqs: SQSClient,
    private readonly queueUrl: () => string,
  ) {}

  async enqueueOrders(orders: readonly OrderPlaced[]): Promise<void> {
    for (let start = 0; start < orders.length; start += SQS_BATCH) {
      const batch = orders.slice(start, start + SQS_BATCH);
      const { Failed } = await this.sqs.send(
        new SendMessageBatchCommand({
          QueueUrl: this.queueUrl(),
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
}

/** The inventory topic, its ARN read when first published to. */
export class SnsStockEventTopic implements StockEventTopic {
  constructor(
    private readonly sns: SNSClient,
    private readonly topicArn: () => string,
  ) {}

  async publishStockEvent(event: StockEvent): Promise<void> {
    await this.sns.send(
      new PublishCommand({
        TopicArn: this.topicArn(),
        Message: JSON.stringify(event),
        MessageGroupId: event.sku,
        MessageDeduplicationId: `${event.sku}:${event.version}`,
        MessageAttributes: {
          type: { DataType: 'String', StringValue: event.type },
          sku: { DataType: 'String', StringValue: event.sku },
          reasons: { DataType: 'String.Array', StringValue: JSON.stringify(event.reasons) },
        },
      }),
    );
  }

  async publishDropState(event: DropStateEvent): Promise<void> {
    await this.sns.send(
      new PublishCommand({
        TopicArn: this.topicArn(),
        Message: JSON.stringify(event),
        MessageGroupId: event.sku,
        // Each product revision once: a stream batch redelivered publishes nothing new.
        MessageDeduplicationId: `${event.sku}:drop:${event.revision}`,
        MessageAttributes: {
          type: { DataType: 'String', StringValue: event.type },
          sku: { DataType: 'String', StringValue: event.sku },
        },
      }),
    );
  }
}
