/**
 * Starts the local stack for one test file: its own table on the run's
 * embedded AWS, with DynamoDB traffic passing through a request counter.
 */
import { randomBytes } from 'node:crypto';
import { type RequestCounter, startRequestCounter } from '../../local/probes/request-counter';
import { type LocalStack, type LocalStackOptions, startLocalStack } from '../../local/stack';

/** Items the relay and the sweeper write whatever a request does: a claim that a request wrote nothing leaves them out. */
export { BACKGROUND_KEY_PREFIXES } from '../../contract/inventory-table';

export interface TestStack extends LocalStack {
  readonly dynamodbRequests: RequestCounter;
}

function requireTestEnv(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is unset: run the tests through jest (its global setup starts the emulators)`);
  return value;
}

export async function startTestStack(options: Pick<LocalStackOptions, 'identity'> = {}): Promise<TestStack> {
  const dynamodbRequests = await startRequestCounter(requireTestEnv('DROPLINE_TEST_DYNAMODB_ENDPOINT'), {
    trackItemWrites: true,
  });
  const stack = await startLocalStack({
    endpoints: {
      dynamodb: dynamodbRequests.endpoint,
      sqs: requireTestEnv('DROPLINE_TEST_SQS_ENDPOINT'),
      sns: requireTestEnv('DROPLINE_TEST_SNS_ENDPOINT'),
    },
    tableName: `dropline-test-${randomBytes(6).toString('hex')}`,
    adminKey: `test-admin-${randomBytes(6).toString('hex')}`,
    // These tests load the engine, not the gateway's throttle (tested on its own): let every request in.
    maxConcurrency: 100_000,
    ...options,
  });
  return {
    ...stack,
    dynamodbRequests,
    stop: async () => {
      await stack.stop();
      await dynamodbRequests.stop();
    },
  };
}
