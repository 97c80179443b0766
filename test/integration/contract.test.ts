/** The HTTP contract, route by route: shapes, status codes and error codes. */
import { ApiClient } from '../../local/api-client';
import { eventually } from '../support/eventually';
import { expectBalanced } from '../support/ledger';
import { startTestStack, type TestStack } from '../support/local-stack';

let stack: TestStack;
let api: ApiClient;
let serial = 0;

/** A fresh product per test, so tests don't share stock. */
async function product(overrides: Record<string, unknown> = {}): Promise<string> {
  const sku = `contract-${++serial}`;
  const created = await api.putProduct(sku, {
    name: 'Contract Tee',
    priceCents: 3500,
    stock: 10,
    shards: 2,
    ...overrides,
  });
  expect(created.status).toBe(201);
  return sku;
}

beforeAll(async () => {
  stack = await startTestStack();
  api = new ApiClient(stack.url, stack.adminKey);
});

afterAll(async () => {
  await api.close();
  await stack.stop();
});

describe('GET /products/{sku}', () => {
  test('answers the product with availability and short cache headers', async () => {
    const sku = await product({ maxPerCustomer: 4, holdSeconds: 120, dropStartsAt: '2026-01-01T00:00:00Z' });

    const response = await api.call('GET', `/products/${sku}`);

    expect(response.status).toBe(200);
    expect(response.body).toEqual({
      sku,
      name: 'Contract Tee',
      priceCents: 3500,
      available: 10,
      soldOut: false,
      dropState: 'OPEN',
      waitingRoom: false,
      maxPerCustomer: 4,
      holdSeconds: 120,
      dropStartsAt: '2026-01-01T00:00:00Z',
    });
    expect(response.headers['cache-control']).toMatch(/max-age=1\b.*stale-while-revalidate/);
    expect(response.headers.etag).toMatch(/^".+"$/);
  });

  test('answers 304 to a matching If-None-Match', async () => {
    const sku = await product();
    const first = await api.call('GET', `/products/${sku}`);

    const second = await api.call('GET', `/products/${sku}`, {
      headers: { 'if-none-match': String(first.headers.etag) },
    });

    expect(second.status).toBe(304);
    expect(second.text).toBe('');
  });

  test('answers 304 to a weak or listed If-None-Match, as CloudFront and browsers may send it', async () => {
    const sku = await product();
    const etag = String((await api.call('GET', `/products/${sku}`)).headers.etag);

    for (const ifNoneMatch of [`W/${etag}`, `"older", ${etag}`, '*']) {
      const again = await api.call('GET', `/products/${sku}`, { headers: { 'if-none-match': ifNoneMatch } });
      expect([ifNoneMatch, again.status]).toEqual([ifNoneMatch, 304]);
    }
  });

  test('answers 200 with the new body once the availability changed', async () => {
    const sku = await product();
    const before = await api.call('GET', `/products/${sku}`);
    expect((await api.reserve(sku, 'etag-shopper', 1, 'etag-hold-1')).status).toBe(201);

    // The read model follows the hold through the stream: within moments, not necessarily at once.
    const after = await eventually(async () => {
      const answer = await api.call('GET', `/products/${sku}`, {
        headers: { 'if-none-match': String(before.headers.etag) },
      });
      expect(answer.status).toBe(200);
      return answer;
    });

    expect(after.body).toMatchObject({ available: 9 });
    expect(after.headers.etag).not.toBe(before.headers.etag);
  });

  test('answers 404 NOT_FOUND for an unknown sku', async () => {
    const response = await api.call('GET', '/products/no-such-sku');
    expect(response.status).toBe(404);
    expect(response.body.error.code).toBe('NOT_FOUND');
  });
});

describe('POST /products/{sku}/reservations', () => {
  test('holds units and answers the reservation', async () => {
    const sku = await product({ holdSeconds: 60 });
    const before = Date.now();

    const response = await api.reserve(sku, 'alice', 2, 'contract-hold-1');

    expect(response.status).toBe(201);
    expect(response.body).toMatchObject({ sku, customerId: 'alice', quantity: 2, status: 'HELD' });
    expect(response.body.reservationId).toMatch(/^[0-9a-f-]{36}$/);
    const expiresAt = Date.parse(response.body.expiresAt);
    expect(expiresAt).toBeGreaterThanOrEqual(before + 59_000);
    expect(expiresAt).toBeLessThanOrEqual(Date.now() + 61_000);
    expect((await api.ledger(sku)).held).toBe(2);
  });

  test('replays the same reservation for the same Idempotency-Key and body', async () => {
    const sku = await product();
    const first = await api.reserve(sku, 'bob', 1, 'contract-replay');

    const again = await api.reserve(sku, 'bob', 1, 'contract-replay');

    expect(again.status).toBe(201);
    expect(again.body).toEqual(first.body);
    expect(again.headers['idempotent-replayed']).toBe('true');
    expect((await api.ledger(sku)).held).toBe(1);
  });

  test('answers 422 IDEMPOTENCY_MISMATCH when the key comes back with another body', async () => {
    const sku = await product();
    await api.reserve(sku, 'carol', 1, 'contract-mismatch');

    const other = await api.reserve(sku, 'carol', 2, 'contract-mismatch');

    expect(other.status).toBe(422);
    expect(other.body.error.code).toBe('IDEMPOTENCY_MISMATCH');
    expect((await api.ledger(sku)).held).toBe(1);
  });

  test('answers 400 VALIDATION_ERROR without an Idempotency-Key', async () => {
    const sku = await product();
    const response = await api.call('POST', `/products/${sku}/reservations`, {
      body: { customerId: 'dan', quantity: 1 },
    });
    expect(response.status).toBe(400);
    expect(response.body.error.code).toBe('VALIDATION_ERROR');
    // API Gateway's request validator names the header as the template declares it.
    expect(response.body.error.message).toMatch(/idempotency-key/i);
  });

  test('answers 403 DROP_NOT_STARTED before the drop opens', async () => {
    const sku = await product({ dropStartsAt: new Date(Date.now() + 3_600_000).toISOString() });
    const response = await api.reserve(sku, 'erin', 1, 'contract-early');
    expect(response.status).toBe(403);
    expect(response.body.error.code).toBe('DROP_NOT_STARTED');
    expect((await api.ledger(sku)).held).toBe(0);
  });

  test('answers 404 NOT_FOUND for an unknown sku', async () => {
    const response = await api.reserve('no-such-sku', 'frank', 1, 'contract-404');
    expect(response.status).toBe(404);
    expect(response.body.error.code).toBe('NOT_FOUND');
  });

  test('answers 409 SOLD_OUT when no units are left', async () => {
    const sku = await product({ stock: 1, shards: 1 });
    expect((await api.reserve(sku, 'gina', 1, 'contract-last-unit')).status).toBe(201);

    const response = await api.reserve(sku, 'hank', 1, 'contract-too-late');

    expect(response.status).toBe(409);
    expect(response.body.error.code).toBe('SOLD_OUT');
  });

  test('answers 429 LIMIT_EXCEEDED past the per-customer limit, in one request or across several', async () => {
    const sku = await product({ maxPerCustomer: 2 });

    const tooMany = await api.reserve(sku, 'ivy', 3, 'contract-limit-1');
    const first = await api.reserve(sku, 'ivy', 2, 'contract-limit-2');
    const more = await api.reserve(sku, 'ivy', 1, 'contract-limit-3');

    expect(tooMany.status).toBe(429);
    expect(tooMany.body.error.code).toBe('LIMIT_EXCEEDED');
    expect(first.status).toBe(201);
    expect(more.status).toBe(429);
    expect(more.body.error.code).toBe('LIMIT_EXCEEDED');
    expect((await api.ledger(sku)).held).toBe(2);
  });

  test('splits a reservation over shards when no single shard holds enough', async () => {
    const sku = await product({ stock: 4, shards: 4, maxPerCustomer: 4 });

    const response = await api.reserve(sku, 'jack', 3, 'contract-split');

    expect(response.status).toBe(201);
    expect(await api.ledger(sku)).toMatchObject({ available: 1, held: 3 });
  });
});

describe('GET and DELETE /reservations/{id}', () => {
  test('reads a reservation back', async () => {
    const sku = await product();
    const held = await api.reserve(sku, 'kim', 1, 'contract-read');

    const response = await api.call('GET', `/reservations/${held.body.reservationId}`);

    expect(response.status).toBe(200);
    expect(response.body).toEqual(held.body);
  });

  test('answers 404 for an unknown reservation and 400 for a malformed id', async () => {
    const unknown = await api.call('GET', '/reservations/00000000-0000-4000-8000-000000000000');
    const malformed = await api.call('GET', '/reservations/not-an-id');
    expect(unknown.status).toBe(404);
    expect(unknown.body.error.code).toBe('NOT_FOUND');
    expect(malformed.status).toBe(400);
    expect(malformed.body.error.code).toBe('VALIDATION_ERROR');
  });

  test('releases a hold once; releasing it again changes nothing', async () => {
    const sku = await product();
    const held = await api.reserve(sku, 'lee', 2, 'contract-release');
    const path = `/reservations/${held.body.reservationId}`;

    const released = await api.call('DELETE', path);
    const again = await api.call('DELETE', path);

    expect(released.status).toBe(200);
    expect(released.body).toEqual({ reservationId: held.body.reservationId, status: 'RELEASED' });
    expect(again.status).toBe(200);
    expect(again.body.status).toBe('RELEASED');
    const ledger = await api.ledger(sku);
    expect(ledger).toMatchObject({ available: 10, held: 0, released: 2 });
    expect((await api.call('GET', path)).body.status).toBe('RELEASED');
  });

  test('a release gives the customer their limit back', async () => {
    const sku = await product({ maxPerCustomer: 1 });
    const held = await api.reserve(sku, 'max', 1, 'contract-limit-back-1');
    await api.call('DELETE', `/reservations/${held.body.reservationId}`);

    const again = await api.reserve(sku, 'max', 1, 'contract-limit-back-2');

    expect(again.status).toBe(201);
  });

  test('answers 404 when releasing an unknown reservation', async () => {
    const response = await api.call('DELETE', '/reservations/00000000-0000-4000-8000-000000000000');
    expect(response.status).toBe(404);
  });
});

describe('admin routes', () => {
  test('PUT creates with 201, then updates settings with 200 without touching stock', async () => {
    const sku = await product({ stock: 10 });

    const updated = await api.putProduct(sku, { name: 'Renamed Tee', priceCents: 3900, stock: 999 });

    expect(updated.status).toBe(200);
    expect(updated.body).toMatchObject({ sku, name: 'Renamed Tee', priceCents: 3900, supplied: 10 });
    expect((await api.call('GET', `/products/${sku}`)).body).toMatchObject({ name: 'Renamed Tee', available: 10 });
  });

  test('restock adds units to every shard and answers the new availability', async () => {
    const sku = await product({ stock: 10, shards: 3 });
    await api.reserve(sku, 'nia', 2, 'contract-restock');

    const restock = () =>
      api.call('POST', `/admin/products/${sku}/restock`, {
        body: { quantity: 7 },
        headers: { 'idempotency-key': 'contract-restock-1' },
        admin: true,
      });
    const response = await restock();

    expect(response.status).toBe(200);
    expect(response.body).toEqual({ sku, available: 15 });
    const ledger = await api.ledger(sku);
    expect(ledger).toMatchObject({ supplied: 17, available: 15, held: 2 });
    expectBalanced(ledger);
  });

  test('a restock repeated under its Idempotency-Key adds nothing; another quantity under it is 422; no key is 400', async () => {
    const sku = await product({ stock: 10, shards: 3 });
    const restock = (quantity: number, key?: string) =>
      api.call('POST', `/admin/products/${sku}/restock`, {
        body: { quantity },
        headers: key ? { 'idempotency-key': key } : {},
        admin: true,
      });

    const first = await restock(5, 'restock-once');
    const repeat = await restock(5, 'restock-once');
    const mismatch = await restock(6, 'restock-once');
    const keyless = await restock(5);

    expect(first.status).toBe(200);
    expect(repeat.status).toBe(200);
    expect(repeat.headers['idempotent-replayed']).toBe('true');
    expect(mismatch.status).toBe(422);
    expect(mismatch.body.error.code).toBe('IDEMPOTENCY_MISMATCH');
    expect(keyless.status).toBe(400);
    expect(await api.ledger(sku)).toMatchObject({ supplied: 15, available: 15 });
  });

  test('a product PUT retried under its Idempotency-Key cannot undo a later PUT; another body under it is 422', async () => {
    const sku = `put-once-${Date.now()}`;
    const put = (priceCents: number, key: string) =>
      api.call('PUT', `/admin/products/${sku}`, {
        body: { name: 'Once', priceCents, stock: 5 },
        headers: { 'idempotency-key': key },
        admin: true,
      });

    const first = await put(100, 'put-a');
    const later = await put(200, 'put-b');
    const retryOfFirst = await put(100, 'put-a');
    const mismatch = await put(300, 'put-a');

    expect([first.status, later.status, retryOfFirst.status, mismatch.status]).toEqual([201, 200, 201, 422]);
    expect(retryOfFirst.headers['idempotent-replayed']).toBe('true');
    expect(retryOfFirst.body).toMatchObject({ priceCents: 200, supplied: 5 });
    expect((await api.call('GET', `/products/${sku}`)).body).toMatchObject({ priceCents: 200 });
  });

  test('restock of an unknown product answers 404', async () => {
    const response = await api.call('POST', '/admin/products/ghost/restock', {
      body: { quantity: 1 },
      headers: { 'idempotency-key': 'ghost-restock' },
      admin: true,
    });
    expect(response.status).toBe(404);
  });

  test.each([
    ['no key', {}],
    ['a wrong key', { 'x-api-key': 'wrong' }],
  ])('refuses %s with 403 FORBIDDEN', async (_label, headers) => {
    const sku = await product();
    for (const [method, path, body] of [
      ['PUT', `/admin/products/${sku}`, { name: 'x', priceCents: 1, stock: 1 }],
      ['POST', `/admin/products/${sku}/restock`, { quantity: 5 }],
      ['GET', `/admin/products/${sku}/ledger`, undefined],
    ] as const) {
      const response = await api.call(method, path, { body, headers });
      expect(response.status).toBe(403);
      expect(response.body.error.code).toBe('FORBIDDEN');
    }
    expect(await api.ledger(sku)).toMatchObject({ supplied: 10, available: 10 });
  });
});
