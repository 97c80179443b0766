/**
 * The embedded AWS: DynamoDB Local, fauxqs (SQS + SNS, with SQS's FIFO receive) and a local CloudFront
 * KeyValueStore on free loopback ports. Handlers reach them only through the
 * standard `AWS_ENDPOINT_URL_<SERVICE>` variables, exactly as they would reach
 * LocalStack or (without the variables) AWS itself.
 */

import { envVars } from '../../contract/env-vars';
import { assertJava, startDynamoDbLocal } from './dynamodb-local';
import { prepareWritableDir } from './environment';
import { startSqsSns } from './fauxqs';
import { LocalKeyValueStore, startKeyValueStoreServer } from './key-value-store';

export interface EmbeddedAws {
  readonly endpoints: AwsEndpoints;
  /** The one key value store its endpoint serves, for an in-process reader (a CloudFront Function sandbox). */
  readonly keyValueStore: LocalKeyValueStore;
  stop(): Promise<void>;
}

export interface AwsEndpoints {
  readonly dynamodb: string;
  readonly sqs: string;
  readonly sns: string;
  /**
   * The CloudFront KeyValueStore data plane. Optional: `--aws-endpoint` (LocalStack) names none, and
   * then no `AWS_ENDPOINT_URL_CLOUDFRONT_KEYVALUESTORE` is set, so a function's KVS client goes to AWS
   * (`https://<account>.cloudfront-kvs.global.api.aws`) with the local credentials and fails there
   * (refused, or unreachable offline): it never writes to the emulator, nor to a real store.
   */
  readonly cloudfrontKeyValueStore?: string;
}

/** Fixed local credentials and region: the emulators accept any, the SDK insists on some. */
export const LOCAL_AWS_ENV = {
  AWS_REGION: 'us-east-1',
  AWS_ACCESS_KEY_ID: 'local',
  AWS_SECRET_ACCESS_KEY: 'local',
} as const;

/**
 * Checks what the emulators need before starting any; if one fails to
 * start, the others are stopped before the error surfaces, so nothing keeps
 * the process alive. The key value store is in memory, whatever `dataDir` says.
 */
export async function startEmbeddedAws(options: { dataDir?: string } = {}): Promise<EmbeddedAws> {
  assertJava();
  const dbPath = options.dataDir ? prepareWritableDir(options.dataDir, 'The DynamoDB data directory') : undefined;
  const keyValueStore = new LocalKeyValueStore();
  const starts = await Promise.allSettled([
    startDynamoDbLocal(dbPath ? { dbPath } : {}),
    startSqsSns({ port: 0 }),
    startKeyValueStoreServer(keyValueStore),
  ]);
  const [dynamodbStart, fauxqsStart, kvsStart] = starts;
  if (dynamodbStart.status === 'rejected' || fauxqsStart.status === 'rejected' || kvsStart.status === 'rejected') {
    await Promise.allSettled(starts.map((start) => (start.status === 'fulfilled' ? start.value.stop() : undefined)));
    throw (starts.find((start) => start.status === 'rejected') as PromiseRejectedResult).reason;
  }
  const dynamodb = dynamodbStart.value;
  const fauxqs = fauxqsStart.value;
  const kvs = kvsStart.value;
  return {
    endpoints: {
      dynamodb: dynamodb.endpoint,
      sqs: fauxqs.address,
      sns: fauxqs.address,
      cloudfrontKeyValueStore: kvs.url,
    },
    keyValueStore,
    stop: async () => {
      await Promise.all([dynamodb.stop(), fauxqs.stop(), kvs.stop()]);
    },
  };
}

/** The environment a handler needs to find the emulators. */
export function endpointEnv(endpoints: AwsEndpoints): Record<string, string> {
  return {
    ...LOCAL_AWS_ENV,
    // The emulators answer a spike in seconds where AWS answers in milliseconds: no limit per attempt.
    [envVars.awsAttemptTimeoutMs]: '0',
    AWS_ENDPOINT_URL_DYNAMODB: endpoints.dynamodb,
    AWS_ENDPOINT_URL_SQS: endpoints.sqs,
    AWS_ENDPOINT_URL_SNS: endpoints.sns,
    ...(endpoints.cloudfrontKeyValueStore
      ? { AWS_ENDPOINT_URL_CLOUDFRONT_KEYVALUESTORE: endpoints.cloudfrontKeyValueStore }
      : {}),
  };
}

export interface EdgeStoreEndpoints {
  readonly endpoints: AwsEndpoints;
  /** The store behind `endpoints.cloudfrontKeyValueStore`, when it runs in this process. */
  readonly keyValueStore: LocalKeyValueStore | undefined;
  stop(): Promise<void>;
}

/**
 * The edge's KeyValueStore for endpoints that name none (LocalStack, or the test suite's shared
 * emulators): one in this process, so the edge function and its writer still meet. Endpoints that name
 * one keep it; the edge then reads nothing in-process.
 */
export async function withEdgeStore(endpoints: AwsEndpoints, embedded?: EmbeddedAws): Promise<EdgeStoreEndpoints> {
  if (embedded) return { endpoints, keyValueStore: embedded.keyValueStore, stop: async () => {} };
  if (endpoints.cloudfrontKeyValueStore) return { endpoints, keyValueStore: undefined, stop: async () => {} };
  const keyValueStore = new LocalKeyValueStore();
  const server = await startKeyValueStoreServer(keyValueStore);
  return { endpoints: { ...endpoints, cloudfrontKeyValueStore: server.url }, keyValueStore, stop: () => server.stop() };
}
