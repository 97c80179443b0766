/**
 * The edge-state writer on the app's assembly (`PublishEdgeState`, invoked as its SQS mapping invokes it):
 * one SKU's batch of news costs the CloudFront KeyValueStore one conditional write, not one per message —
 * every write moves the whole store's ETag, so each one also makes the other writers read it again. A
 * message that does not parse fails with the rest of its group after it; what came before it applies.
 */
import '@aws-sdk/signature-v4a';
import {
  CloudFrontKeyValueStoreClient,
  DescribeKeyValueStoreCommand,
  GetKeyCommand,
} from '@aws-sdk/client-cloudfront-keyvaluestore';
import type { SQSBatchResponse, SQSRecord } from 'aws-lambda';
import { STOCK_EVENT_SCHEMA } from '../../contract/messages';
import { ApiClient } from '../../local/api-client';
import { eventually } from '../support/eventually';
import { type AssemblyTestStack, startTestStack } from '../support/local-stack';

const ARN = 'arn:aws:cloudfront::000000000000:key-value-store/0c4e1a5f-0000-4000-8000-000000000003';

let stack: AssemblyTestStack;
let api: ApiClient;
let kvs: CloudFrontKeyValueStoreClient;

beforeAll(async () => {
  stack = await startTestStack();
  api = new ApiClient(stack.url, stack.adminKey);
  const endpoint = stack.endpoints.cloudfrontKeyValueStore;
  if (!endpoint) throw new Error('the assembly stack runs no KeyValueStore');
  kvs = new CloudFrontKeyValueStoreClient({
    region: 'us-east-1',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    endpointProvider: () => ({ url: new URL(endpoint) }),
  });
});

afterAll(async () => {
  kvs.destroy();
  await api.close();
  await stack.stop();
});

/** The local store's ETag ends in its write count (base 36): every write moves it on by one. */
async function writesSoFar(): Promise<number> {
  const { ETag } = await kvs.send(new DescribeKeyValueStoreCommand({ KvsARN: ARN }));
  return Number.parseInt(String(ETag).slice(-5), 36);
}

const snapshot = (sku: string, version: number, available: number) => ({
  schema: STOCK_EVENT_SCHEMA,
  type: available === 0 ? 'sold-out' : 'stock-changed',
  sku,
  version,
  supplied: 10,
  available,
  held: 10 - available,
  sold: 0,
  returned: 0,
  reasons: ['reserved'],
  publishedAt: new Date().toISOString(),
});

let sequence = 0;
const record = (group: string, body: unknown): SQSRecord => {
  sequence++;
  return {
    messageId: `m-${sequence}`,
    receiptHandle: `r-${sequence}`,
    body: typeof body === 'string' ? body : JSON.stringify(body),
    attributes: {
      ApproximateReceiveCount: '1',
      SentTimestamp: String(Date.now()),
      SenderId: 'local',
      ApproximateFirstReceiveTimestamp: String(Date.now()),
      MessageGroupId: group,
      MessageDeduplicationId: `d-${sequence}`,
      SequenceNumber: String(sequence),
    },
    messageAttributes: {},
    md5OfBody: '',
    eventSource: 'aws:sqs',
    eventSourceARN: 'arn:aws:sqs:us-east-1:000000000000:edge-state.fifo',
    awsRegion: 'us-east-1',
  };
};

/** The edge's value for `sku`, as the writer left it in the store. */
async function edgeValue(sku: string): Promise<{ stockVersion: number; available: number }> {
  const { Value } = await kvs.send(new GetKeyCommand({ KvsARN: ARN, Key: `drop:${sku}` }));
  return JSON.parse(String(Value));
}

test('a batch of one SKU’s snapshots is one write of the newest; a message that does not parse fails with the rest of its group', async () => {
  const [calm, other] = ['EDGE-BATCH-A', 'EDGE-BATCH-B'];
  for (const sku of [calm, other]) {
    expect((await api.putProduct(sku, { name: sku, priceCents: 100, stock: 10 })).status).toBe(201);
  }
  // The fan-out's own news first: both SKUs known at the edge, and the store quiet (no waiting room, so the
  // admission controller writes nothing).
  const known = await eventually(async () => {
    const values = await Promise.all([edgeValue(calm), edgeValue(other)]);
    for (const value of values) expect(value.stockVersion).toBeGreaterThanOrEqual(0);
    return values;
  });
  const before = await eventually(async () => {
    const count = await writesSoFar();
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    expect(await writesSoFar()).toBe(count);
    return count;
  });
  const [calmVersion, otherVersion] = known.map((value) => value.stockVersion) as [number, number];

  const records = [
    ...Array.from({ length: 6 }, (_, index) => record(calm, snapshot(calm, calmVersion + 1 + index, 9 - index))),
    // A duplicate of one already in the batch, and a straggler: nothing.
    record(calm, snapshot(calm, calmVersion + 3, 7)),
    record(other, snapshot(other, otherVersion + 1, 8)),
    record(other, '{"not":"news"'),
    record(other, snapshot(other, otherVersion + 2, 7)),
  ];
  const answer = (await stack.invoke('PublishEdgeState', { Records: records })) as SQSBatchResponse;

  // The broken message and the one after it in its group come back; the one before it applied.
  expect(answer.batchItemFailures.map((failure) => failure.itemIdentifier)).toEqual(
    records.slice(-2).map((failed) => failed.messageId),
  );
  expect(await edgeValue(calm)).toMatchObject({ stockVersion: calmVersion + 6, available: 4 });
  expect(await edgeValue(other)).toMatchObject({ stockVersion: otherVersion + 1, available: 8 });
  // One write per SKU, where one per applied message would be 7.
  expect((await writesSoFar()) - before).toBe(2);
}, 120_000);
