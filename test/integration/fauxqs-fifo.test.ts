/**
 * The local SQS receives from a FIFO queue as SQS does ("FIFO queue delivery
 * logic", Amazon SQS Developer Guide): as many of one message group as fit in
 * a receive (up to 10), in the order they were sent, the group then held
 * until they are deleted or visible again, and put back in that order. On
 * the run's fauxqs, with local/emulators/fauxqs.ts's patch; without it a
 * receive takes one message per group.
 */
import { randomBytes } from 'node:crypto';
import {
  ChangeMessageVisibilityBatchCommand,
  CreateQueueCommand,
  DeleteMessageBatchCommand,
  DeleteQueueCommand,
  type Message,
  ReceiveMessageCommand,
  SendMessageBatchCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import { LOCAL_AWS_ENV } from '../../local/emulators/embedded-aws';

const sqs = new SQSClient({
  region: LOCAL_AWS_ENV.AWS_REGION,
  credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
  endpoint: process.env.DROPLINE_TEST_SQS_ENDPOINT as string,
});
const queues: string[] = [];

afterAll(async () => {
  await Promise.all(queues.map((QueueUrl) => sqs.send(new DeleteQueueCommand({ QueueUrl }))));
  sqs.destroy();
});

async function fifoQueue(visibilitySeconds = 30): Promise<string> {
  const { QueueUrl } = await sqs.send(
    new CreateQueueCommand({
      QueueName: `fifo-receive-${randomBytes(4).toString('hex')}.fifo`,
      Attributes: {
        FifoQueue: 'true',
        ContentBasedDeduplication: 'true',
        VisibilityTimeout: String(visibilitySeconds),
      },
    }),
  );
  queues.push(QueueUrl as string);
  return QueueUrl as string;
}

/** Sends `bodies` to `group`, in order, in batches of 10 (each send keeps the order of its entries). */
async function send(QueueUrl: string, group: string, bodies: readonly string[]): Promise<void> {
  for (let start = 0; start < bodies.length; start += 10) {
    await sqs.send(
      new SendMessageBatchCommand({
        QueueUrl,
        Entries: bodies.slice(start, start + 10).map((MessageBody, index) => ({
          Id: String(index),
          MessageBody,
          MessageGroupId: group,
        })),
      }),
    );
  }
}

const receive = async (QueueUrl: string, max = 10): Promise<Message[]> =>
  (await sqs.send(new ReceiveMessageCommand({ QueueUrl, MaxNumberOfMessages: max, WaitTimeSeconds: 0 }))).Messages ??
  [];
const bodies = (messages: readonly Message[]) => messages.map((message) => message.Body);
const numbered = (prefix: string, count: number) => Array.from({ length: count }, (_, index) => `${prefix}${index}`);

test('a receive takes as many of one group as fit, in order, and the group is held until they are deleted', async () => {
  const queue = await fifoQueue();
  await send(queue, 'sku-a', numbered('a', 12));

  const first = await receive(queue);
  const whileHeld = await receive(queue);
  await sqs.send(
    new DeleteMessageBatchCommand({
      QueueUrl: queue,
      Entries: first.map((message, index) => ({ Id: String(index), ReceiptHandle: message.ReceiptHandle as string })),
    }),
  );
  const rest = await receive(queue);

  expect(bodies(first)).toEqual(numbered('a', 10));
  expect(whileHeld).toEqual([]);
  expect(bodies(rest)).toEqual(['a10', 'a11']);
});

test('a receive takes all of one group before the next, each in its own order, up to its maximum', async () => {
  const queue = await fifoQueue();
  await send(queue, 'sku-a', numbered('a', 4));
  await send(queue, 'sku-b', numbered('b', 4));
  await send(queue, 'sku-c', numbered('c', 4));

  const received = bodies(await receive(queue, 9));

  // SQS "attempts to return as many messages with the same message group ID as possible" in one call.
  expect(received).toHaveLength(9);
  const groups = [...new Set(received.map((body) => body?.[0]))];
  expect(groups).toHaveLength(3);
  expect(received).toEqual(groups.flatMap((group, index) => numbered(group as string, index < 2 ? 4 : 1)));
});

test('a receive that holds nothing (visibility timeout 0) hands each message out once', async () => {
  const queue = await fifoQueue();
  await send(queue, 'sku-a', numbered('a', 3));

  const received = await sqs.send(
    new ReceiveMessageCommand({ QueueUrl: queue, MaxNumberOfMessages: 10, VisibilityTimeout: 0 }),
  );
  const again = await receive(queue);

  expect(new Set(bodies(received.Messages ?? [])).size).toBe((received.Messages ?? []).length);
  expect(bodies(again)).toEqual(numbered('a', 3));
});

test('messages made visible again come back in the order they were sent', async () => {
  const queue = await fifoQueue(1);
  await send(queue, 'sku-a', numbered('a', 5));
  expect(bodies(await receive(queue))).toEqual(numbered('a', 5));

  // Their visibility timeout passes: all five return to the head of the group.
  await new Promise((resolve) => setTimeout(resolve, 1300));
  const again = await receive(queue);
  // Made visible one by one, first first: each goes back to the head of the group, yet the group keeps its order.
  await sqs.send(
    new ChangeMessageVisibilityBatchCommand({
      QueueUrl: queue,
      Entries: again.map((message, index) => ({
        Id: String(index),
        ReceiptHandle: message.ReceiptHandle as string,
        VisibilityTimeout: 0,
      })),
    }),
  );
  const third = await receive(queue);

  expect(bodies(again)).toEqual(numbered('a', 5));
  expect(bodies(third)).toEqual(numbered('a', 5));
});
