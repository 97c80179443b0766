/**
 * Composition root: one Inventory per execution environment, wired to
 * DynamoDB. Its stock view (and so the sold-out cache) lives as long as the
 * environment does.
 */
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { getNumberFromEnv, getStringFromEnv } from '@aws-lambda-powertools/commons/utils/env';
import { envVars, parsePlannedShards } from '../../contract/env-vars';
import { classifyAwsFault } from '../adapters/aws-faults';
import { DynamoDbInventoryStore } from '../adapters/dynamodb-inventory-store';
import { SimulatedPaymentProvider } from '../adapters/simulated-payment-provider';
import { Inventory } from '../domain/inventory';
import { Refunds } from '../domain/refunds';
import { StockView } from '../domain/stock-view';
import { documentClient, tableName } from './dynamodb';

/** How long a believed stock level (and so a sold-out answer) is trusted. */
export const STOCK_VIEW_TTL_MS = getNumberFromEnv({ key: envVars.stockViewTtlMs, defaultValue: 1000 });

export const store = new DynamoDbInventoryStore(documentClient, tableName);
export const payments = new SimulatedPaymentProvider(documentClient, tableName);

export const refunds = new Refunds({ store, payments, clock: { now: Date.now } });

export const inventory = new Inventory({
  // Set by the stack from the drop plan; a bad entry stops the function at start rather than being skipped.
  plannedShards: parsePlannedShards(getStringFromEnv({ key: envVars.plannedShards, defaultValue: '' })),
  isTransientFault: (error) => classifyAwsFault(error) !== undefined,
  store,
  refunds,
  view: new StockView(STOCK_VIEW_TTL_MS, Date.now),
  clock: { now: Date.now },
  newId: randomUUID,
  sleep,
});
