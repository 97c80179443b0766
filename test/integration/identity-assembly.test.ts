/**
 * Shopper identity as it deploys: the app's own cloud assembly, synthesized with an identity provider in
 * context, run by the local runtime with the built-in test issuer standing in for that provider. The
 * reservation function is the esbuild bundle that deploys, configured from its
 * template's environment; no other function is pointed at the issuer.
 */
import { randomBytes } from 'node:crypto';
import { ApiClient, attemptKey } from '../../local/api-client';
import { ownAssembly } from '../../local/assembly/own-assembly';
import { type RunningAssembly, startAssemblyStack } from '../../local/assembly/run';
import { TEST_PROVIDER_CONTEXT } from '../../local/identity/test-issuer';
import { eventually } from '../support/eventually';
import { expectBalanced } from '../support/ledger';

const endpoints = {
  dynamodb: process.env.DROPLINE_TEST_DYNAMODB_ENDPOINT as string,
  sqs: process.env.DROPLINE_TEST_SQS_ENDPOINT as string,
  sns: process.env.DROPLINE_TEST_SNS_ENDPOINT as string,
};

let dir: string;
let stack: RunningAssembly | undefined;
let api: ApiClient;

beforeAll(async () => {
  dir = (await ownAssembly({ context: TEST_PROVIDER_CONTEXT })).dir;
  stack = await startAssemblyStack({
    assemblyDir: dir,
    adminKey: `test-admin-${randomBytes(6).toString('hex')}`,
    endpoints,
    port: 0,
    identity: true,
    functionLogs: 'discard',
  });
  api = new ApiClient(stack.url, stack.adminKey);
}, 300_000);

afterAll(async () => {
  await api?.close();
  await stack?.stop();
});

test('the deployed reservation function verifies tokens from the provider its template names', async () => {
  const issuer = stack?.identity;
  if (!issuer) throw new Error('the assembly was started without its test issuer');
  const sku = `id-asm-${randomBytes(3).toString('hex')}`;
  expect((await api.putProduct(sku, { name: sku, priceCents: 100, stock: 3, maxPerCustomer: 1 })).status).toBe(201);
  const reserve = (customerId: string, headers: Record<string, string> = {}) =>
    api.call('POST', `/products/${sku}/reservations`, {
      body: { customerId, quantity: 1 },
      headers: { 'idempotency-key': attemptKey(), ...headers },
    });

  const anonymous = await reserve('alice');
  expect([anonymous.status, anonymous.body.error?.code, anonymous.headers['www-authenticate']]).toEqual([
    401,
    'UNAUTHENTICATED',
    'Bearer realm="dropline"',
  ]);
  const bearer = { authorization: `Bearer ${issuer.mint('alice')}` };
  const rotated = await reserve('bot-7', bearer);
  expect([rotated.status, rotated.body.error?.code]).toEqual([403, 'CUSTOMER_MISMATCH']);
  const held = await reserve('alice', bearer);
  expect([held.status, held.body.customerId]).toEqual([201, 'alice']);
  const ledger = await api.ledger(sku);
  expectBalanced(ledger);
  expect(ledger.held).toBe(1);
});

test("with the waiting room on, the edge refuses an admission farmed for another customer than the bearer token's subject", async () => {
  const issuer = stack?.identity;
  if (!issuer) throw new Error('the assembly was started without its test issuer');
  const sku = `id-room-${randomBytes(3).toString('hex')}`;
  expect((await api.putProduct(sku, { name: sku, priceCents: 100, stock: 5, maxPerCustomer: 1 })).status).toBe(201);
  expect((await api.call('POST', `/admin/drops/${sku}/waiting-room-on`, { admin: true })).status).toBe(200);
  const queue = (customerId: string, ticket?: string) =>
    api.call('GET', `/drops/${sku}/queue?customerId=${customerId}`, {
      ...(ticket ? { headers: { 'x-dropline-ticket': ticket } } : {}),
    });
  // A ticket once (asking without it is arriving again, at the back), then the place it holds until admitted.
  const admissionFor = async (customerId: string) => {
    const ticket = await eventually(async () => {
      const place = await queue(customerId);
      expect(place.body.ticket).toEqual(expect.any(String));
      return place.body.ticket as string;
    });
    return eventually(
      async () => {
        const place = await queue(customerId, ticket);
        expect(place.body.admission).toEqual(expect.any(String));
        return place.body.admission as string;
      },
      { timeoutMs: 60_000, intervalMs: 250 },
    );
  };
  const reserve = (customerId: string, admission: string) =>
    api.call('POST', `/products/${sku}/reservations`, {
      body: { customerId, quantity: 1 },
      headers: {
        'idempotency-key': attemptKey(),
        'x-dropline-admission': admission,
        authorization: `Bearer ${issuer.mint('carol')}`,
      },
    });
  // One account, an admission queued under a made-up customer: the edge answers (x-dropline-edge), so
  // neither API Gateway's throttle nor a function is spent on it.
  const farmed = await admissionFor('made-up-1');
  const refused = await reserve('made-up-1', farmed);
  expect([refused.status, refused.body.error?.code, refused.headers['x-dropline-edge']]).toEqual([
    403,
    'ADMISSION_WRONG_CUSTOMER',
    'answered',
  ]);
  // The account's own admission goes through, verified again at the origin.
  const held = await reserve('carol', await admissionFor('carol'));
  expect([held.status, held.body.customerId]).toEqual([201, 'carol']);
  expectBalanced(await api.ledger(sku));
}, 120_000);

test('an assembly that names no identity provider is refused with --identity, rather than run unverified', async () => {
  const plain = (await ownAssembly()).dir;
  await expect(
    startAssemblyStack({ assemblyDir: plain, adminKey: 'x'.repeat(32), endpoints, port: 0, identity: true }),
  ).rejects.toThrow(/names no identity provider/);
}, 300_000);
