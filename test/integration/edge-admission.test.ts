/**
 * Drop controls and the edge: an operator's pause, resume and close, and a sell-out, reach the edge
 * function's KeyValueStore through the table's stream, the outbox relay, the inventory topic and the
 * edge-state writer, and the edge function (the file the edge stack deploys, in the CloudFront Functions
 * sandbox) then answers reservation attempts itself, in the contract's shape, marked `x-dropline-edge`.
 * A retry of an attempt that made a hold (a UUIDv7 key older than the edge's news) still reaches the
 * origin and gets its hold.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { ApiClient, type ApiResponse, attemptKey } from '../../local/api-client';
import { eventually } from '../support/eventually';
import { expectBalanced } from '../support/ledger';
import { startTestStack, type TestStack } from '../support/local-stack';

let stack: TestStack;
let api: ApiClient;

beforeAll(async () => {
  stack = await startTestStack();
  api = new ApiClient(stack.url, stack.adminKey);
});

afterAll(async () => {
  await api.close();
  await stack.stop();
});

const control = (sku: string, action: string) => api.call('POST', `/admin/drops/${sku}/${action}`, { admin: true });
const fromEdge = (response: ApiResponse) => response.headers['x-dropline-edge'] === 'answered';
const codeOf = (response: ApiResponse<unknown>) => (response.body as { error?: { code?: string } }).error?.code;

/** A new attempt, as a fresh page click makes it. */
const attempt = (sku: string, customer: string) => api.reserve(sku, customer, 1, attemptKey());

async function answeredAtEdge(sku: string, status: number, code: string): Promise<ApiResponse> {
  return eventually(async () => {
    const response = await attempt(sku, `edge-probe-${randomBytes(4).toString('hex')}`);
    expect([response.status, codeOf(response), fromEdge(response)]).toEqual([status, code, true]);
    return response;
  });
}

test('pause, resume and close reach the edge, which answers in the contract shape', async () => {
  const sku = 'edge-controls';
  expect((await api.putProduct(sku, { name: 'Controlled', priceCents: 100, stock: 5 })).status).toBe(201);

  const paused = await control(sku, 'pause');
  expect([paused.status, paused.body]).toEqual([200, { sku, state: 'PAUSED', waitingRoom: false }]);
  // The origin refuses at once (this environment's view was told); the edge within seconds.
  const atOrigin = await attempt(sku, 'early');
  expect([atOrigin.status, codeOf(atOrigin)]).toEqual([503, 'DROP_PAUSED']);
  const atEdge = await answeredAtEdge(sku, 503, 'DROP_PAUSED');
  expect(atEdge.headers['retry-after']).toBe('5');
  expect(atEdge.headers['content-type']).toBe('application/json');
  expect(atEdge.body).toEqual({ error: { code: 'DROP_PAUSED', message: 'The drop is paused; try again shortly' } });

  expect((await control(sku, 'pause')).body).toEqual({ sku, state: 'PAUSED', waitingRoom: false });
  expect((await control(sku, 'resume')).body).toEqual({ sku, state: 'OPEN', waitingRoom: false });
  await eventually(async () => expect((await attempt(sku, 'after-resume')).status).toBe(201));

  expect((await control(sku, 'close')).body).toEqual({ sku, state: 'CLOSED', waitingRoom: false });
  const closed = await answeredAtEdge(sku, 409, 'DROP_CLOSED');
  expect(closed.body).toEqual({ error: { code: 'DROP_CLOSED', message: 'The drop is closed' } });
  // Closing is final.
  for (const action of ['resume', 'pause']) {
    const refused = await control(sku, action);
    expect([refused.status, codeOf(refused)]).toEqual([409, 'INVALID_STATE']);
  }
  expect((await control(sku, 'close')).status).toBe(200);
  expectBalanced(await api.ledger(sku));
});

test('a sold-out drop is answered at the edge, and a retry of a hold still reaches the origin', async () => {
  const sku = 'edge-sellout';
  expect((await api.putProduct(sku, { name: 'Scarce', priceCents: 100, stock: 2, maxPerCustomer: 1 })).status).toBe(
    201,
  );
  const keys = [attemptKey(), attemptKey()];
  const holds = await Promise.all(keys.map((key, index) => api.reserve(sku, `buyer-${index}`, 1, key)));
  expect(holds.map((hold) => hold.status)).toEqual([201, 201]);

  // Held, not sold: units may come back, so the edge lets attempts through and the origin refuses them.
  const whileHeld = await attempt(sku, 'hopeful');
  expect([whileHeld.status, codeOf(whileHeld), fromEdge(whileHeld)]).toEqual([409, 'SOLD_OUT', false]);

  for (const hold of holds) {
    const id = (hold.body as { reservationId: string }).reservationId;
    const paid = await api.call('POST', `/reservations/${id}/checkout`, { body: { paymentToken: 'tok_ok' } });
    expect(paid.status).toBe(201);
  }
  const soldOut = await answeredAtEdge(sku, 409, 'SOLD_OUT');
  expect(soldOut.body).toEqual({ error: { code: 'SOLD_OUT', message: 'Sold out' } });

  // The first buyer's page lost its answer and retries with the same key: the origin has its hold.
  const retry = await api.reserve(sku, 'buyer-0', 1, keys[0] as string);
  expect([retry.status, fromEdge(retry)]).toEqual([201, false]);
  const [first] = holds as [ApiResponse];
  expect((retry.body as { reservationId: string }).reservationId).toBe(
    (first.body as { reservationId: string }).reservationId,
  );
  // A key that is not a UUIDv7 says nothing of when it was made: it may be a retry, so the origin answers.
  const plain = await api.reserve(sku, 'buyer-9', 1, 'not-a-uuid');
  expect([plain.status, codeOf(plain), fromEdge(plain)]).toEqual([409, 'SOLD_OUT', false]);
  expect(await api.ledger(sku)).toMatchObject({ supplied: 2, sold: 2, available: 0, held: 0 });
});

test('drop controls refuse bad input and change nothing', async () => {
  const sku = 'edge-hostile';
  await api.putProduct(sku, { name: 'Guarded', priceCents: 100, stock: 1 });
  const unknownAction = await control(sku, 'explode');
  expect([unknownAction.status, codeOf(unknownAction)]).toEqual([400, 'VALIDATION_ERROR']);
  const unknownSku = await control('no-such-sku', 'pause');
  expect([unknownSku.status, codeOf(unknownSku)]).toEqual([404, 'NOT_FOUND']);
  const badSku = await control('bad%20sku', 'pause');
  expect(badSku.status).toBe(400);
  const noKey = await api.call('POST', `/admin/drops/${sku}/pause`);
  expect(noKey.status).toBe(403);
  expect((await attempt(sku, 'still-open')).status).toBe(201);
});

test('`dropline drop` pauses, resumes and closes a drop on a running stack, with the conventions of the other commands', async () => {
  const sku = 'edge-cli';
  await api.putProduct(sku, { name: 'From the shell', priceCents: 100, stock: 1 });
  const bin = join(import.meta.dirname, '../../bin/dropline.js');
  const dropline = (...args: string[]) =>
    new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
      execFile(
        process.execPath,
        [bin, 'drop', ...args],
        { env: { ...process.env, NODE_OPTIONS: '', DROPLINE_ADMIN_KEY: stack.adminKey } },
        (error, stdout, stderr) => resolve({ code: error ? Number(error.code) : 0, stdout, stderr }),
      );
    });
  expect(await dropline('pause', '--sku', sku, '--target', stack.url)).toMatchObject({
    code: 0,
    stdout: `${sku}: PAUSED\n`,
  });
  await answeredAtEdge(sku, 503, 'DROP_PAUSED');
  expect((await dropline('close', '--sku', sku, '--target', stack.url)).stdout).toBe(`${sku}: CLOSED\n`);
  const refused = await dropline('resume', '--sku', sku, '--target', stack.url);
  expect(refused.code).toBe(1);
  expect(refused.stderr).toContain('409 INVALID_STATE');
  expect((await dropline('explode', '--sku', sku)).code).toBe(2);
  expect((await dropline('pause', '--target', stack.url)).stderr).toContain('--sku is required');
  expect(
    (await dropline('pause', '--sku', sku, '--target', stack.url, '--admin-key', 'wrong-key-wrong-key')).code,
  ).toBe(2);
  expect((await dropline('pause', '--sku', sku, '--target', 'http://127.0.0.1:9')).code).toBe(3);
});
