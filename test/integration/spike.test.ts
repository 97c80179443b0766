/**
 * The core promise under a spike: thousands of concurrent attempts, mixed
 * quantities, hundreds of customers and duplicated Idempotency-Keys in flight
 * at the same moment, on a few hundred units over several shards.
 */
import { ApiClient, untilSettled } from '../../local/api-client';
import { expectBalanced } from '../support/ledger';
import { startTestStack, type TestStack } from '../support/local-stack';

const SKU = 'spike-sneaker';
const SUPPLY = 300;
const SHARDS = 6;
const MAX_PER_CUSTOMER = 3;
const CUSTOMERS = 600;
const ATTEMPTS = 1800;
const DUPLICATED = 400;
const RETRIES = 8;
/** A guard, not a performance claim (that is the bench's): alone this takes about 30 s; on a busy machine, several times that. */
const SPIKE_TIMEOUT_MS = 360_000;

let stack: TestStack;
let api: ApiClient;

beforeAll(async () => {
  stack = await startTestStack();
  api = new ApiClient(stack.url, stack.adminKey, 512);
  const created = await api.putProduct(SKU, {
    name: 'Spike Sneaker',
    priceCents: 24_000,
    stock: SUPPLY,
    shards: SHARDS,
    maxPerCustomer: MAX_PER_CUSTOMER,
    holdSeconds: 900,
  });
  expect(created.status).toBe(201);
});

afterAll(async () => {
  await api.close();
  await stack.stop();
});

test(
  'holds exactly the supply under 2,200 concurrent attempts, within every limit, one reservation per key',
  async () => {
    const attempts = Array.from({ length: ATTEMPTS }, (_, index) => ({
      customerId: `customer-${(index * 7919) % CUSTOMERS}`,
      quantity: 1 + ((index * 31) % 3),
      key: `spike-key-${index}`,
    }));
    // The first DUPLICATED attempts are sent twice, both copies in flight together.
    const requests = [...attempts, ...attempts.slice(0, DUPLICATED)];

    // Each shopper retries what the contract says to retry (503, 504, BUSY; same key, after Retry-After):
    // how often that happens depends on the machine, what the retries end in must not.
    const responses = await Promise.all(
      requests.map(async (attempt) => ({
        attempt,
        ...(await untilSettled(() => api.reserve(SKU, attempt.customerId, attempt.quantity, attempt.key), RETRIES)),
      })),
    );

    const unexpected = responses.filter(
      ({ response }) =>
        !(
          response.status === 201 ||
          (response.status === 409 && response.body.error.code === 'SOLD_OUT') ||
          (response.status === 429 && response.body.error.code === 'LIMIT_EXCEEDED')
        ),
    );
    expect(unexpected.map(({ response }) => `${response.status} ${response.text}`)).toEqual([]);

    const reservationsByKey = new Map<string, Set<string>>();
    const reservations = new Map<string, { customerId: string; quantity: number }>();
    for (const { attempt, response } of responses) {
      if (response.status !== 201) continue;
      const ids = reservationsByKey.get(attempt.key) ?? new Set<string>();
      ids.add(response.body.reservationId);
      reservationsByKey.set(attempt.key, ids);
      reservations.set(response.body.reservationId, {
        customerId: response.body.customerId,
        quantity: response.body.quantity,
      });
    }
    expect([...reservationsByKey.values()].filter((ids) => ids.size > 1)).toEqual([]);

    const heldUnits = [...reservations.values()].reduce((sum, r) => sum + r.quantity, 0);
    expect(heldUnits).toBe(SUPPLY);

    const unitsByCustomer = new Map<string, number>();
    for (const { customerId, quantity } of reservations.values()) {
      unitsByCustomer.set(customerId, (unitsByCustomer.get(customerId) ?? 0) + quantity);
    }
    expect(Math.max(...unitsByCustomer.values())).toBeLessThanOrEqual(MAX_PER_CUSTOMER);
    expect(unitsByCustomer.size).toBeGreaterThan(MAX_PER_CUSTOMER * 10);

    const ledger = await api.ledger(SKU);
    expect(ledger).toMatchObject({ supplied: SUPPLY, available: 0, held: SUPPLY, sold: 0 });
    expectBalanced(ledger);

    // Every acknowledged reservation is really there, HELD, as answered.
    for (const [reservationId, { quantity }] of reservations) {
      const stored = await api.call('GET', `/reservations/${reservationId}`);
      expect(stored.status).toBe(200);
      expect(stored.body).toMatchObject({ reservationId, status: 'HELD', quantity });
    }
  },
  SPIKE_TIMEOUT_MS,
);
