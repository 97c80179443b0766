/**
 * A table of a test file's own on the run's DynamoDB Local, for tests that
 * drive the store and the domain directly rather than through the local stack.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { classifyAwsFault } from '../../lambdas/adapters/aws-faults';
import type { DynamoDbInventoryStore } from '../../lambdas/adapters/dynamodb-inventory-store';
import { SimulatedPaymentProvider } from '../../lambdas/adapters/simulated-payment-provider';
import { Inventory, type InventoryDeps } from '../../lambdas/domain/inventory';
import { Refunds } from '../../lambdas/domain/refunds';
import { StockView } from '../../lambdas/domain/stock-view';
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

/**
 * The inventory use cases on `store`, as the composition root wires them, with a view that reads the
 * shards for every decision, the wall clock, and backoffs that are not waited.
 */
export function inventoryOn(
  store: DynamoDbInventoryStore,
  table: { readonly client: DynamoDBDocumentClient; readonly tableName: string },
  extra: Partial<Pick<InventoryDeps, 'plannedViewReplicas' | 'plannedShards'>> = {},
): Inventory {
  const payments = new SimulatedPaymentProvider(table.client, table.tableName);
  return new Inventory({
    isTransientFault,
    store,
    refunds: new Refunds({ store, payments, clock: { now: Date.now } }),
    view: new StockView(0, Date.now),
    clock: { now: Date.now },
    newId: randomUUID,
    sleep: async () => undefined,
    ...extra,
  });
}
