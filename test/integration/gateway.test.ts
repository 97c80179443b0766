/**
 * The local gateway hands functions the event API Gateway's REST proxy
 * integration would: checked against Powertools' own schema of that event.
 * The function here is a recorder, not project code.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { APIGatewayProxyEventSchema } from '@aws-lambda-powertools/parser/schemas/api-gateway';
import type { APIGatewayProxyEvent } from 'aws-lambda';
import { apiRoutes, schedules } from '../../contract/routes';
import { eventSourceMappings, streamConsumer } from '../../contract/topology';
import { ApiClient } from '../../local/api-client';
import { type GatewayResponseSpec, type RunningGateway, startGateway } from '../../local/event-sources/api-gateway';

const seen: APIGatewayProxyEvent[] = [];
let gateway: RunningGateway;
let api: ApiClient;

beforeAll(async () => {
  const recorder = async (event: APIGatewayProxyEvent) => {
    seen.push(event);
    return { statusCode: 200, body: '{}' };
  };
  gateway = await startGateway({
    routes: apiRoutes,
    handlers: new Map(apiRoutes.map((route) => [route.handler, recorder])),
    adminKey: 'gateway-test-key',
  });
  api = new ApiClient(gateway.url, 'gateway-test-key');
});

afterAll(async () => {
  await api.close();
  await gateway.stop();
});

test('builds a REST proxy event that passes the API Gateway event schema', async () => {
  await api.call('POST', '/products/sku%2D1/reservations?utm=a&utm=b', {
    body: { customerId: 'c', quantity: 1 },
    headers: { 'Idempotency-Key': 'k-1' },
  });

  const event = seen.at(-1) as APIGatewayProxyEvent;
  expect(() => APIGatewayProxyEventSchema.parse(event)).not.toThrow();
  expect(event).toMatchObject({
    resource: '/products/{sku}/reservations',
    path: '/products/sku%2D1/reservations',
    httpMethod: 'POST',
    pathParameters: { sku: 'sku-1' },
    queryStringParameters: { utm: 'b' },
    multiValueQueryStringParameters: { utm: ['a', 'b'] },
    body: '{"customerId":"c","quantity":1}',
    isBase64Encoded: false,
  });
  expect(event.headers['idempotency-key']).toBe('k-1');
  expect(event.requestContext.identity.sourceIp).toBe('127.0.0.1');
});

test('delivers a binary body base64-encoded', async () => {
  await api.call('PUT', '/admin/products/x', {
    rawBody: Buffer.from([0, 1, 2, 255]),
    headers: { 'content-type': 'application/octet-stream' },
    admin: true,
  });

  const event = seen.at(-1) as APIGatewayProxyEvent;
  expect(event.isBase64Encoded).toBe(true);
  expect(Buffer.from(event.body ?? '', 'base64')).toEqual(Buffer.from([0, 1, 2, 255]));
});

test('every route, schedule and event source names a handler module that exists', () => {
  const handlersDir = join(import.meta.dirname, '../../lambdas/handlers');
  for (const name of [
    ...apiRoutes.map((route) => route.handler),
    ...schedules.map((schedule) => schedule.handler),
    ...eventSourceMappings.map((mapping) => mapping.handler),
    streamConsumer.handler,
  ]) {
    expect(existsSync(join(handlersDir, `${name}.ts`))).toBe(true);
  }
});

test('past its concurrency, or a function past half of it, the gateway answers 429 THROTTLED at once, never queueing; other functions and admin routes keep their room', async () => {
  const slow = async () => {
    await new Promise((resolve) => setTimeout(resolve, 300));
    return { statusCode: 200, body: '{}' };
  };
  const throttled = await startGateway({
    routes: apiRoutes,
    handlers: new Map(apiRoutes.map((route) => [route.handler, slow])),
    adminKey: 'k',
    maxConcurrency: 4,
  });
  const client = new ApiClient(throttled.url, 'k', 16);
  try {
    // A storm on one function, and while it lasts two calls of another: the storm takes no more than
    // half the gateway's four, so the other function's calls still find room.
    const storm = Promise.all(Array.from({ length: 6 }, () => client.call('GET', '/products/x')));
    const other = Promise.all(Array.from({ length: 2 }, () => client.call('GET', '/orders/o-1')));
    // With both in flight the gateway's four are taken: a third function finds no room.
    await new Promise((resolve) => setTimeout(resolve, 100));
    const third = await client.call('GET', '/reservations/r-1');
    const admin = await Promise.all(
      Array.from({ length: 4 }, () => client.call('GET', '/admin/products/x/ledger', { admin: true })),
    );
    const answers = await storm;

    const statuses = answers.map((answer) => answer.status).sort();
    expect(statuses).toEqual([200, 200, 429, 429, 429, 429]);
    const refused = answers.find((answer) => answer.status === 429);
    expect(refused?.body.error.code).toBe('THROTTLED');
    expect(refused?.headers['retry-after']).toBe('1');
    expect((await other).map((answer) => answer.status)).toEqual([200, 200]);
    expect(third.status).toBe(429);
    expect(admin.map((answer) => answer.status)).toEqual([200, 200, 200, 200]);
  } finally {
    await client.close();
    await throttled.stop();
  }
});

test("with an API's rules, the gateway's own refusals are the template's: its concurrency 429 is THROTTLED, with Retry-After", async () => {
  const slow = async () => {
    await new Promise((resolve) => setTimeout(resolve, 300));
    return { statusCode: 200, body: '{}' };
  };
  const throttledTemplate = {
    status: 429,
    headers: { 'content-type': 'application/json', 'retry-after': '1' },
    template: '{"error":{"code":"THROTTLED","message":$context.error.messageString}}',
  };
  const ruled = await startGateway({
    routes: apiRoutes,
    handlers: new Map(apiRoutes.map((route) => [route.handler, slow])),
    adminKey: 'k',
    maxConcurrency: 1,
    rules: {
      responses: new Map<string, GatewayResponseSpec>([
        ['THROTTLED', throttledTemplate],
        ['DEFAULT_4XX', { headers: {}, template: '{"error":{"code":"REQUEST_REFUSED","message":"no"}}' }],
      ]),
      requests: new Map([
        ['POST /products/{sku}/reservations', { headers: ['Idempotency-Key'], query: [], body: undefined }],
      ]),
      throttles: { methods: new Map() },
    },
  });
  const client = new ApiClient(ruled.url, 'k', 16);
  try {
    const answers = await Promise.all(Array.from({ length: 3 }, () => client.call('GET', '/products/x')));
    const refused = answers.filter((answer) => answer.status === 429);
    expect(refused).toHaveLength(2);
    expect(refused[0]?.body).toEqual({ error: { code: 'THROTTLED', message: 'Too Many Requests' } });
    expect(refused[0]?.headers['retry-after']).toBe('1');
    // A required header sent blank is missing, as API Gateway reads it ("included and non-blank").
    const blank = await client.call('POST', '/products/x/reservations', {
      body: { customerId: 'ann', quantity: 1 },
      headers: { 'idempotency-key': ' ' },
    });
    expect([blank.status, blank.body.error.code]).toEqual([400, 'REQUEST_REFUSED']);
  } finally {
    await client.close();
    await ruled.stop();
  }
});

test('a proxy result without a body is an empty answer, as API Gateway takes it, not a failed function', async () => {
  const empty = async () => ({ statusCode: 204 }) as { statusCode: number; body: string };
  const gateway = await startGateway({
    routes: apiRoutes,
    handlers: new Map(apiRoutes.map((route) => [route.handler, empty])),
    adminKey: 'k',
  });
  const client = new ApiClient(gateway.url, 'k');
  try {
    const answer = await client.call('DELETE', '/reservations/r-1');

    expect([answer.status, answer.text]).toEqual([204, '']);
  } finally {
    await client.close();
    await gateway.stop();
  }
});

test("a behaviour's origin group answers a failed read from its secondary origin; a write is never failed over", async () => {
  const failing = async (): Promise<{ statusCode: number; body: string }> => {
    throw new Error('the function failed');
  };
  const paused = {
    status: 503,
    headers: { 'content-type': 'application/json', 'retry-after': '15' },
    body: Buffer.from('{"error":{"code":"PAUSED","message":"paused"}}'),
  };
  const gateway = await startGateway({
    routes: apiRoutes,
    handlers: new Map(apiRoutes.map((route) => [route.handler, failing])),
    adminKey: 'k',
    edge: [
      { pathPattern: '/products/*/reservations' },
      { pathPattern: '/products/*', failover: { statusCodes: new Set([500, 502, 503, 504]), answer: paused } },
    ],
  });
  const client = new ApiClient(gateway.url, 'k');
  try {
    const read = await client.call('GET', '/products/sku-1');
    expect([read.status, read.headers['retry-after'], read.body.error.code]).toEqual([503, '15', 'PAUSED']);
    // A write on the same behaviour gets the API's own answer to its failure, never the secondary's.
    const write = await client.call('POST', '/products/sku-1/feedback', { body: { rating: 5 } });
    expect([write.status, write.body.error?.code]).toEqual([502, 'BAD_GATEWAY']);
  } finally {
    await client.close();
    await gateway.stop();
  }
});

// A crowd opens its connections at once. Past the accept queue the kernel drops a connection's SYN and the
// client's kernel sends it again a second or more later: a wait the edge does not add to a shopper's answer.
test('a burst of connections waits in the accept queue while the gateway is busy, none dropped', () => {
  // The kernel caps any queue at somaxconn (4,096 on Linux since 5.4; 128 on older kernels and on macOS):
  // where that is below Node's default (511), this shows only that none is dropped up to the kernel's cap.
  const connections = Math.min(1500, somaxconn() - 1);
  const port = new URL(gateway.url).port;
  // spawnSync holds this process, and so the gateway's accepting, while the child connects: every connection
  // the kernel completes meanwhile waits in the accept queue, and one past it is dropped (and dropped again
  // when its SYN is resent, as nothing is accepted): the child waits for all, or 5 s.
  const child = spawnSync(
    process.execPath,
    [
      '-e',
      `const net = require('node:net');
       let connected = 0;
       const sockets = [];
       const done = () => { console.log(connected); for (const s of sockets) s.destroy(); process.exit(0); };
       for (let i = 0; i < ${connections}; i++) {
         const socket = net.connect(${port}, '127.0.0.1', () => { if (++connected === ${connections}) done(); });
         socket.on('error', () => {});
         sockets.push(socket);
       }
       setTimeout(done, 5000);`,
    ],
    { encoding: 'utf8', timeout: 30_000 },
  );
  expect({ status: child.status, stderr: child.stderr }).toEqual({ status: 0, stderr: '' });
  expect(Number(child.stdout.trim())).toBe(connections);
});

// Node's event loop accepts one connection per listening socket and turn (libuv/libuv#3696), and a loop that
// also carries a crowd turns a few times a second: a burst of new connections then waits in the kernel with
// its requests sent (20–45 s in one rehearsal). Linux spreads connections over sockets sharing a port;
// elsewhere (macOS gives them all to one socket) the gateway keeps one, and only the acceptance is checked.
test('accepts a burst of connections in a few turns of a busy event loop, not one a turn (on Linux)', async () => {
  // A gateway of its own: the test above leaves connections the shared one has not yet accepted.
  const own = await startGateway({ routes: apiRoutes, handlers: new Map(), adminKey: 'k' });
  const connections = Math.min(1000, somaxconn() - 1);
  let accepted = 0;
  let allAccepted = () => {};
  const done = new Promise<void>((resolve) => {
    allAccepted = resolve;
  });
  own.server.on('connection', () => {
    if (++accepted === connections) allAccepted();
  });
  // Every turn of the loop does 5 ms of other work, as one carrying a crowd does. Turns are counted from
  // when the child starts to connect, not while it starts up.
  let turns = 0;
  let counting = false;
  let busy = true;
  const turn = () => {
    const until = performance.now() + 5;
    while (performance.now() < until);
    if (counting) turns++;
    if (busy) setImmediate(turn);
  };
  setImmediate(turn);
  const port = new URL(own.url).port;
  // The child holds its connections open until it is killed.
  const child = spawn(process.execPath, [
    '-e',
    `const net = require('node:net');
       process.stdout.write('connecting\\n');
       for (let i = 0; i < ${connections}; i++) net.connect(${port}, '127.0.0.1').on('error', () => {});
       setInterval(() => {}, 1000);`,
  ]);
  child.stdout.once('data', () => {
    counting = true;
  });
  let timer: NodeJS.Timeout | undefined;
  try {
    // One a turn takes some 1,000 turns, 5 s and more: the bound only keeps a broken run from hanging.
    await Promise.race([
      done,
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error(`${accepted} of ${connections} accepted after 60 s`)), 60_000);
      }),
    ]);
  } finally {
    busy = false;
    clearTimeout(timer);
    child.kill();
    await own.stop();
  }
  // One a turn would take about as many turns as connections; where sockets cannot share a port's
  // connections the gateway has one, and all that holds is that every connection is accepted.
  expect(turns).toBeLessThan(process.platform === 'linux' ? connections / 4 : connections * 2);
}, 90_000);

/** The kernel's cap on an accept queue: Linux says in /proc; elsewhere 128, the BSD and macOS default. */
function somaxconn(): number {
  const file = '/proc/sys/net/core/somaxconn';
  return existsSync(file) ? Number(readFileSync(file, 'utf8').trim()) : 128;
}
