import { ArnFormat, Duration, RemovalPolicy, Stack, Tags, Validations } from 'aws-cdk-lib';
import { DeduplicationScope, FifoThroughputLimit, Queue, QueueEncryption } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { dlqName, fifoName, type QueueSpec } from '../../contract/topology';

/** Tag naming each queue's role in the shared topology (what the parity test matches on). */
export const QUEUE_TAG = 'dropline:queue';

export interface FifoQueueWithDlqProps {
  readonly spec: QueueSpec;
  /** Starts both physical names (`<prefix>-<name>.fifo`, `<prefix>-<name>-dlq.fifo`): unique per stage. */
  readonly namePrefix: string;
}

/**
 * A FIFO queue and its FIFO dead-letter queue, from the shared description.
 * Deduplication ids come from the producer (reservation id, sku:version),
 * never from content, so a resend after a crash is recognised.
 *
 * Both are named here: SQS allows 80 characters and CloudFormation does not
 * shorten the FIFO names it generates (`fifoName` refuses a longer one at
 * synth). The dead-letter queue accepts only its own source queue
 * (`RedriveAllowPolicy` `{"redrivePermission":"byQueue","sourceQueueArns":[…]}`, up to 10
 * sources: "AWS::SQS::Queue", RedriveAllowPolicy,
 * https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-properties-sqs-queues.html);
 * the source's ARN is built from its name, as the source's redrive policy
 * already refers to the dead-letter queue and a reference back would be a cycle.
 */
export class FifoQueueWithDlq extends Construct {
  readonly queue: Queue;
  readonly deadLetterQueue: Queue;
  readonly visibilityTimeout: Duration;

  constructor(scope: Construct, id: string, props: FifoQueueWithDlqProps) {
    super(scope, id);
    const { spec, namePrefix } = props;
    const queueName = fifoName(namePrefix, spec.name);
    const sourceArn = Stack.of(this).formatArn({
      service: 'sqs',
      resource: queueName,
      arnFormat: ArnFormat.NO_RESOURCE_NAME,
    });
    this.deadLetterQueue = new Queue(this, 'Dlq', {
      queueName: fifoName(namePrefix, dlqName(spec.name)),
      fifo: true,
      retentionPeriod: Duration.days(14),
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      removalPolicy: RemovalPolicy.RETAIN,
      redriveAllowPolicy: { sourceQueues: [Queue.fromQueueArn(this, 'Source', sourceArn)] },
    });
    Validations.of(this.deadLetterQueue).acknowledge({
      id: 'AwsSolutions-SQS3',
      reason: 'this queue is itself the dead-letter queue of its FIFO queue',
    });
    this.visibilityTimeout = Duration.seconds(spec.visibilityTimeoutSeconds);
    this.queue = new Queue(this, 'Queue', {
      queueName,
      fifo: true,
      contentBasedDeduplication: false,
      // High-throughput FIFO: the 300 calls/s quota applies per message group, not per queue.
      deduplicationScope: DeduplicationScope.MESSAGE_GROUP,
      fifoThroughputLimit: FifoThroughputLimit.PER_MESSAGE_GROUP_ID,
      visibilityTimeout: this.visibilityTimeout,
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
