/**
 * The channel applier learns a queue's channel from the configuration the
 * stack wires (CHANNEL_QUEUE_ARNS), never from the queue's name: deployed
 * names are CloudFormation's, not the local runtime's.
 */
import { randomBytes } from 'node:crypto';
import { CreateQueueCommand, GetQueueAttributesCommand, SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import type { SQSEvent } from 'aws-lambda';
import { envVars } from '../../contract/env-vars';
import { lambdaContext } from '../../local/event-sources/lambda-context';
import { type RunningEventSource, type SqsHandler, startSqsEventSource } from '../../local/event-sources/sqs';
import { eventually } from '../support/eventually';
import {
  startHandWiredTestStack as startTestStack,
  type HandWiredTestStack as TestStack,
} from '../support/local-stack';

let stack: TestStack;
let sqs: SQSClient;
let wiredByStack: string;
let source: RunningEventSource | undefined;

beforeAll(async () => {
  stack = await startTestStack();
  sqs = new SQSClient({ endpoint: stack.endpoints.sqs });
  wiredByStack = process.env[envVars.channelQueueArns] as string;
});

afterAll(async () => {
  await source?.stop();
  process.env[envVars.channelQueueArns] = wiredByStack;
  sqs.destroy();
  await stack.stop();
});

const snapshot = (sku: string, version: number) => ({
  schema: 'dropline.inventory.stock.v1',
  type: 'stock-changed',
  sku,
  version,
  supplied: 10,
  available: 7,
  held: 3,
  sold: 0,
  reasons: ['reserved'],
  publishedAt: new Date().toISOString(),
});

/** A FIFO queue named the way CloudFormation names one: no `-channel-<name>.fifo` ending. */
async function deployedStyleQueue() {
  const name = `Dropline-Stateful-ChannelmarketplaceQueue${randomBytes(4).toString('hex').toUpperCase()}.fifo`;
  const { QueueUrl } = await sqs.send(new CreateQueueCommand({ QueueName: name, Attributes: { FifoQueue: 'true' } }));
  const { Attributes } = await sqs.send(new GetQueueAttributesCommand({ QueueUrl, AttributeNames: ['QueueArn'] }));
  return { url: QueueUrl as string, arn: Attributes?.QueueArn as string };
}

test('the local runtime wires the same channel map the stack sets: every channel queue, by ARN', () => {
  const wired = JSON.parse(wiredByStack) as Record<string, string>;
  expect(Object.values(wired).sort()).toEqual(
    Object.entries(stack.messaging.queueArns)
      .filter(([name]) => name.startsWith('channel-'))
      .map(([, arn]) => arn)
      .sort(),
  );
});

test('a queue whose name does not end in -channel-<name>.fifo still applies to the channel it is wired to', async () => {
  const queue = await deployedStyleQueue();
  const wired = JSON.parse(wiredByStack) as Record<string, string>;
  process.env[envVars.channelQueueArns] = JSON.stringify({ ...wired, marketplace: [wired.marketplace, queue.arn] });
  const { handler } = (await import('../../lambdas/handlers/apply-channel-events')) as { handler: SqsHandler };
  const { channelViews } = await import('../../lambdas/shared/composition');
  source = startSqsEventSource({
    name: 'apply-channel-events',
    endpoint: stack.endpoints.sqs,
    queueUrl: queue.url,
    queueArn: queue.arn,
    handler,
    batchSize: 10,
  });
  const sku = `wiring-${randomBytes(4).toString('hex')}`;
  await sqs.send(
    new SendMessageCommand({
      QueueUrl: queue.url,
      MessageBody: JSON.stringify(snapshot(sku, 7)),
      MessageGroupId: sku,
      MessageDeduplicationId: `${sku}:7`,
    }),
  );

  const views = await eventually(async () => {
    const found = await channelViews.views(['marketplace', 'warehouse'], sku);
    expect(found.map((view) => [view.channel, view.version, view.available])).toEqual([['marketplace', 7, 7]]);
    return found;
  });
  expect(views).toHaveLength(1);
});

test('a record from a queue wired to no channel fails, and is never applied to a guessed channel', async () => {
  process.env[envVars.channelQueueArns] = wiredByStack;
  const { applyChannelEvents } = await import('../../lambdas/handlers/apply-channel-events');
  const event = {
    Records: [
      {
        messageId: 'unwired-1',
        eventSourceARN: 'arn:aws:sqs:us-east-1:000000000000:Dropline-Stateful-channel-warehouse.fifo-elsewhere',
        body: JSON.stringify(snapshot('wiring-none', 1)),
        attributes: { MessageGroupId: 'wiring-none' },
      },
    ],
  } as unknown as SQSEvent;
  // Every record failed: Powertools fails the whole invocation, so the message returns and reaches the DLQ.
  await expect(applyChannelEvents(event, lambdaContext('apply-channel-events', 20_000))).rejects.toThrow(
    'All records failed',
  );
});
