/**
 * The embedded AWS: DynamoDB Local and fauxqs (SQS + SNS) on free loopback
 * ports. Handlers reach them only through the standard
 * `AWS_ENDPOINT_URL_<SERVICE>` variables, exactly as they would reach
 * LocalStack or (without the variables) AWS itself.
 */
import { startFauxqs } from 'fauxqs';
import { startDynamoDbLocal } from './dynamodb-local';

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

export async function startEmbeddedAws(options: { dataDir?: string } = {}): Promise<EmbeddedAws> {
  const [dynamodb, fauxqs] = await Promise.all([
    startDynamoDbLocal(options.dataDir ? { dbPath: options.dataDir } : {}),
    startFauxqs({ port: 0, logger: false }),
  ]);
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
