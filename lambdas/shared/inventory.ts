/**
 * Composition root: one Inventory per execution environment, wired to
 * DynamoDB. Its stock view (and so the sold-out cache) lives as long as the
 * environment does.
 */
import { randomUUID } from 'node:crypto';
import { MAX_SHARDS } from '../../contract/inventory-table';
import { classifyAwsFault } from '../adapters/aws-faults';
import { DynamoDbInventoryStore } from '../adapters/dynamodb-inventory-store';
import { SimulatedPaymentProvider } from '../adapters/simulated-payment-provider';
import { Inventory } from '../domain/inventory';
import { Refunds } from '../domain/refunds';
import { StockView } from '../domain/stock-view';
import { documentClient, tableName } from './dynamodb';
import { numberEnv } from './env';

/** How long a believed stock level (and so a sold-out answer) is trusted. */
export const STOCK_VIEW_TTL_MS = numberEnv('STOCK_VIEW_TTL_MS', 1000);

export const store = new DynamoDbInventoryStore(documentClient, tableName);
export const payments = new SimulatedPaymentProvider(documentClient, tableName);

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export const refunds = new Refunds({ store, payments, clock: { now: Date.now } });

/** `PLANNED_SHARDS` is set by the stack from the drop plan: `{"SKU": shards}`. */
function plannedShards(): Record<string, number> {
  const raw = process.env.PLANNED_SHARDS;
  if (!raw) return {};
  const parsed: unknown = JSON.parse(raw);
  if (typeof parsed !== 'object' || parsed === null) throw new Error('PLANNED_SHARDS is not a JSON object');
  return Object.fromEntries(
    Object.entries(parsed).filter(
      (entry): entry is [string, number] => Number.isInteger(entry[1]) && entry[1] >= 1 && entry[1] <= MAX_SHARDS,
    ),
  );
}

export const inventory = new Inventory({
  plannedShards: plannedShards(),
  isTransientFault: (error) => classifyAwsFault(error) !== undefined,
  store,
  refunds,
  view: new StockView(STOCK_VIEW_TTL_MS, Date.now),
  clock: { now: Date.now },
  newId: randomUUID,
  sleep,
});
