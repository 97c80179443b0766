/**
 * One local execution environment, on a function written for the test: what the environment lends the
 * bundle it runs, apart from the assembly (`assembly-lambda.test.ts` runs the app's own functions).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, test } from '@jest/globals';
import { type FunctionConfig, LocalFunction, SOCKETS_PER_ENVIRONMENT } from '../../local/assembly/lambda-runtime';

// Opens its own agent with the SDK's default of 50 sockets, and makes `requests` requests at once.
const FUNCTION = `import http from 'node:http';
const agent = new http.Agent({ keepAlive: true, maxSockets: 50 });
const get = (url) => new Promise((resolve, reject) => {
  http.get(url, { agent }, (response) => { response.resume(); response.on('end', resolve); }).on('error', reject);
});
export const handler = async (event) => {
  await Promise.all(Array.from({ length: event.requests }, () => get(event.url)));
  return { ok: true };
};
`;

let dir: string;
let server: Server;
let url: string;
const open = { now: 0, most: 0 };

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'dropline-environment-'));
  writeFileSync(join(dir, 'index.mjs'), FUNCTION);
  // An emulator stand-in that answers slowly, so requests overlap and the sockets they need are counted.
  server = createServer((_request, response) => setTimeout(() => response.end('ok'), 30));
  server.on('connection', (socket) => {
    open.most = Math.max(open.most, ++open.now);
    socket.on('close', () => open.now--);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
  rmSync(dir, { recursive: true, force: true });
});

function config(): FunctionConfig {
  return {
    stack: 'Test',
    logicalId: 'Fanout',
    name: 'Test-Fanout',
    arn: 'arn:aws:lambda:eu-west-1:000000000000:function:Test-Fanout',
    entry: join(dir, 'index.mjs'),
    handlerName: 'handler',
    timeoutSeconds: 10,
    memoryMb: 128,
    reservedConcurrency: undefined,
    environment: { AWS_REGION: 'eu-west-1' },
  };
}

test("an environment's HTTP agents keep to its socket budget, however many sockets the code asks for", async () => {
  const fn = new LocalFunction(config(), 'discard');
  try {
    // Three invocations in flight at once, as the gateway hands one environment its function's traffic.
    const results = await Promise.all([1, 2, 3].map(() => fn.invoke({ url, requests: 20 })));

    expect(results).toEqual([{ ok: true }, { ok: true }, { ok: true }]);
    // Without the budget: 50 per agent, so all 60 requests would have had a socket of their own.
    expect(open.most).toBe(SOCKETS_PER_ENVIRONMENT);
  } finally {
    await fn.stop();
  }
});
