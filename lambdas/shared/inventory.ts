/**
 * Composition root: one Inventory per execution environment, wired to
 * DynamoDB. Its stock view (and so the sold-out cache) lives as long as the
 * environment does.
 */
import { randomUUID } from 'node:crypto';
import { DynamoDbInventoryStore } from '../adapters/dynamodb-inventory-store';
import { Inventory } from '../domain/inventory';
import { StockView } from '../domain/stock-view';
import { documentClient, tableName } from './dynamodb';
import { numberEnv } from './env';

/** How long a believed stock level (and so a sold-out answer) is trusted. */
export const STOCK_VIEW_TTL_MS = numberEnv('STOCK_VIEW_TTL_MS', 1000);

export const store = new DynamoDbInventoryStore(documentClient, tableName);

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export const inventory = new Inventory({
  store,
  view: new StockView(STOCK_VIEW_TTL_MS, Date.now),
  clock: { now: Date.now },
  newId: randomUUID,
  sleep,
});
