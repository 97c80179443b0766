/**
 * A table of a test file's own on the run's DynamoDB Local, for tests that
 * drive the store and the domain directly rather than through the local stack.
 */
import { randomBytes } from 'node:crypto';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { classifyAwsFault } from '../../lambdas/adapters/aws-faults';
import { LOCAL_AWS_ENV } from '../../local/emulators/embedded-aws';
import { provisionInventoryTable } from '../../local/provision-table';

export function testTable(prefix: string) {
  const tableName = `${prefix}-${randomBytes(6).toString('hex')}`;
  const dynamodb = new DynamoDBClient({
    endpoint: process.env.DROPLINE_TEST_DYNAMODB_ENDPOINT,
    region: LOCAL_AWS_ENV.AWS_REGION,
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
  });
  return {
    tableName,
    dynamodb,
    client: DynamoDBDocumentClient.from(dynamodb),
    provision: () => provisionInventoryTable(dynamodb, tableName),
  };
}

/** What the deployed functions count as a transient fault (lambdas/shared/composition.ts wires the same). */
export const isTransientFault = (error: unknown) => classifyAwsFault(error) !== undefined;
