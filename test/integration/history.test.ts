/**
 * History check: fast-check generates programs of reservation, release,
 * checkout and restock operations, run in concurrent batches against the
 * local stack. Every batch's answers must be explained by some sequential
 * order of its operations applied to a model of the inventory (the batch is
 * linearizable), and after every batch the ledger must equal the model's.
 *
 * The stock view's one-second staleness is turned off here (STOCK_VIEW_TTL_MS
 * = 0) so the model can be exact: a sold-out answer must mean the units were
 * not there. The staleness itself is bounded and tested in stock-view tests.
 *
 * The second check is about money under time and faults: checkouts,
 * releases, expiry sweeps and refund sweeps run concurrently in simulated
 * execution environments whose clocks are offset by up to ±2 s from each
 * other, while time moves past the holds' expiry. Faults are injected where
 * AWS and a payment provider produce them and DynamoDB Local cannot:
 * throttling before a call, and an answer lost after a write or a charge or
 * a refund took effect. After every program, once every hold has ended and
 * every owed refund is settled: no order stands on a refunded charge, every
 * unsold hold's charge is refunded exactly once, every order's amount is its
 * charge's and the hold's price × quantity, and the ledger is balanced with
 * no unit lost.
 */
import { randomUUID } from 'node:crypto';
import { ProvisionedThroughputExceededException } from '@aws-sdk/client-dynamodb';
import { PutCommand, ScanCommand, TransactWriteCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import fc from 'fast-check';
import { DynamoDbInventoryStore } from '../../lambdas/adapters/dynamodb-inventory-store';
import { SimulatedPaymentProvider } from '../../lambdas/adapters/simulated-payment-provider';
import { Checkout } from '../../lambdas/domain/checkout';
import { Inventory } from '../../lambdas/domain/inventory';
import { amountDue, chargeKeyFor, type Reservation } from '../../lambdas/domain/model';
import type { PaymentProvider } from '../../lambdas/domain/ports';
import { CHARGE_WINDOW_MS, Refunds } from '../../lambdas/domain/refunds';
import { StockView } from '../../lambdas/domain/stock-view';
import { ApiClient, type ApiResponse } from '../../local/api-client';
import { seeded } from '../../local/rehearsal/random';
import { startTestStack, type TestStack } from '../support/local-stack';
import { isTransientFault, testTable } from '../support/test-table';

const MAX_PER_CUSTOMER = 4;
const STOCK = 6;
const CUSTOMERS = ['ana', 'ben', 'chloe', 'dev', 'eli', 'fay'];

type Op =
  | { kind: 'reserve'; customer: number; quantity: number; key: { reuse: number | null; sameBody: boolean } }
  | { kind: 'release'; target: number }
  | { kind: 'checkout'; target: number; decline: boolean }
  | { kind: 'restock'; quantity: number };

/** An operation as executed: its concrete request and the answer it got. */
interface Executed {
  readonly op: Op;
  readonly idempotencyKey?: string;
  readonly body?: { customerId: string; quantity: number };
  readonly reservationId?: string;
  readonly status: number;
  readonly answer: Record<string, unknown>;
}

interface ReservationState {
  customer: string;
  quantity: number;
  status: 'HELD' | 'CONFIRMED' | 'RELEASED';
  orderId?: string;
}

interface Model {
  supplied: number;
  available: number;
  held: number;
  sold: number;
  units: Map<string, number>;
  keys: Map<string, { customerId: string; quantity: number; reservationId: string }>;
  reservations: Map<string, ReservationState>;
}

const clone = (model: Model): Model => ({
  ...model,
  units: new Map(model.units),
  keys: new Map(model.keys),
  reservations: new Map([...model.reservations].map(([id, state]) => [id, { ...state }])),
});

const errorCode = (answer: Record<string, unknown>) => (answer.error as { code?: string } | undefined)?.code;

/**
 * Applies one executed operation to the model if the model explains its
 * answer; returns false when it cannot. A BUSY answer (contention retries ran
 * out) is always explained: it promises nothing changed.
 */
function step(model: Model, done: Executed): boolean {
  if (done.status === 429 && errorCode(done.answer) === 'BUSY') return true;
  switch (done.op.kind) {
    case 'reserve': {
      const body = done.body as { customerId: string; quantity: number };
      const key = done.idempotencyKey as string;
      // Keys are scoped per customer: another customer's identical key is another request.
      const scopedKey = `${body.customerId} ${key}`;
      const known = model.keys.get(scopedKey);
      if (known) {
        if (known.quantity !== body.quantity) {
          return done.status === 422 && errorCode(done.answer) === 'IDEMPOTENCY_MISMATCH';
        }
        const state = model.reservations.get(known.reservationId);
        return (
          done.status === 201 &&
          done.answer.reservationId === known.reservationId &&
          done.answer.status === state?.status
        );
      }
      const owned = model.units.get(body.customerId) ?? 0;
      if (body.quantity > MAX_PER_CUSTOMER) return done.status === 429 && errorCode(done.answer) === 'LIMIT_EXCEEDED';
      const soldOut = model.available < body.quantity;
      const overLimit = owned + body.quantity > MAX_PER_CUSTOMER;
      // When both hold, either refusal is true; which one is reported depends on which check saw it first.
      if (soldOut || overLimit) {
        return (
          (soldOut && done.status === 409 && errorCode(done.answer) === 'SOLD_OUT') ||
          (overLimit && done.status === 429 && errorCode(done.answer) === 'LIMIT_EXCEEDED')
        );
      }
      const reservationId = done.answer.reservationId as string;
      if (done.status !== 201 || done.answer.status !== 'HELD' || model.reservations.has(reservationId)) return false;
      model.available -= body.quantity;
      model.held += body.quantity;
      model.units.set(body.customerId, owned + body.quantity);
      model.keys.set(scopedKey, { ...body, reservationId });
      model.reservations.set(reservationId, { customer: body.customerId, quantity: body.quantity, status: 'HELD' });
      return true;
    }
    case 'release': {
      const state = model.reservations.get(done.reservationId as string);
      if (!state) return done.status === 404;
      if (state.status === 'CONFIRMED') return done.status === 409 && errorCode(done.answer) === 'INVALID_STATE';
      if (done.status !== 200 || done.answer.status !== 'RELEASED') return false;
      if (state.status === 'HELD') {
        state.status = 'RELEASED';
        model.available += state.quantity;
        model.held -= state.quantity;
        model.units.set(state.customer, (model.units.get(state.customer) ?? 0) - state.quantity);
      }
      return true;
    }
    case 'checkout': {
      const state = model.reservations.get(done.reservationId as string);
      if (!state) return done.status === 404;
      if (state.status === 'RELEASED') return done.status === 409 && errorCode(done.answer) === 'INVALID_STATE';
      if (state.status === 'CONFIRMED') return done.status === 201 && done.answer.orderId === state.orderId;
      if (done.op.decline) return done.status === 402 && errorCode(done.answer) === 'PAYMENT_DECLINED';
      if (done.status !== 201 || done.answer.status !== 'CONFIRMED') return false;
      state.status = 'CONFIRMED';
      state.orderId = done.answer.orderId as string;
      model.held -= state.quantity;
      model.sold += state.quantity;
      return true;
    }
    case 'restock': {
      // The `available` a restock answers is read after its transaction, not within it: operations
      // running at the same time may show in it, so only the ledger after the batch is compared.
      if (done.status !== 200) return false;
      model.supplied += done.op.quantity;
      model.available += done.op.quantity;
      return true;
    }
  }
}

function permutations<T>(items: readonly T[]): T[][] {
  if (items.length <= 1) return [[...items]];
  return items.flatMap((item, index) =>
    permutations([...items.slice(0, index), ...items.slice(index + 1)]).map((rest) => [item, ...rest]),
  );
}

/** The model after some order of the batch that explains every answer, or undefined if none does. */
function linearize(model: Model, batch: readonly Executed[]): Model | undefined {
  for (const order of permutations(batch)) {
    const candidate = clone(model);
    if (order.every((done) => step(candidate, done))) return candidate;
  }
  return undefined;
}

const opArbitrary: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 5,
    arbitrary: fc.record({
      kind: fc.constant('reserve' as const),
      customer: fc.nat(CUSTOMERS.length - 1),
      quantity: fc.integer({ min: 1, max: MAX_PER_CUSTOMER + 1 }),
      key: fc.record({ reuse: fc.option(fc.nat(20), { freq: 3 }), sameBody: fc.boolean() }),
    }),
  },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('release' as const), target: fc.nat(20) }) },
  {
    weight: 3,
    arbitrary: fc.record({ kind: fc.constant('checkout' as const), target: fc.nat(20), decline: fc.boolean() }),
  },
  {
    weight: 1,
    arbitrary: fc.record({ kind: fc.constant('restock' as const), quantity: fc.integer({ min: 1, max: 4 }) }),
  },
);

const programArbitrary = fc.array(fc.array(opArbitrary, { minLength: 1, maxLength: 5 }), {
  minLength: 1,
  maxLength: 12,
});

let stack: TestStack;
let api: ApiClient;
let runs = 0;
const totals = { operations: 0, batches: 0, concurrentBatches: 0 };
const answers = new Map<string, number>();

beforeAll(async () => {
  stack = await startTestStack({ environment: { STOCK_VIEW_TTL_MS: '0' } });
  api = new ApiClient(stack.url, stack.adminKey, 32);
});

afterAll(async () => {
  await api.close();
  await stack.stop();
  const byAnswer = [...answers].map(([answer, count]) => `${answer} ${count}`).join(', ');
  console.log(
    `history check: ${runs} programs, ${totals.batches} batches (${totals.concurrentBatches} concurrent), ${totals.operations} operations; ${byAnswer}`,
  );
});

interface Used {
  keys: Array<{ key: string; body: { customerId: string; quantity: number } }>;
  reservations: string[];
}

async function execute(sku: string, op: Op, used: Used): Promise<Executed> {
  const pick = <T>(list: readonly T[], index: number) => list[index % list.length];
  const json = (response: ApiResponse) => (response.body ?? {}) as Record<string, unknown>;
  switch (op.kind) {
    case 'reserve': {
      const reused = op.key.reuse !== null && used.keys.length > 0 ? pick(used.keys, op.key.reuse) : undefined;
      const idempotencyKey = reused?.key ?? `${sku}-key-${used.keys.length}-${Math.random().toString(36).slice(2)}`;
      const body =
        reused && op.key.sameBody
          ? reused.body
          : { customerId: CUSTOMERS[op.customer] as string, quantity: op.quantity };
      if (!reused) used.keys.push({ key: idempotencyKey, body });
      const response = await api.call('POST', `/products/${sku}/reservations`, {
        body,
        headers: { 'idempotency-key': idempotencyKey },
      });
      if (response.status === 201) used.reservations.push(String(json(response).reservationId));
      return { op, idempotencyKey, body, status: response.status, answer: json(response) };
    }
    case 'release':
    case 'checkout': {
      const reservationId = pick(used.reservations, op.target) ?? crypto.randomUUID();
      const response =
        op.kind === 'release'
          ? await api.call('DELETE', `/reservations/${reservationId}`)
          : await api.call('POST', `/reservations/${reservationId}/checkout`, {
              body: { paymentToken: op.decline ? 'tok_decline' : 'tok_visa' },
            });
      return { op, reservationId, status: response.status, answer: json(response) };
    }
    case 'restock': {
      const response = await api.admin('POST', `/admin/products/${sku}/restock`, {
        body: { quantity: op.quantity },
        headers: { 'idempotency-key': crypto.randomUUID() },
      });
      return { op, status: response.status, answer: json(response) };
    }
  }
}

test('every concurrent batch is explained by a sequential order, and the ledger always equals the model', async () => {
  await fc.assert(
    fc.asyncProperty(programArbitrary, async (program) => {
      const sku = `history-${++runs}`;
      const created = await api.admin('PUT', `/admin/products/${sku}`, {
        body: {
          name: 'History',
          priceCents: 500,
          stock: STOCK,
          shards: 3,
          maxPerCustomer: MAX_PER_CUSTOMER,
          holdSeconds: 600,
        },
      });
      expect(created.status).toBe(201);
      let model: Model = {
        supplied: STOCK,
        available: STOCK,
        held: 0,
        sold: 0,
        units: new Map(),
        keys: new Map(),
        reservations: new Map(),
      };
      const used: Used = { keys: [], reservations: [] };
      for (const batch of program) {
        const executed = await Promise.all(batch.map((op) => execute(sku, op, used)));
        totals.operations += batch.length;
        totals.batches++;
        if (batch.length > 1) totals.concurrentBatches++;
        for (const done of executed) {
          expect(done.status).toBeLessThan(500);
          const answer = `${done.op.kind} ${done.status}${errorCode(done.answer) ? ` ${errorCode(done.answer)}` : ''}`;
          answers.set(answer, (answers.get(answer) ?? 0) + 1);
        }

        const next = linearize(model, executed);
        if (!next) {
          const state = {
            ...model,
            units: [...model.units],
            keys: [...model.keys],
            reservations: [...model.reservations],
          };
          throw new Error(`no sequential order explains this batch: ${JSON.stringify({ state, executed })}`);
        }
        model = next;
        const ledger = await api.ledger(sku);
        expect(ledger).toMatchObject({
          supplied: model.supplied,
          available: model.available,
          held: model.held,
          sold: model.sold,
        });
      }
      for (const [reservationId, state] of model.reservations) {
        const stored = await api.call('GET', `/reservations/${reservationId}`);
        expect(stored.body).toMatchObject({ status: state.status, quantity: state.quantity });
      }
    }),
    { numRuns: 60, endOnFailure: true },
  );
  // Sixty programs of concurrent batches: about a minute on two idle cores, more when they are shared.
}, 300_000);

describe('money under skewed clocks and faults', () => {
  const { tableName, dynamodb, client, provision } = testTable('dropline-history-money');
  const provider = new SimulatedPaymentProvider(client, tableName);
  const HOLDS = 5;
  const HOLD_SECONDS = 3;
  /** Room for every hold at its largest quantity. */
  const STOCK_FOR_HOLDS = HOLDS * 2;
  const faultsSeen = { throttled: 0, lostWrites: 0, lostCharges: 0, failedRefunds: 0, lostRefunds: 0 };
  const outcomes = { confirmed: 0, released: 0, expired: 0, refunded: 0, nothingCharged: 0 };

  type MoneyOp =
    | { kind: 'checkout'; env: number; hold: number; decline: boolean }
    | { kind: 'release'; env: number; hold: number }
    | { kind: 'sweep'; env: number };
  type Step = { kind: 'batch'; ops: MoneyOp[] } | { kind: 'advance'; ms: number };

  const env = fc.integer({ min: 0, max: 2 });
  const hold = fc.integer({ min: 0, max: HOLDS - 1 });
  const moneyOp: fc.Arbitrary<MoneyOp> = fc.oneof(
    { weight: 4, arbitrary: fc.record({ kind: fc.constant('checkout' as const), env, hold, decline: fc.boolean() }) },
    { weight: 2, arbitrary: fc.record({ kind: fc.constant('release' as const), env, hold }) },
    { weight: 2, arbitrary: fc.record({ kind: fc.constant('sweep' as const), env }) },
  );
  const step: fc.Arbitrary<Step> = fc.oneof(
    {
      weight: 3,
      arbitrary: fc.record({
        kind: fc.constant('batch' as const),
        ops: fc.array(moneyOp, { minLength: 1, maxLength: 6 }),
      }),
    },
    {
      weight: 1,
      arbitrary: fc.record({ kind: fc.constant('advance' as const), ms: fc.integer({ min: 300, max: 2500 }) }),
    },
  );
  const world = fc.record({
    offsets: fc.array(fc.integer({ min: -2000, max: 2000 }), { minLength: 3, maxLength: 3 }),
    priceCents: fc.integer({ min: 1, max: 50_000 }),
    quantities: fc.array(fc.integer({ min: 1, max: 2 }), { minLength: HOLDS, maxLength: HOLDS }),
    faultSeed: fc.integer(),
    steps: fc.array(step, { minLength: 2, maxLength: 10 }),
  });

  const timeout = (message: string) => Object.assign(new Error(message), { name: 'TimeoutError' });

  /** One execution environment: its own clock, its own faulty view of DynamoDB and of the provider. */
  function environment(now: () => number, random: () => number, faultRate: number) {
    const faulty = new Proxy(client, {
      get(target, property, receiver) {
        if (property !== 'send') return Reflect.get(target, property, receiver);
        return async (command: unknown) => {
          const roll = random();
          if (roll < faultRate / 2) {
            faultsSeen.throttled++;
            throw new ProvisionedThroughputExceededException({ message: 'Rate exceeded (injected)', $metadata: {} });
          }
          const answer = await target.send(command as PutCommand);
          const isWrite =
            command instanceof TransactWriteCommand ||
            command instanceof UpdateCommand ||
            command instanceof PutCommand;
          if (isWrite && roll < faultRate) {
            faultsSeen.lostWrites++;
            throw timeout('the answer was lost after the write (injected)');
          }
          return answer;
        };
      },
    });
    const payments: Pick<PaymentProvider, 'charge' | 'refundFor'> = {
      charge: async (request) => {
        const charged = await provider.charge(request);
        if (random() < faultRate) {
          faultsSeen.lostCharges++;
          throw timeout('the provider charged, its answer was lost (injected)');
        }
        return charged;
      },
      refundFor: async (key) => {
        // Refunds are rarer than charges: fault them twice as often so each run meets some.
        const roll = random() / 2;
        if (roll < faultRate / 2) {
          faultsSeen.failedRefunds++;
          throw timeout('the provider failed the refund (injected)');
        }
        const refunded = await provider.refundFor(key);
        if (roll < faultRate) {
          faultsSeen.lostRefunds++;
          throw timeout('the provider refunded, its answer was lost (injected)');
        }
        return refunded;
      },
    };
    const store = new DynamoDbInventoryStore(faulty, tableName);
    const refunds = new Refunds({ store, payments, clock: { now } });
    const deps = { store, clock: { now }, newId: randomUUID, sleep: async () => undefined };
    return {
      inventory: new Inventory({ ...deps, refunds, view: new StockView(0, now), isTransientFault }),
      checkout: new Checkout({ ...deps, payment: payments, refunds }),
      refunds,
    };
  }

  async function scan(filter: string, values: Record<string, unknown>) {
    const { Items = [] } = await client.send(
      new ScanCommand({
        TableName: tableName,
        FilterExpression: filter,
        ExpressionAttributeValues: values,
        ConsistentRead: true,
      }),
    );
    return Items;
  }

  beforeAll(async () => {
    await provision();
  });

  afterAll(() => {
    dynamodb.destroy();
    console.log(`money history: ${JSON.stringify(outcomes)}; faults injected ${JSON.stringify(faultsSeen)}`);
  });

  let programs = 0;
  test('no order on a refunded charge, every unsold charge refunded once, amounts bound to the hold, ledger balanced', async () => {
    await fc.assert(
      fc.asyncProperty(world, async ({ offsets, priceCents, quantities, faultSeed, steps }) => {
        const sku = `money-history-${++programs}`;
        let shift = 0;
        const random = seeded(faultSeed);
        const clockOf = (offset: number) => () => Date.now() + shift + offset;
        const envs = offsets.map((offset) => environment(clockOf(offset), random, 0.15));
        const calm = environment(clockOf(0), () => 1, 0);
        await calm.inventory.upsertProduct({
          sku,
          name: sku,
          priceCents,
          stock: STOCK_FOR_HOLDS,
          shards: 2,
          maxPerCustomer: 2,
          holdSeconds: HOLD_SECONDS,
          dropStartsAt: '2026-01-01T00:00:00Z',
        });
        const holds: Reservation[] = [];
        for (const [index, quantity] of quantities.entries()) {
          const { reservation } = await calm.inventory.reserve({
            sku,
            customerId: `shopper-${index}`,
            quantity,
            idempotencyKey: `${sku}-${index}`,
          });
          holds.push(reservation);
        }

        for (const current of steps) {
          if (current.kind === 'advance') {
            shift += current.ms;
            continue;
          }
          await Promise.all(
            current.ops.map(async (op) => {
              const { inventory, checkout, refunds } = envs[op.env] as (typeof envs)[number];
              try {
                if (op.kind === 'checkout') {
                  const target = holds[op.hold] as Reservation;
                  await checkout.checkout(target.reservationId, op.decline ? 'tok_decline' : 'tok_visa');
                } else if (op.kind === 'release') {
                  await inventory.release((holds[op.hold] as Reservation).reservationId);
                } else {
                  await inventory.expireDueHolds();
                  await refunds.settleDue();
                }
              } catch {
                // Refused or faulted: what the shopper sees is tested elsewhere; the money is checked below.
              }
            }),
          );
        }

        // Every hold ends (confirmed, or expired by a fault-free sweep), every owed refund is settled.
        shift += HOLD_SECONDS * 1000 + CHARGE_WINDOW_MS + 5000;
        await calm.inventory.expireDueHolds();
        for (let round = 0; round < 10 && (await calm.refunds.settleDue()).pending > 0; round++) shift += 60_000;
        await calm.refunds.settleDue();

        const ledger = await calm.inventory.ledger(sku);
        let soldUnits = 0;
        for (const original of holds) {
          const stored = (await calm.inventory.getReservation(original.reservationId)) as Reservation;
          const orders = await scan('kind = :order AND reservationId = :id', {
            ':order': 'order',
            ':id': original.reservationId,
          });
          const charges = await scan('idempotencyKey = :key', { ':key': chargeKeyFor(original.reservationId) });
          const refund = (await scan('pk = :pk', { ':pk': `REFUND#${original.reservationId}` }))[0];
          expect(charges.length).toBeLessThanOrEqual(1);
          const charge = charges[0];
          expect(stored.status).not.toBe('HELD');
          if (stored.status === 'CONFIRMED') {
            outcomes.confirmed++;
            soldUnits += stored.quantity;
            expect(orders).toHaveLength(1);
            const order = orders[0] as Record<string, unknown>;
            expect(order.amountCents).toBe(amountDue(original));
            expect(order.amountCents).toBe(priceCents * original.quantity);
            expect(charge).toMatchObject({ chargeId: order.chargeId, amountCents: order.amountCents, refunded: false });
          } else {
            outcomes[stored.status === 'RELEASED' ? 'released' : 'expired']++;
            expect(orders).toHaveLength(0);
            if (charge) {
              expect(charge).toMatchObject({ refunded: true, refunds: 1 });
              expect(refund).toMatchObject({ status: 'REFUNDED' });
              outcomes.refunded++;
            } else if (refund) {
              expect(refund).toMatchObject({ status: 'NOTHING_CHARGED' });
              outcomes.nothingCharged++;
            }
          }
        }
        expect(ledger).toMatchObject({
          supplied: STOCK_FOR_HOLDS,
          held: 0,
          sold: soldUnits,
          available: STOCK_FOR_HOLDS - soldUnits,
        });
        expect(ledger.supplied).toBe(ledger.available + ledger.held + ledger.sold);
      }),
      { numRuns: 25, endOnFailure: true },
    );
  }, 300_000);
});
