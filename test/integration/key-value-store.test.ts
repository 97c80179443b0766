/**
 * The local CloudFront KeyValueStore, driven by the real
 * @aws-sdk/client-cloudfront-keyvaluestore client over HTTP and read in-process
 * as a CloudFront Function sandbox reads it: store-level ETags, a stale
 * IfMatch refused, AWS's limits and error shapes.
 */
import '@aws-sdk/signature-v4a';
import {
  CloudFrontKeyValueStoreClient,
  ConflictException,
  DeleteKeyCommand,
  DescribeKeyValueStoreCommand,
  GetKeyCommand,
  ListKeysCommand,
  PutKeyCommand,
  ResourceNotFoundException,
  ServiceQuotaExceededException,
  ValidationException,
} from '@aws-sdk/client-cloudfront-keyvaluestore';
import { endpointEnv, startEmbeddedAws } from '../../local/emulators/embedded-aws';
import {
  KVS_MAX_TOTAL_BYTES,
  LocalKeyValueStore,
  type RunningKeyValueStoreServer,
  startKeyValueStoreServer,
} from '../../local/emulators/key-value-store';

const ARN = 'arn:aws:cloudfront::123456789012:key-value-store/0c4e1a5f-0000-4000-8000-000000000001';
const LOCAL = { region: 'us-east-1', credentials: { accessKeyId: 'local', secretAccessKey: 'local' } };

/** What a function's client does when AWS_ENDPOINT_URL_CLOUDFRONT_KEYVALUESTORE is set (see key-value-store.ts). */
function localClient(endpoint: string): CloudFrontKeyValueStoreClient {
  return new CloudFrontKeyValueStoreClient({
    ...LOCAL,
    maxAttempts: 1,
    endpointProvider: () => ({ url: new URL(endpoint) }),
  });
}

async function refusal(call: Promise<unknown>): Promise<Error & { $metadata: { httpStatusCode?: number } }> {
  try {
    await call;
  } catch (error) {
    return error as Error & { $metadata: { httpStatusCode?: number } };
  }
  throw new Error('the call succeeded');
}

describe('the local key value store, through the AWS SDK', () => {
  let store: LocalKeyValueStore;
  let server: RunningKeyValueStoreServer;
  let kvs: CloudFrontKeyValueStoreClient;

  beforeEach(async () => {
    store = new LocalKeyValueStore();
    server = await startKeyValueStoreServer(store);
    kvs = localClient(server.url);
  });

  afterEach(async () => {
    kvs.destroy();
    await server.stop();
  });

  const etag = async () => (await kvs.send(new DescribeKeyValueStoreCommand({ KvsARN: ARN }))).ETag as string;

  test('describe gives the store ETag; a put with it gives a new one, and the value reads back in-process and over GetKey', async () => {
    const described = await kvs.send(new DescribeKeyValueStoreCommand({ KvsARN: ARN }));
    expect(described).toMatchObject({ KvsARN: ARN, ItemCount: 0, TotalSizeInBytes: 0, Status: 'READY' });
    expect(described.ETag).toEqual(store.etag);
    expect(described.Created).toBeInstanceOf(Date);

    const put = await kvs.send(
      new PutKeyCommand({ KvsARN: ARN, Key: 'drop/sneaker-01', Value: 'open', IfMatch: described.ETag }),
    );
    expect(put.ETag).toBeDefined();
    expect(put.ETag).not.toEqual(described.ETag);
    expect(put).toMatchObject({ ItemCount: 1, TotalSizeInBytes: 'drop/sneaker-01open'.length });

    expect(store.get('drop/sneaker-01')).toBe('open');
    const read = await kvs.send(new GetKeyCommand({ KvsARN: ARN, Key: 'drop/sneaker-01' }));
    expect(read).toMatchObject({ Key: 'drop/sneaker-01', Value: 'open', ItemCount: 1 });
    expect(await etag()).toEqual(put.ETag);
  });

  test('a write with a stale IfMatch is a ConflictException (409) and changes nothing', async () => {
    const first = await etag();
    const second = (await kvs.send(new PutKeyCommand({ KvsARN: ARN, Key: 'state', Value: 'a', IfMatch: first }))).ETag;

    const stalePut = await refusal(
      kvs.send(new PutKeyCommand({ KvsARN: ARN, Key: 'state', Value: 'b', IfMatch: first })),
    );
    expect(stalePut).toBeInstanceOf(ConflictException);
    expect(stalePut.$metadata.httpStatusCode).toBe(409);
    expect(stalePut.message).toMatch(/current ETag/);
    const staleDelete = await refusal(kvs.send(new DeleteKeyCommand({ KvsARN: ARN, Key: 'state', IfMatch: first })));
    expect(staleDelete).toBeInstanceOf(ConflictException);

    expect(store.get('state')).toBe('a');
    expect(await etag()).toEqual(second);
  });

  test('a missing key is a ResourceNotFoundException (404), in GetKey and DeleteKey', async () => {
    const get = await refusal(kvs.send(new GetKeyCommand({ KvsARN: ARN, Key: 'nope' })));
    expect(get).toBeInstanceOf(ResourceNotFoundException);
    expect(get.$metadata.httpStatusCode).toBe(404);
    expect(store.get('nope')).toBeUndefined();

    const before = await etag();
    const del = await refusal(kvs.send(new DeleteKeyCommand({ KvsARN: ARN, Key: 'nope', IfMatch: before })));
    expect(del).toBeInstanceOf(ResourceNotFoundException);
    expect(await etag()).toEqual(before);
  });

  test('a value over 1 KB (UTF-8 bytes) or a key over 512 bytes is a ValidationException (400)', async () => {
    const put = async (Key: string, Value: string) =>
      kvs.send(new PutKeyCommand({ KvsARN: ARN, Key, Value, IfMatch: await etag() }));

    await put('max', 'v'.repeat(1024));
    expect(store.get('max')).toHaveLength(1024);

    const tooLong = await refusal(put('big', 'v'.repeat(1025)));
    expect(tooLong).toBeInstanceOf(ValidationException);
    expect(tooLong.$metadata.httpStatusCode).toBe(400);
    expect(tooLong.message).toMatch(/1025 bytes; the limit is 1024/);
    // 342 characters, 1,026 bytes.
    expect(await refusal(put('euros', '€'.repeat(342)))).toBeInstanceOf(ValidationException);
    expect(await refusal(put('k'.repeat(513), 'v'))).toBeInstanceOf(ValidationException);
    await put('k'.repeat(512), 'v');

    expect(store.get('big')).toBeUndefined();
    expect(store.get('euros')).toBeUndefined();
  });

  test('a put past 5 MB for the whole store is a ServiceQuotaExceededException (402)', async () => {
    // 5,120 items of 1,024 bytes (6-byte key, 1,018-byte value): exactly the limit.
    const full = new LocalKeyValueStore({
      entries: Array.from({ length: 5120 }, (_, i) => [`k${String(i).padStart(5, '0')}`, 'v'.repeat(1018)] as const),
    });
    expect(full.describe().totalSizeInBytes).toBe(KVS_MAX_TOTAL_BYTES);
    const fullServer = await startKeyValueStoreServer(full);
    const client = localClient(fullServer.url);
    try {
      const over = await refusal(
        client.send(new PutKeyCommand({ KvsARN: ARN, Key: 'x', Value: '', IfMatch: full.etag })),
      );
      expect(over).toBeInstanceOf(ServiceQuotaExceededException);
      expect(over.$metadata.httpStatusCode).toBe(402);
      // Replacing a value with a shorter one still fits.
      await client.send(new PutKeyCommand({ KvsARN: ARN, Key: 'k00000', Value: 'short', IfMatch: full.etag }));
      expect(full.get('k00000')).toBe('short');
    } finally {
      client.destroy();
      await fullServer.stop();
    }
  });

  test('delete with the current ETag removes the key for both readers and moves the ETag', async () => {
    await kvs.send(new PutKeyCommand({ KvsARN: ARN, Key: 'gone', Value: 'soon', IfMatch: await etag() }));
    const before = await etag();

    const deleted = await kvs.send(new DeleteKeyCommand({ KvsARN: ARN, Key: 'gone', IfMatch: before }));
    expect(deleted.ETag).not.toEqual(before);
    expect(deleted).toMatchObject({ ItemCount: 0, TotalSizeInBytes: 0 });
    expect(store.get('gone')).toBeUndefined();
    expect(await refusal(kvs.send(new GetKeyCommand({ KvsARN: ARN, Key: 'gone' })))).toBeInstanceOf(
      ResourceNotFoundException,
    );
  });

  test('ListKeys pages in key order; any KVS ARN names the one store, anything else is a ValidationException', async () => {
    for (const key of ['c', 'a', 'b']) {
      await kvs.send(new PutKeyCommand({ KvsARN: ARN, Key: key, Value: key.toUpperCase(), IfMatch: await etag() }));
    }
    const otherArn = 'arn:aws:cloudfront::999999999999:key-value-store/ffffffff-0000-4000-8000-000000000002';
    const first = await kvs.send(new ListKeysCommand({ KvsARN: otherArn, MaxResults: 2 }));
    expect(first.Items).toEqual([
      { Key: 'a', Value: 'A' },
      { Key: 'b', Value: 'B' },
    ]);
    const second = await kvs.send(new ListKeysCommand({ KvsARN: otherArn, MaxResults: 2, NextToken: first.NextToken }));
    expect(second.Items).toEqual([{ Key: 'c', Value: 'C' }]);
    expect(second.NextToken).toBeUndefined();

    // The SDK refuses another service's ARN itself (its endpoint rules); the server, asked directly, says why.
    const notKvs = await refusal(kvs.send(new DescribeKeyValueStoreCommand({ KvsARN: 'arn:aws:s3:::bucket' })));
    expect(notKvs.message).toMatch(/not a valid CloudFront Service ARN/);
    const raw = await fetch(`${server.url}/key-value-stores/${encodeURIComponent('arn:aws:s3:::bucket')}`);
    expect(raw.status).toBe(400);
    expect(raw.headers.get('x-amzn-errortype')).toBe('ValidationException');
    expect(await raw.json()).toMatchObject({ message: expect.stringMatching(/key value store ARN/) });
  });

  test("without the override, the SDK's endpoint rules put the ARN's account in front of a custom endpoint's host", async () => {
    // Why a local client needs `endpointProvider`: `123456789012.localhost` does not resolve through
    // /etc/hosts, and an IP endpoint would give `123456789012.127.0.0.1`, not a URL at all.
    const stock = new CloudFrontKeyValueStoreClient({ ...LOCAL, endpoint: 'http://localhost:4566' });
    try {
      const resolved = stock.config.endpointProvider({
        Endpoint: 'http://localhost:4566',
        KvsARN: ARN,
        Region: 'us-east-1',
      });
      expect(resolved.url.host).toBe('123456789012.localhost:4566');
    } finally {
      stock.destroy();
    }
  });
});

describe('the embedded AWS', () => {
  test('serves its key value store at AWS_ENDPOINT_URL_CLOUDFRONT_KEYVALUESTORE and exposes it in-process', async () => {
    const embedded = await startEmbeddedAws();
    const env = endpointEnv(embedded.endpoints);
    const saved = Object.fromEntries(Object.keys(env).map((name) => [name, process.env[name]]));
    try {
      expect(env.AWS_ENDPOINT_URL_CLOUDFRONT_KEYVALUESTORE).toBe(embedded.endpoints.cloudfrontKeyValueStore);
      Object.assign(process.env, env);

      // A function's code, as it would run with that environment: region and credentials from it too.
      const local = process.env.AWS_ENDPOINT_URL_CLOUDFRONT_KEYVALUESTORE;
      const kvs = new CloudFrontKeyValueStoreClient(local ? { endpointProvider: () => ({ url: new URL(local) }) } : {});
      try {
        const { ETag } = await kvs.send(new DescribeKeyValueStoreCommand({ KvsARN: ARN }));
        await kvs.send(new PutKeyCommand({ KvsARN: ARN, Key: 'drop/state', Value: '{"open":true}', IfMatch: ETag }));
      } finally {
        kvs.destroy();
      }
      expect(embedded.keyValueStore.get('drop/state')).toBe('{"open":true}');
    } finally {
      for (const [name, value] of Object.entries(saved)) {
        if (value === undefined) delete process.env[name];
        else process.env[name] = value;
      }
      await embedded.stop();
    }
  });

  test('without a key value store endpoint (LocalStack), endpointEnv sets no variable for it', () => {
    const env = endpointEnv({
      dynamodb: 'http://127.0.0.1:4566',
      sqs: 'http://127.0.0.1:4566',
      sns: 'http://127.0.0.1:4566',
    });
    expect(env).not.toHaveProperty('AWS_ENDPOINT_URL_CLOUDFRONT_KEYVALUESTORE');
  });
});
