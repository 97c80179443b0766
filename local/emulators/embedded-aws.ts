/**
 * The embedded AWS: DynamoDB Local and fauxqs (SQS + SNS) on free loopback
 * ports. Handlers reach them only through the standard
 * `AWS_ENDPOINT_URL_<SERVICE>` variables, exactly as they would reach
 * LocalStack or (without the variables) AWS itself.
 */
import { startFauxqs } from 'fauxqs';
import { assertJava, startDynamoDbLocal } from './dynamodb-local';
import { prepareWritableDir } from './environment';

export interface EmbeddedAws {
  readonly endpoints: AwsEndpoints;
  stop(): Promise<void>;
}

export interface AwsEndpoints {
  readonly dynamodb: string;
  readonly sqs: string;
  readonly sns: string;
}

/** Fixed local credentials and region: the emulators accept any, the SDK insists on some. */
export const LOCAL_AWS_ENV = {
  AWS_REGION: 'us-east-1',
  AWS_ACCESS_KEY_ID: 'local',
  AWS_SECRET_ACCESS_KEY: 'local',
} as const;

/**
 * Checks what both emulators need before starting either; if one fails to
 * start, the other is stopped before the error surfaces, so nothing keeps
 * the process alive.
 */
export async function startEmbeddedAws(options: { dataDir?: string } = {}): Promise<EmbeddedAws> {
  assertJava();
  const dbPath = options.dataDir ? prepareWritableDir(options.dataDir, 'The DynamoDB data directory') : undefined;
  const [dynamodbStart, fauxqsStart] = await Promise.allSettled([
    startDynamoDbLocal(dbPath ? { dbPath } : {}),
    startFauxqs({ port: 0, logger: false }),
  ]);
  if (dynamodbStart.status === 'rejected' || fauxqsStart.status === 'rejected') {
    await Promise.allSettled([
      dynamodbStart.status === 'fulfilled' ? dynamodbStart.value.stop() : undefined,
      fauxqsStart.status === 'fulfilled' ? fauxqsStart.value.stop() : undefined,
    ]);
    throw dynamodbStart.status === 'rejected' ? dynamodbStart.reason : (fauxqsStart as PromiseRejectedResult).reason;
  }
  const dynamodb = dynamodbStart.value;
  const fauxqs = fauxqsStart.value;
  return {
    endpoints: { dynamodb: dynamodb.endpoint, sqs: fauxqs.address, sns: fauxqs.address },
    stop: async () => {
      await Promise.all([dynamodb.stop(), fauxqs.stop()]);
    },
  };
}

/** The environment a handler needs to find the emulators. */
export function endpointEnv(endpoints: AwsEndpoints): Record<string, string> {
  return {
    ...LOCAL_AWS_ENV,
    AWS_ENDPOINT_URL_DYNAMODB: endpoints.dynamodb,
    AWS_ENDPOINT_URL_SQS: endpoints.sqs,
    AWS_ENDPOINT_URL_SNS: endpoints.sns,
  };
}
