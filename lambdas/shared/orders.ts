/** Composition root for orders: checkout (and reading an order back) and fulfilment. */
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { SimulatedWarehouse } from '../adapters/simulated-warehouse';
import { Checkout } from '../domain/checkout';
import { Fulfilment } from '../domain/fulfilment';
import { documentClient, tableName } from './dynamodb';
import { payments, refunds, store } from './inventory';

export const orders = new Checkout({
  store,
  payment: payments,
  refunds,
  clock: { now: Date.now },
  newId: randomUUID,
  sleep,
});

export const fulfilment = new Fulfilment({ store, warehouse: new SimulatedWarehouse(documentClient, tableName) });
