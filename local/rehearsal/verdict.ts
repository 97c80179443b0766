/** The promises, checked against the ledger, the channels and what the shoppers were told. */
import type { Ledger } from '../api-client';
import type { Outcomes } from './actors';

export interface Check {
  readonly promise: string;
  readonly passed: boolean;
  readonly detail: string;
}

export interface VerdictInput {
  readonly ledger: Ledger;
  readonly outcomes: Outcomes;
  readonly maxPerCustomer: number;
  readonly errors5xx: number;
  readonly channels: ReadonlyArray<{ channel: string; available: number | null }>;
  readonly orderStatuses: ReadonlyMap<string, string | undefined>;
  readonly drained: boolean;
}

export function verdict(input: VerdictInput): Check[] {
  const { ledger, outcomes } = input;
  const orderedUnits = [...outcomes.orders.values()].reduce((sum, order) => sum + order.quantity, 0);
  const oversold = Math.max(0, ledger.sold + ledger.held - ledger.supplied, orderedUnits - ledger.supplied);
  const unitsByCustomer = new Map<string, number>();
  for (const order of outcomes.orders.values()) {
    unitsByCustomer.set(order.customerId, (unitsByCustomer.get(order.customerId) ?? 0) + order.quantity);
  }
  const overLimit = [...unitsByCustomer.values()].filter((units) => units > input.maxPerCustomer).length;
  const notFulfilled = [...input.orderStatuses.values()].filter((status) => status !== 'FULFILLED').length;
  const outOfSync = input.channels.filter((channel) => channel.available !== ledger.available);
  const soldAsTold = outcomes.unanswered === 0 ? ledger.sold === orderedUnits : ledger.sold >= orderedUnits;
  return [
    {
      promise: 'no oversell',
      passed: oversold === 0,
      detail: `oversold ${oversold} (sold ${ledger.sold} of ${ledger.supplied})`,
    },
    {
      promise: 'ledger balanced',
      passed: ledger.supplied === ledger.available + ledger.held + ledger.sold,
      detail: `supplied ${ledger.supplied} = available ${ledger.available} + held ${ledger.held} + sold ${ledger.sold}`,
    },
    {
      promise: 'no lost units',
      passed: input.drained && ledger.held === 0,
      detail: `${ledger.held} still held after the drain; released ${ledger.released}, expired ${ledger.expired}`,
    },
    {
      promise: 'exactly-once orders',
      passed: soldAsTold,
      detail: `ledger sold ${ledger.sold}, shoppers were confirmed ${orderedUnits} units in ${outcomes.orders.size} orders`,
    },
    {
      promise: 'orders fulfilled',
      passed: notFulfilled === 0,
      detail: `${input.orderStatuses.size - notFulfilled} of ${input.orderStatuses.size} FULFILLED`,
    },
    {
      promise: 'per-customer limits',
      passed: overLimit === 0,
      detail: `${overLimit} customers over ${input.maxPerCustomer}`,
    },
    {
      promise: 'channels in sync',
      passed: outOfSync.length === 0,
      detail:
        outOfSync.length === 0
          ? `${input.channels.length} channels show ${ledger.available} available`
          : outOfSync.map((channel) => `${channel.channel} shows ${channel.available}`).join(', '),
    },
    { promise: 'no 5xx under load', passed: input.errors5xx === 0, detail: `${input.errors5xx} answers 5xx` },
  ];
}
