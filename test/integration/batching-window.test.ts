/**
 * An event source mapping's batching window (`MaximumBatchingWindowInSeconds`), as the local pollers
 * apply it: a batch smaller than the batch size waits until the window has passed since its first record,
 * so records that come meanwhile join it ("Batching behavior", AWS Lambda Developer Guide). Without a
 * window each read goes to the function as it comes.
 */
import { randomBytes } from 'node:crypto';
import { CreateTableCommand, DynamoDBClient, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { CreateQueueCommand, GetQueueAttributesCommand, SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { LOCAL_AWS_ENV } from '../../local/emulators/embedded-aws';
import { startStreamEventSource } from '../../local/event-sources/dynamodb-streams';
import { type RunningEventSource, startSqsEventSource } from '../../local/event-sources/sqs';
import { eventually } from '../support/eventually';

// The pollers' own clients and these find the emulators' region and credentials here, as the runtime sets them.
Object.assign(process.env, { ...LOCAL_AWS_ENV, ...process.env });
const dynamodbEndpoint = process.env.DROPLINE_TEST_DYNAMODB_ENDPOINT as string;
const sqsEndpoint = process.env.DROPLINE_TEST_SQS_ENDPOINT as string;
const dynamodb = new DynamoDBClient({ endpoint: dynamodbEndpoint });
const sqs = new SQSClient({ endpoint: sqsEndpoint });
const running: RunningEventSource[] = [];
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

afterAll(async () => {
  await Promise.all(running.map((source) => source.stop()));
  dynamodb.destroy();
  sqs.destroy();
});

async function table(): Promise<string> {
  const name = `window-${randomBytes(4).toString('hex')}`;
  await dynamodb.send(
    new CreateTableCommand({
      TableName: name,
      BillingMode: 'PAY_PER_REQUEST',
      AttributeDefinitions: [{ AttributeName: 'pk', AttributeType: 'S' }],
      KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }],
      StreamSpecification: { StreamEnabled: true, StreamViewType: 'NEW_AND_OLD_IMAGES' },
    }),
  );
  return name;
}

const put = (tableName: string, pk: string) =>
  dynamodb.send(new PutItemCommand({ TableName: tableName, Item: { pk: { S: pk } } }));

test.each([
  [1500, 1],
  [0, 3],
])(
  'a stream mapping with a %i ms window gives %i batch(es) for three writes 300 ms apart',
  async (windowMs, batches) => {
    const tableName = await table();
    const sizes: number[] = [];
    running.push(
      await startStreamEventSource({
        name: `window-${windowMs}`,
        endpoint: dynamodbEndpoint,
        tableName,
        batchSize: 100,
        batchingWindowMs: windowMs,
        // Polls well inside the writes' 300 ms, so that without a window each write has a poll of its own.
        pollIntervalMs: 100,
        handler: async (event) => void sizes.push(event.Records.length),
      }),
    );
    for (const pk of ['a', 'b', 'c']) {
      await put(tableName, pk);
      await sleep(300);
    }
    await eventually(async () => expect(sizes.reduce((sum, size) => sum + size, 0)).toBe(3), { timeoutMs: 10_000 });
    expect(sizes).toHaveLength(batches);
  },
);

test.each([
  [1500, 1],
  [0, 3],
])(
  'a queue mapping with a %i ms window gives %i batch(es) for three messages 300 ms apart',
  async (windowMs, batches) => {
    const { QueueUrl } = await sqs.send(
      new CreateQueueCommand({ QueueName: `window-${randomBytes(4).toString('hex')}` }),
    );
    const { Attributes } = await sqs.send(new GetQueueAttributesCommand({ QueueUrl, AttributeNames: ['QueueArn'] }));
    const sizes: number[] = [];
    running.push(
      startSqsEventSource({
        name: `window-${windowMs}`,
        endpoint: sqsEndpoint,
        queueUrl: QueueUrl as string,
        queueArn: Attributes?.QueueArn as string,
        batchSize: 10,
        pollers: 1,
        batchingWindowMs: windowMs,
        handler: async (event) => {
          sizes.push(event.Records.length);
          return undefined;
        },
      }),
    );
    for (const body of ['a', 'b', 'c']) {
      await sqs.send(new SendMessageCommand({ QueueUrl, MessageBody: body }));
      await sleep(300);
    }
    await eventually(async () => expect(sizes.reduce((sum, size) => sum + size, 0)).toBe(3), { timeoutMs: 10_000 });
    expect(sizes).toHaveLength(batches);
  },
);
