/**
 * The edge-state writers' adapter (`KeyValueStoreJson`) against the local CloudFront KeyValueStore, through
 * the real SDK client: how many calls a write costs, and that a write another writer raced still lands.
 */
import '@aws-sdk/signature-v4a';
import {
  CloudFrontKeyValueStoreClient,
  DescribeKeyValueStoreCommand,
  PutKeyCommand,
} from '@aws-sdk/client-cloudfront-keyvaluestore';
import { afterEach, beforeEach, expect, test } from '@jest/globals';
import { KeyValueStoreJson } from '../../lambdas/adapters/cloudfront-edge-state';
import {
  LocalKeyValueStore,
  type RunningKeyValueStoreServer,
  startKeyValueStoreServer,
} from '../../local/emulators/key-value-store';

const ARN = 'arn:aws:cloudfront::123456789012:key-value-store/0c4e1a5f-0000-4000-8000-000000000002';

let store: LocalKeyValueStore;
let server: RunningKeyValueStoreServer;
let client: CloudFrontKeyValueStoreClient;
/** The commands the adapter sent, by name. */
let sent: string[];

beforeEach(async () => {
  store = new LocalKeyValueStore();
  server = await startKeyValueStoreServer(store);
  client = new CloudFrontKeyValueStoreClient({
    region: 'us-east-1',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    maxAttempts: 1,
    endpointProvider: () => ({ url: new URL(server.url) }),
  });
  sent = [];
  client.middlewareStack.add(
    (next, context) => (args) => {
      sent.push(String(context.commandName));
      return next(args);
    },
    { step: 'initialize' },
  );
});

afterEach(async () => {
  client.destroy();
  await server.stop();
});

test('a write reuses the ETag its last write returned: one call per write while no one else writes', async () => {
  const values = new KeyValueStoreJson(client, () => ARN);

  await values.write('drop:a', { n: 1 });
  await values.write('drop:a', { n: 2 });
  await values.write('drop:b', { n: 3 });

  expect(sent).toEqual(['DescribeKeyValueStoreCommand', 'PutKeyCommand', 'PutKeyCommand', 'PutKeyCommand']);
  expect(await values.read('drop:a')).toEqual({ n: 2 });
  expect(await values.read('drop:b')).toEqual({ n: 3 });
});

test('after another writer moved the ETag, the refused write reads it again and lands', async () => {
  const values = new KeyValueStoreJson(client, () => ARN);
  await values.write('drop:a', { n: 1 });
  // Another environment (the admission controller) writes its own key in between.
  const other = new CloudFrontKeyValueStoreClient({
    region: 'us-east-1',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    endpointProvider: () => ({ url: new URL(server.url) }),
  });
  try {
    const { ETag } = await other.send(new DescribeKeyValueStoreCommand({ KvsARN: ARN }));
    await other.send(new PutKeyCommand({ KvsARN: ARN, Key: 'room:a', Value: '{}', IfMatch: ETag }));
  } finally {
    other.destroy();
  }
  sent = [];

  await values.write('drop:a', { n: 2 });

  expect(sent).toEqual(['PutKeyCommand', 'DescribeKeyValueStoreCommand', 'PutKeyCommand']);
  expect(await values.read('drop:a')).toEqual({ n: 2 });
  expect(await values.read('room:a')).toEqual({});
});
