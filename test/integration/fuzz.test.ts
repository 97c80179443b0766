/**
 * Property-based fuzzing of every route: random path parameters (encoded and
 * raw, traversal and control characters), headers, methods and bodies — the
 * bodies drawn from anything that the route's own schema rejects. Every answer
 * must be a 4xx in the contract's error shape with nothing internal in it, no
 * DynamoDB write may happen, and no log line may carry a customer identifier.
 * Logs run at DEBUG here so that everything a handler could log is checked.
 */
import { Writable } from 'node:stream';
import fc from 'fast-check';
import type * as z from 'zod/mini';
import { bodySchemas } from '../../contract/requests';
import { type ApiRoute, apiRoutes } from '../../contract/routes';
import { ApiClient, type ApiResponse } from '../../local/api-client';
import { BACKGROUND_KEY_PREFIXES, startTestStack, type TestStack } from '../support/local-stack';
import { pipelineSettled } from '../support/settled';

const SKU = 'fuzz-canary';
const CUSTOMER = 'cust-PRIVATE-4711';
const RUNS_PER_ROUTE = 300;

let stack: TestStack;
let api: ApiClient;
let reservationId: string;
let logs = '';
const tally = { requests: 0, byStatus: new Map<number, number>() };

beforeAll(async () => {
  // The functions' logs, every level, are kept for the privacy check instead of flooding the test output.
  const kept = new Writable({
    write(chunk: Buffer, _encoding, done) {
      logs += chunk.toString();
      done();
    },
  });
  stack = await startTestStack({ environment: { POWERTOOLS_LOG_LEVEL: 'DEBUG' }, functionLogs: { to: kept } });
  api = new ApiClient(stack.url, stack.adminKey, 32);
  await api.putProduct(SKU, { name: 'Canary', priceCents: 100, stock: 20, shards: 2, maxPerCustomer: 2 });
  const hold = await api.reserve(SKU, CUSTOMER, 1, 'fuzz-canary-key');
  reservationId = String(hold.body.reservationId);
  const paid = await api.call('POST', `/reservations/${reservationId}/checkout`, {
    body: { paymentToken: 'tok_visa' },
  });
  expect(paid.status).toBe(201);
  // The order pipeline's own writes (the dispatch, the order fulfilled) land before anything is counted.
  await pipelineSettled(api, SKU, [String(paid.body.orderId)]);
}, 180_000);

afterAll(async () => {
  await api.close();
  await stack.stop();
  const statuses = [...tally.byStatus].map(([status, count]) => `${status}×${count}`).join(' ');
  console.log(`fuzz: ${tally.requests} hostile requests over ${apiRoutes.length} routes; ${statuses}`);
});

/** Strings an attacker puts in a path segment, sent percent-encoded or raw. */
const segment = fc.oneof(
  fc.string({ unit: 'grapheme', maxLength: 80 }).map(encodeURIComponent),
  fc.string({ unit: 'binary', maxLength: 40 }).map(encodeURIComponent),
  fc.constantFrom('..', '%2e%2e', '%00', '%ZZ', '%', '.', '%2F', 'a%2Fb', '\\', '~', '*', '$', 'null', 'undefined'),
  fc.string({ maxLength: 300 }).map((value) => encodeURIComponent(`${value}${'x'.repeat(200)}`)),
);
const headerValue = fc.string({
  unit: fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c)),
  maxLength: 400,
});
const json = fc.oneof(
  fc.jsonValue(),
  fc.record({ customerId: fc.jsonValue(), quantity: fc.jsonValue() }, { requiredKeys: [] }),
  fc.record({ name: fc.jsonValue(), priceCents: fc.jsonValue(), stock: fc.jsonValue() }, { requiredKeys: [] }),
  fc.dictionary(fc.constantFrom('__proto__', 'constructor', 'paymentToken', 'quantity', 'shards'), fc.jsonValue()),
);

/** A body the route's own schema refuses (or, for routes without a body, anything). */
function hostileBody(route: ApiRoute) {
  const schema = bodySchemas[route.handler];
  const raw = fc.oneof(
    json.map((value) => ({ rawBody: JSON.stringify(value) ?? 'null', value: value as unknown })),
    fc.string({ maxLength: 200 }).map((text) => ({ rawBody: text, value: undefined as unknown })),
  );
  return schema ? raw.filter(({ rawBody }) => !parses(schema, rawBody)) : raw;
}

function parses(schema: z.ZodMiniType, rawBody: string): boolean {
  try {
    return schema.safeParse(JSON.parse(rawBody)).success;
  } catch {
    return false;
  }
}

/** The route's path with every parameter fuzzed, or pointing at things that exist (to fuzz the body alone). */
function hostilePath(route: ApiRoute) {
  const parameters = [...route.path.matchAll(/\{(\w+)\}/g)].map((match) => match[1] as string);
  // Only a route whose body is fuzzed may keep a real SKU: its body alone makes the request hostile.
  const mayKeepReal = bodySchemas[route.handler] !== undefined;
  return fc
    .tuple(fc.array(segment, { minLength: parameters.length, maxLength: parameters.length }), fc.boolean())
    .map(([values, keepReal]) =>
      parameters.reduce(
        (path, name, index) =>
          path.replace(`{${name}}`, mayKeepReal && keepReal && name === 'sku' ? SKU : values[index] || 'x'),
        route.path,
      ),
    );
}

function expectContained(response: ApiResponse<Record<string, unknown>>, label: string) {
  tally.requests++;
  tally.byStatus.set(response.status, (tally.byStatus.get(response.status) ?? 0) + 1);
  expect({ label, status: response.status >= 400 && response.status < 500 }).toEqual({ label, status: true });
  const error = response.body.error as { code?: unknown; message?: unknown } | undefined;
  expect(typeof error?.code === 'string' && /^[A-Z_]+$/.test(error.code)).toBe(true);
  expect(response.text).not.toMatch(/\bat .+:\d+:\d+|node_modules|\/lambdas\/|TypeError|SyntaxError|ReferenceError/);
  expect(response.text).not.toContain(CUSTOMER);
}

/** Routes that take input; `GET /health` takes none (its other methods are still probed). */
const withInput = (route: ApiRoute) => route.path.includes('{');

const label = (route: ApiRoute) => [`${route.method} ${route.path}`, route] as const;

describe.each(apiRoutes.filter(withInput).map(label))('%s', (_, route) => {
  it('answers hostile paths, headers and bodies with a 4xx and changes nothing', async () => {
    const writesBefore = stack.dynamodbRequests.writesExcept(BACKGROUND_KEY_PREFIXES);
    await fc.assert(
      fc.asyncProperty(
        hostilePath(route),
        hostileBody(route),
        fc.record({
          key: headerValue,
          type: fc.constantFrom('application/json', 'text/plain', 'application/x-www-form-urlencoded', ''),
          admin: fc.boolean(),
        }),
        async (path, body, headers) => {
          const response = await api.call(route.method, path, {
            ...(route.method === 'GET' || route.method === 'DELETE' ? {} : { rawBody: body.rawBody }),
            headers: { 'idempotency-key': headers.key, ...(headers.type ? { 'content-type': headers.type } : {}) },
            admin: route.access === 'admin' ? headers.admin : false,
          });
          expectContained(response, `${route.method} ${path}`);
        },
      ),
      { numRuns: RUNS_PER_ROUTE },
    );
    expect(stack.dynamodbRequests.writesExcept(BACKGROUND_KEY_PREFIXES)).toBe(writesBefore);
  });
});

describe.each(apiRoutes.map(label))('%s', (_, route) => {
  it('answers every other method with a 4xx', async () => {
    const others = ['GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS'].filter(
      (method) => !apiRoutes.some((candidate) => candidate.path === route.path && candidate.method === method),
    );
    for (const method of others) {
      const path = route.path.replace(/\{\w+\}/g, 'probe');
      expectContained(await api.call(method, path, { rawBody: '{}', admin: true }), `${method} ${path}`);
    }
  });
});

test('no log line carries the customer identifier, an idempotency key or a stack trace', () => {
  expect(logs.length).toBeGreaterThan(0);
  expect(tally.requests).toBeGreaterThan(1000); // runs after the fuzzing, over everything it logged
  expect(logs).not.toContain(CUSTOMER);
  expect(logs).not.toContain('fuzz-canary-key');
  expect(logs).not.toMatch(/Unhandled error|\bat .+:\d+:\d+\)/);
});
