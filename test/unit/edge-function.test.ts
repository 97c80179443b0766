/**
 * @jest-environment node
 *
 * The edge admission function (`edge/admission.js`), run as CloudFront runs it: through the local
 * CloudFront Functions sandbox, on CloudFront's viewer-request event, with its KeyValueStore in memory.
 * Then the sandbox's own limits: what it refuses to load, what the runtime lacks, and the 503 a failing
 * function leaves the viewer with.
 */
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { statSync } from 'node:fs';
import type { ServerResponse } from 'node:http';
import { join } from 'node:path';
import {
  CloudFrontFunction,
  CloudFrontFunctionError,
  type EdgeResult,
  MAX_FUNCTION_BYTES,
  viewerRequestEvent,
  writeEdgeResponse,
} from '../../local/edge/cloudfront-function';

const ADMISSION = join(import.meta.dirname, '..', '..', 'edge', 'admission.js');
const SKU = 'sneaker-x';
const MINUTE = 60_000;

/** The edge state the writer keeps for an open drop that started a minute ago, with stock left. */
function dropState(overrides: Record<string, unknown> = {}) {
  return {
    v: 1,
    state: 'OPEN',
    startsAt: new Date(Date.now() - MINUTE).toISOString(),
    available: 10,
    held: 0,
    since: Date.now() - MINUTE,
    revision: 4,
    stockVersion: 12,
    ...overrides,
  };
}

/** The admission function with a KeyValueStore holding `values` (objects as JSON, strings as they are). */
function admission(values: Record<string, unknown> = {}) {
  const store = new Map(
    Object.entries(values).map(([key, value]) => [key, typeof value === 'string' ? value : JSON.stringify(value)]),
  );
  return CloudFrontFunction.fromFile(ADMISSION, { kvs: { get: (key) => store.get(key) } });
}

/** A UUIDv7 (RFC 9562) minted at `ms`. */
function uuidv7(ms: number): string {
  const hex = ms.toString(16).padStart(12, '0') + randomBytes(10).toString('hex');
  const variant = ((Number.parseInt(hex.charAt(16), 16) & 0x3) | 0x8).toString(16);
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-7${hex.slice(12, 15)}-${variant}${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}

/** A shopper's reservation attempt as CloudFront hands it to a viewer-request function. */
function attempt(options: { method?: string; url?: string; idempotencyKey?: string } = {}) {
  return viewerRequestEvent({
    method: options.method ?? 'POST',
    url: options.url ?? `/products/${SKU}/reservations`,
    headers: {
      host: 'shop.example',
      'content-type': 'application/json',
      'idempotency-key': options.idempotencyKey ?? randomUUID(),
    },
    ip: '203.0.113.7',
    distributionDomainName: 'd111111abcdef8.cloudfront.net',
  });
}

const EDGE_HEADERS = {
  'content-type': { value: 'application/json' },
  'cache-control': { value: 'no-store' },
  'x-dropline-edge': { value: 'answered' },
};

/** CloudFront's `statusDescription` is optional; the function leaves it out (10 KB is tight). */
function edgeAnswer(statusCode: number, _statusDescription: string, code: string, message: string, headers = {}) {
  return {
    kind: 'response',
    response: {
      statusCode,
      headers: { ...EDGE_HEADERS, ...headers },
      body: { encoding: 'text', data: JSON.stringify({ error: { code, message } }) },
    },
  };
}

const passedOn = (event: ReturnType<typeof attempt>): EdgeResult => ({ kind: 'request', request: event.request });

describe('the edge admission function', () => {
  it('answers 409 DROP_CLOSED for a closed drop', async () => {
    const edge = admission({ [`drop:${SKU}`]: dropState({ state: 'CLOSED' }) });

    const result = await edge.run(attempt());

    expect(result).toEqual(edgeAnswer(409, 'Conflict', 'DROP_CLOSED', 'The drop is closed'));
  });

  it('answers 503 DROP_PAUSED with Retry-After 5 for a paused drop', async () => {
    const edge = admission({ [`drop:${SKU}`]: dropState({ state: 'PAUSED' }) });

    const result = await edge.run(attempt());

    expect(result).toEqual(
      edgeAnswer(503, 'Service Unavailable', 'DROP_PAUSED', 'The drop is paused; try again shortly', {
        'retry-after': { value: '5' },
      }),
    );
  });

  it('answers 403 DROP_NOT_STARTED with the start as stored before the drop starts', async () => {
    const startsAt = new Date(Date.now() + 10 * MINUTE).toISOString().replace('Z', '+00:00');
    const edge = admission({ [`drop:${SKU}`]: dropState({ startsAt }) });

    const result = await edge.run(attempt());

    expect(result).toEqual(edgeAnswer(403, 'Forbidden', 'DROP_NOT_STARTED', `The drop starts at ${startsAt}`));
  });

  it('answers 409 SOLD_OUT when nothing is available and nothing is held', async () => {
    const edge = admission({ [`drop:${SKU}`]: dropState({ available: 0, held: 0 }) });

    const result = await edge.run(attempt());

    expect(result).toEqual(edgeAnswer(409, 'Conflict', 'SOLD_OUT', 'Sold out'));
  });

  it('checks a closed drop before its start and its stock', async () => {
    const closed = dropState({ state: 'CLOSED', startsAt: new Date(Date.now() + MINUTE).toISOString(), available: 0 });
    const edge = admission({ [`drop:${SKU}`]: closed });

    const result = await edge.run(attempt());

    expect(result).toEqual(edgeAnswer(409, 'Conflict', 'DROP_CLOSED', 'The drop is closed'));
  });

  it('passes the attempt on when no unit is available but some are held (they may come back)', async () => {
    const edge = admission({ [`drop:${SKU}`]: dropState({ available: 0, held: 3 }) });
    const event = attempt();

    expect(await edge.run(event)).toEqual(passedOn(event));
  });

  it('passes the attempt on for an open drop with stock', async () => {
    const edge = admission({ [`drop:${SKU}`]: dropState() });
    const event = attempt();

    expect(await edge.run(event)).toEqual(passedOn(event));
  });

  it('passes the attempt on when the store has no value for the SKU', async () => {
    const edge = admission({ 'drop:other-sku': dropState({ state: 'CLOSED' }) });
    const event = attempt();

    expect(await edge.run(event)).toEqual(passedOn(event));
  });

  it.each([
    ['not JSON', '{"v":1,"state":'],
    ['another version', dropState({ v: 2, state: 'CLOSED' })],
    ['an unknown state', dropState({ state: 'ENDED' })],
    ['an unreadable start', dropState({ state: 'CLOSED', startsAt: 'soon' })],
    ['a count below -1 (-1 is "not known yet")', dropState({ state: 'CLOSED', held: -2 })],
    ['no since', dropState({ state: 'CLOSED', since: undefined })],
    ['a JSON string', '"CLOSED"'],
  ])('passes the attempt on when the value is %s', async (_what, value) => {
    const edge = admission({ [`drop:${SKU}`]: value });
    const event = attempt();

    expect(await edge.run(event)).toEqual(passedOn(event));
  });

  it('passes the attempt on when the store fails', async () => {
    const edge = CloudFrontFunction.fromFile(ADMISSION, {
      kvs: {
        get: () => Promise.reject(new Error('edge store unavailable')),
      },
    });
    const event = attempt();

    expect(await edge.run(event)).toEqual(passedOn(event));
  });

  it.each([
    ['a GET of the reservations path', { method: 'GET' }],
    ['a POST to the product', { url: `/products/${SKU}` }],
    ['a POST to a reservation', { url: `/products/${SKU}/reservations/r-1` }],
    ['a POST with a trailing slash', { url: `/products/${SKU}/reservations/` }],
    ['a POST for a SKU the API refuses', { url: '/products/-bad/reservations' }],
    ['a POST for a SKU longer than 64', { url: `/products/${'a'.repeat(65)}/reservations` }],
  ])('leaves %s untouched', async (_what, options) => {
    const edge = admission({
      'drop:-bad': dropState({ state: 'CLOSED' }),
      [`drop:${SKU}`]: dropState({ state: 'CLOSED' }),
    });
    const event = attempt(options);

    expect(await edge.run(event)).toEqual(passedOn(event));
  });

  it('passes on a UUIDv7 key minted before the value was written: it may be a retry that made a hold', async () => {
    const since = Date.now() - MINUTE;
    const edge = admission({ [`drop:${SKU}`]: dropState({ state: 'CLOSED', since }) });
    const event = attempt({ idempotencyKey: uuidv7(since - 30_000) });

    expect(await edge.run(event)).toEqual(passedOn(event));
  });

  it('passes on a UUIDv7 key minted within the 2 s clock skew after the value was written', async () => {
    const since = Date.now() - MINUTE;
    const edge = admission({ [`drop:${SKU}`]: dropState({ state: 'CLOSED', since }) });
    const event = attempt({ idempotencyKey: uuidv7(since + 1_999) });

    expect(await edge.run(event)).toEqual(passedOn(event));
  });

  it('answers a UUIDv7 key minted more than 2 s after the value was written: a new attempt', async () => {
    const since = Date.now() - MINUTE;
    const edge = admission({ [`drop:${SKU}`]: dropState({ state: 'CLOSED', since }) });

    const result = await edge.run(attempt({ idempotencyKey: uuidv7(since + 2_000) }));

    expect(result).toEqual(edgeAnswer(409, 'Conflict', 'DROP_CLOSED', 'The drop is closed'));
  });

  it.each([
    ['a UUIDv4', randomUUID()],
    ['free text', 'order-2024-0001'],
    ['a UUIDv7-shaped key of the wrong variant', uuidv7(0).replace(/-[89ab]/, '-c')],
  ])('answers %s key as a new attempt, however old the value', async (_what, idempotencyKey) => {
    const edge = admission({ [`drop:${SKU}`]: dropState({ state: 'CLOSED', since: Date.now() }) });

    const result = await edge.run(attempt({ idempotencyKey }));

    expect(result).toEqual(edgeAnswer(409, 'Conflict', 'DROP_CLOSED', 'The drop is closed'));
  });

  it('answers an attempt without an Idempotency-Key as a new one', async () => {
    const edge = admission({ [`drop:${SKU}`]: dropState({ state: 'CLOSED' }) });
    const event = attempt();
    delete event.request.headers['idempotency-key'];

    expect(await edge.run(event)).toEqual(edgeAnswer(409, 'Conflict', 'DROP_CLOSED', 'The drop is closed'));
  });

  it(`fits CloudFront Functions' ${MAX_FUNCTION_BYTES} bytes`, () => {
    expect(statSync(ADMISSION).size).toBeLessThanOrEqual(MAX_FUNCTION_BYTES);
  });
});

/** A function that answers 200 with `data` computed in the runtime. */
function answering(expression: string) {
  return CloudFrontFunction.fromSource(
    `async function handler(event) { return { statusCode: 200, body: { encoding: 'text', data: String(${expression}) } }; }`,
    { name: 'probe.js' },
  );
}

async function dataOf(fn: CloudFrontFunction): Promise<unknown> {
  const result = await fn.run(attempt());
  return result.kind === 'response' && typeof result.response.body === 'object' ? result.response.body.data : result;
}

describe('the CloudFront Functions sandbox', () => {
  it(`refuses code over ${MAX_FUNCTION_BYTES} bytes`, () => {
    const source = `function handler(event) { return event.request; }\n//${'x'.repeat(MAX_FUNCTION_BYTES)}\n`;

    expect(() => CloudFrontFunction.fromSource(source, { name: 'big.js' })).toThrow(CloudFrontFunctionError);
    expect(() => CloudFrontFunction.fromSource(source, { name: 'big.js' })).toThrow(/at most 10240/);
  });

  it("refuses `import fs from 'fs'`", () => {
    const source = "import fs from 'fs';\nfunction handler(event) { return event.request; }\n";

    expect(() => CloudFrontFunction.fromSource(source, { name: 'fs.js' })).toThrow(/fs\.js:1 imports/);
  });

  it('refuses an export', () => {
    const source = 'export function handler(event) { return event.request; }\n';

    expect(() => CloudFrontFunction.fromSource(source, { name: 'module.js' })).toThrow(/module\.js:1 exports/);
  });

  it('refuses code that defines no handler', () => {
    const source = 'function main(event) { return event.request; }\n';

    expect(() => CloudFrontFunction.fromSource(source, { name: 'main.js' })).toThrow(/defines no function handler/);
  });

  it.each(['fetch', 'process', 'require', 'setTimeout', 'setInterval', 'WebAssembly'])('has no %s', async (name) => {
    expect(await dataOf(answering(`typeof ${name}`))).toBe('undefined');
  });

  it("gives `import crypto from 'crypto'` CloudFront's hashes", async () => {
    const fn = CloudFrontFunction.fromSource(
      "import crypto from 'crypto';\n" +
        "async function handler() { return { statusCode: 200, body: crypto.createHash('sha256').update('a').digest('hex') }; }",
    );

    const result = await fn.run(attempt());

    expect(result.kind === 'response' && result.response.body).toBe(createHash('sha256').update('a').digest('hex'));
  });

  it('answers 503 FunctionExecutionError when the function uses eval (no dynamic code)', async () => {
    const result = await answering("eval('1 + 1')").run(attempt());

    expect(result).toMatchObject({ kind: 'response', response: { statusCode: 503 } });
    expect(result.kind === 'response' && result.failure?.type).toBe('FunctionExecutionError');
  });

  it('answers 503 FunctionExecutionError, as CloudFront does, when the function throws', async () => {
    const fn = CloudFrontFunction.fromSource("async function handler() { throw new Error('boom'); }");

    const result = await fn.run(attempt());

    expect(result).toEqual({
      kind: 'response',
      response: expect.objectContaining({
        statusCode: 503,
        statusDescription: 'Service Unavailable',
        headers: expect.objectContaining({ 'x-cache': { value: 'Error from cloudfront' } }),
      }),
      failure: { type: 'FunctionExecutionError', message: 'boom' },
    });
  });

  it('answers 503 FunctionExecutionError when the function returns neither a request nor a response', async () => {
    const fn = CloudFrontFunction.fromSource('function handler() { return 42; }');

    const result = await fn.run(attempt());

    expect(result.kind === 'response' && result.failure?.type).toBe('FunctionExecutionError');
  });

  it('answers 503 FunctionExecutionError when the handler waits on a promise nothing will settle', async () => {
    const fn = CloudFrontFunction.fromSource('async function handler() { await new Promise(() => {}); }');

    const result = await fn.run(attempt());

    expect(result.kind === 'response' && result.failure?.type).toBe('FunctionExecutionError');
  });

  it('stops an infinite loop at the timeout: 503 FunctionThrottledError', async () => {
    const fn = CloudFrontFunction.fromSource('function handler() { for (;;) {} }', { timeoutMs: 20 });

    const result = await fn.run(attempt());

    expect(result).toMatchObject({ kind: 'response', response: { statusCode: 503 } });
    expect(result.kind === 'response' && result.failure?.type).toBe('FunctionThrottledError');
  });

  // Not stopped locally: a loop after an await runs in the host's microtask queue (see the sandbox's header;
  // terminating one in the context's own queue aborts Node.js, nodejs/node#38503). Its start still is:
  it('stops an infinite loop before the first await, and runs the next event', async () => {
    const looping = { value: true };
    const fn = CloudFrontFunction.fromSource(
      "import cf from 'cloudfront';\n" +
        'async function handler(event) {\n' +
        '  if (event.request.headers.loop) for (;;) {}\n' +
        "  await cf.kvs().get('k').catch(() => undefined);\n" +
        '  return event.request;\n' +
        '}\n',
      { timeoutMs: 20, kvs: { get: async () => (looping.value ? 'x' : 'y') } },
    );
    const stuck = attempt();
    stuck.request.headers.loop = { value: '1' };

    const result = await fn.run(stuck);
    const next = attempt();

    expect(result.kind === 'response' && result.failure?.type).toBe('FunctionThrottledError');
    expect(await fn.run(next)).toEqual(passedOn(next));
  });

  it("rejects cf.kvs().get for a missing key, as CloudFront's helper does", async () => {
    const fn = CloudFrontFunction.fromSource(
      "import cf from 'cloudfront';\n" +
        'async function handler() {\n' +
        "  try { await cf.kvs().get('absent'); return { statusCode: 200, body: 'found' }; }\n" +
        "  catch (error) { return { statusCode: 200, body: 'missing' }; }\n" +
        '}\n',
      { kvs: { get: () => undefined } },
    );

    const result = await fn.run(attempt());

    expect(result.kind === 'response' && result.response.body).toBe('missing');
  });
});

describe('the viewer-request event', () => {
  it("is CloudFront's shape: lower-case headers, cookies apart, the query string as sent", () => {
    const event = viewerRequestEvent({
      method: 'post',
      url: '/products/a/reservations?x=1&tag=a%20b&x=2&flag',
      headers: { Host: 'shop.example', cookie: 'session=s1; theme=dark; session=s2', 'x-forwarded-for': ['1', '2'] },
      ip: '198.51.100.1',
    });

    expect(event).toEqual({
      version: '1.0',
      context: { distributionId: expect.any(String), eventType: 'viewer-request', requestId: expect.any(String) },
      viewer: { ip: '198.51.100.1' },
      request: {
        method: 'POST',
        uri: '/products/a/reservations',
        querystring: {
          x: { value: '1', multiValue: [{ value: '1' }, { value: '2' }] },
          tag: { value: 'a%20b' },
          flag: { value: '' },
        },
        headers: {
          host: { value: 'shop.example' },
          'x-forwarded-for': { value: '1', multiValue: [{ value: '1' }, { value: '2' }] },
        },
        cookies: {
          session: { value: 's1', multiValue: [{ value: 's1' }, { value: 's2' }] },
          theme: { value: 'dark' },
        },
      },
    });
  });
});

describe('writing an edge response', () => {
  it('writes the status, headers, cookies and body text', () => {
    const written: { headers: Record<string, unknown>; status?: number; message?: string; body?: Buffer } = {
      headers: {},
    };
    const res = {
      setHeader: (name: string, value: unknown) => {
        written.headers[name] = value;
      },
      set statusCode(status: number) {
        written.status = status;
      },
      set statusMessage(message: string) {
        written.message = message;
      },
      end: (body: Buffer) => {
        written.body = body;
      },
    } as unknown as ServerResponse;

    writeEdgeResponse(res, {
      statusCode: 503,
      statusDescription: 'Service Unavailable',
      headers: { 'retry-after': { value: '5' } },
      cookies: { seen: { value: '1', attributes: 'Path=/; Secure' } },
      body: { encoding: 'text', data: '{"error":{}}' },
    });

    expect(written).toEqual({
      headers: { 'retry-after': '5', 'set-cookie': ['seen=1; Path=/; Secure'] },
      status: 503,
      message: 'Service Unavailable',
      body: Buffer.from('{"error":{}}'),
    });
  });
});
