/**
 * Creates the queues, dead-letter queues, the inventory topic and its
 * filtered subscriptions on the emulator, from the same description the CDK
 * stack uses, and returns the addresses the functions need.
 */
import { CreateTopicCommand, SNSClient, SubscribeCommand } from '@aws-sdk/client-sns';
import { CreateQueueCommand, GetQueueAttributesCommand, SQSClient } from '@aws-sdk/client-sqs';
import { envVars } from '../contract/env-vars';
import {
  allQueues,
  channelQueue,
  channels,
  dlqName,
  fifoName,
  inventoryTopic,
  type QueueSpec,
  topicSubscriptions,
} from '../contract/topology';

/**
 * Visibility timeouts on AWS are sized to the function timeout (minutes);
 * locally a failed message comes back after this, so redelivery and the
 * dead-letter path can be watched in seconds.
 */
export const LOCAL_VISIBILITY_TIMEOUT_SECONDS = 2;

export interface LocalMessaging {
  readonly queueUrls: Readonly<Record<string, string>>;
  readonly queueArns: Readonly<Record<string, string>>;
  readonly dlqUrls: Readonly<Record<string, string>>;
  readonly topicArn: string;
}

export async function provisionMessaging(
  endpoints: { sqs: string; sns: string },
  prefix: string,
): Promise<LocalMessaging> {
  const sqs = new SQSClient({ endpoint: endpoints.sqs });
  const sns = new SNSClient({ endpoint: endpoints.sns });
  try {
    const queueUrls: Record<string, string> = {};
    const queueArns: Record<string, string> = {};
    const dlqUrls: Record<string, string> = {};
    for (const spec of allQueues) {
      const { url, dlqUrl } = await createQueueWithDlq(sqs, prefix, spec);
      queueUrls[spec.name] = url;
      queueArns[spec.name] = await arnOf(sqs, url);
      dlqUrls[spec.name] = dlqUrl;
    }
    const { TopicArn } = await sns.send(
      new CreateTopicCommand({
        Name: fifoName(prefix, inventoryTopic.name),
        Attributes: { FifoTopic: 'true', ContentBasedDeduplication: 'false' },
      }),
    );
    if (!TopicArn) throw new Error('The topic was not created');
    for (const { queue, filterPolicy } of topicSubscriptions) {
      await sns.send(
        new SubscribeCommand({
          TopicArn,
          Protocol: 'sqs',
          Endpoint: queueArns[queue.name] as string,
          Attributes: { RawMessageDelivery: 'true', FilterPolicy: JSON.stringify(filterPolicy) },
        }),
      );
    }
    return { queueUrls, queueArns, dlqUrls, topicArn: TopicArn };
  } finally {
    sqs.destroy();
    sns.destroy();
  }
}

/** The variables the stack sets on the functions that read these queues' roles, with the local ARNs. */
export function messagingEnvironment(messaging: LocalMessaging): Record<string, string> {
  return {
    [envVars.channelQueueArns]: JSON.stringify(
      Object.fromEntries(channels.map((channel) => [channel.name, messaging.queueArns[channelQueue(channel).name]])),
    ),
  };
}

async function createQueueWithDlq(sqs: SQSClient, prefix: string, spec: QueueSpec) {
  const fifo = { FifoQueue: 'true', ContentBasedDeduplication: 'false' };
  const dlq = await sqs.send(
    new CreateQueueCommand({
      QueueName: fifoName(prefix, dlqName(spec.name)),
      Attributes: { ...fifo, MessageRetentionPeriod: String(14 * 24 * 3600) },
    }),
  );
  const dlqUrl = dlq.QueueUrl as string;
  const queue = await sqs.send(
    new CreateQueueCommand({
      QueueName: fifoName(prefix, spec.name),
      Attributes: {
        ...fifo,
        VisibilityTimeout: String(Math.min(spec.visibilityTimeoutSeconds, LOCAL_VISIBILITY_TIMEOUT_SECONDS)),
        RedrivePolicy: JSON.stringify({
          deadLetterTargetArn: await arnOf(sqs, dlqUrl),
          maxReceiveCount: String(spec.maxReceiveCount),
        }),
      },
    }),
  );
  return { url: queue.QueueUrl as string, dlqUrl };
}

async function arnOf(sqs: SQSClient, queueUrl: string): Promise<string> {
  const { Attributes } = await sqs.send(
    new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['QueueArn'] }),
  );
  if (!Attributes?.QueueArn) throw new Error(`No ARN for ${queueUrl}`);
  return Attributes.QueueArn;
}
