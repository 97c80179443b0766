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
 * Expiry is wall-clock driven and is covered by release-expiry tests.
 */
import fc from 'fast-check';
import { ApiClient, type ApiResponse } from '../../local/api-client';
import { startTestStack, type TestStack } from '../support/local-stack';

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
      const known = model.keys.get(key);
      if (known) {
        if (known.customerId !== body.customerId || known.quantity !== body.quantity) {
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
      model.keys.set(key, { ...body, reservationId });
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
  process.env.STOCK_VIEW_TTL_MS = '0';
  stack = await startTestStack();
  api = new ApiClient(stack.url, stack.adminKey, 32);
});

afterAll(async () => {
  delete process.env.STOCK_VIEW_TTL_MS;
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
      const response = await api.call('POST', `/admin/products/${sku}/restock`, {
        body: { quantity: op.quantity },
        headers: { 'idempotency-key': crypto.randomUUID() },
        admin: true,
      });
      return { op, status: response.status, answer: json(response) };
    }
  }
}

test('every concurrent batch is explained by a sequential order, and the ledger always equals the model', async () => {
  await fc.assert(
    fc.asyncProperty(programArbitrary, async (program) => {
      const sku = `history-${++runs}`;
      const created = await api.call('PUT', `/admin/products/${sku}`, {
        body: {
          name: 'History',
          priceCents: 500,
          stock: STOCK,
          shards: 3,
          maxPerCustomer: MAX_PER_CUSTOMER,
          holdSeconds: 600,
        },
        admin: true,
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
});
