import { Duration, RemovalPolicy, Tags, Validations } from 'aws-cdk-lib';
import { DeduplicationScope, FifoThroughputLimit, Queue, QueueEncryption } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { dlqName, type QueueSpec } from '../config/messaging';

/** Tag naming each queue's role in the shared topology (what the parity test matches on). */
export const QUEUE_TAG = 'dropline:queue';

/**
 * A FIFO queue and its FIFO dead-letter queue, from the shared description.
 * Deduplication ids come from the producer (reservation id, sku:version),
 * never from content, so a resend after a crash is recognised.
 */
export class FifoQueueWithDlq extends Construct {
  readonly queue: Queue;
  readonly deadLetterQueue: Queue;

  constructor(scope: Construct, id: string, spec: QueueSpec) {
    super(scope, id);
    this.deadLetterQueue = new Queue(this, 'Dlq', {
      fifo: true,
      retentionPeriod: Duration.days(14),
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    Validations.of(this.deadLetterQueue).acknowledge({
      id: 'AwsSolutions-SQS3',
      reason: 'this queue is itself the dead-letter queue of its FIFO queue',
    });
    this.queue = new Queue(this, 'Queue', {
      fifo: true,
      contentBasedDeduplication: false,
      // High-throughput FIFO: the 300 calls/s quota applies per message group, not per queue.
      deduplicationScope: DeduplicationScope.MESSAGE_GROUP,
      fifoThroughputLimit: FifoThroughputLimit.PER_MESSAGE_GROUP_ID,
      visibilityTimeout: Duration.seconds(spec.visibilityTimeoutSeconds),
      retentionPeriod: Duration.days(4),
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      deadLetterQueue: { queue: this.deadLetterQueue, maxReceiveCount: spec.maxReceiveCount },
      removalPolicy: RemovalPolicy.RETAIN,
    });
    Tags.of(this.queue).add(QUEUE_TAG, spec.name);
    Tags.of(this.deadLetterQueue).add(QUEUE_TAG, dlqName(spec.name));
  }
}
