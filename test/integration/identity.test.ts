/**
 * Shopper identity on the local stack: the built-in test issuer stands in for the shop's OpenID Connect
 * provider, and the reservation function verifies each shopper's token against it. A
 * reservation is for the verified subject only, so the per-customer limit binds to an identity, not to a
 * `customerId` a bot rotates, and a waiting-room admission farmed under a made-up customer admits no one.
 * Every refusal changes nothing.
 */
import { ApiClient, type ApiResponse, attemptKey } from '../../local/api-client';
import { eventually } from '../support/eventually';
import { expectBalanced } from '../support/ledger';
import { startTestStack, type TestStack } from '../support/local-stack';

let stack: TestStack;
let api: ApiClient;

beforeAll(async () => {
  stack = await startTestStack({ identity: true });
  api = new ApiClient(stack.url, stack.adminKey);
});

afterAll(async () => {
  await api.close();
  await stack.stop();
});

const codeOf = (response: ApiResponse<unknown>) => (response.body as { error?: { code?: string } }).error?.code;
const tokenFor = (subject: string) => (stack.identity as NonNullable<TestStack['identity']>).mint(subject);

function reserve(sku: string, customerId: string, headers: Record<string, string> = {}) {
  return api.call('POST', `/products/${sku}/reservations`, {
    body: { customerId, quantity: 1 },
    headers: { 'idempotency-key': attemptKey(), ...headers },
  });
}

async function product(sku: string) {
  expect((await api.putProduct(sku, { name: sku, priceCents: 100, stock: 5, maxPerCustomer: 1 })).status).toBe(201);
}

test('without a valid token no reservation is made, and the answer says how to authenticate', async () => {
  const sku = 'id-refused';
  await product(sku);
  const before = await api.ledger(sku);

  const anonymous = await reserve(sku, 'alice');
  expect([anonymous.status, codeOf(anonymous)]).toEqual([401, 'UNAUTHENTICATED']);
  expect(anonymous.headers['www-authenticate']).toBe('Bearer realm="dropline"');

  const expired = await reserve(sku, 'alice', {
    authorization: `Bearer ${(stack.identity as NonNullable<TestStack['identity']>).mint('alice', { expiresInSeconds: -60 })}`,
  });
  expect([expired.status, codeOf(expired)]).toEqual([401, 'UNAUTHENTICATED']);
  expect(expired.headers['www-authenticate']).toBe('Bearer realm="dropline", error="invalid_token"');

  const forged = await reserve(sku, 'alice', { authorization: `Bearer ${tokenFor('alice').slice(0, -4)}AAAA` });
  expect([forged.status, codeOf(forged)]).toEqual([401, 'UNAUTHENTICATED']);

  expect(await api.ledger(sku)).toEqual(before);
});

test('a token holds for its own subject only: a bot rotating customerId gets nothing past the limit', async () => {
  const sku = 'id-limit';
  await product(sku);
  const alice = { authorization: `Bearer ${tokenFor('alice')}` };

  const held = await reserve(sku, 'alice', alice);
  expect([held.status, held.body.customerId]).toEqual([201, 'alice']);
  // The limit (1 per customer) binds to the verified subject: made-up customers under the same token are refused.
  for (const madeUp of ['alice2', 'bot-1', 'bot-2']) {
    const rotated = await reserve(sku, madeUp, alice);
    expect([rotated.status, codeOf(rotated)]).toEqual([403, 'CUSTOMER_MISMATCH']);
  }
  const again = await reserve(sku, 'alice', alice);
  expect([again.status, codeOf(again)]).toEqual([429, 'LIMIT_EXCEEDED']);

  const ledger = await api.ledger(sku);
  expectBalanced(ledger);
  expect(ledger.held).toBe(1);
});

test('a waiting-room admission farmed under a made-up customer admits no verified shopper', async () => {
  const sku = 'id-room';
  await product(sku);
  const on = await api.call('POST', `/admin/drops/${sku}/waiting-room-on`, { admin: true });
  expect(on.status).toBe(200);
  const queue = (customerId: string, ticket?: string) =>
    api.call('GET', `/drops/${sku}/queue?customerId=${customerId}`, {
      ...(ticket ? { headers: { 'x-dropline-ticket': ticket } } : {}),
    });
  // The edge cannot verify a JWT (CloudFront Functions have no RSA): it issues tickets to the customer
  // named, and the origin binds the admission to the verified subject.
  const ticket = await eventually(async () => {
    const place = await queue('farmed-1');
    expect(place.body.ticket).toEqual(expect.any(String));
    return place.body.ticket as string;
  });
  const admission = await eventually(
    async () => {
      const place = await queue('farmed-1', ticket);
      expect(place.body.admitted).toBe(true);
      return place.body.admission as string;
    },
    { timeoutMs: 30_000 },
  );
  // Signed in as alice: the edge reads the token's subject (unverified) and refuses the farmed admission
  // itself, whichever customer the body names.
  const alice = { authorization: `Bearer ${tokenFor('alice')}`, 'x-dropline-admission': admission };
  for (const body of ['alice', 'farmed-1']) {
    const refused = await reserve(sku, body, alice);
    expect([refused.status, codeOf(refused), refused.headers['x-dropline-edge']]).toEqual([
      403,
      'ADMISSION_WRONG_CUSTOMER',
      'answered',
    ]);
  }
  // A token rewritten to name the farmed customer passes the edge, which verifies nothing; the origin does.
  const [header, payload, signature] = tokenFor('alice').split('.') as [string, string, string];
  const claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8'));
  const rewritten = Buffer.from(JSON.stringify({ ...claims, sub: 'farmed-1' })).toString('base64url');
  const forged = await reserve(sku, 'farmed-1', {
    authorization: `Bearer ${header}.${rewritten}.${signature}`,
    'x-dropline-admission': admission,
  });
  expect([forged.status, codeOf(forged), forged.headers['x-dropline-edge']]).toEqual([
    401,
    'UNAUTHENTICATED',
    undefined,
  ]);
  expect((await api.ledger(sku)).held).toBe(0);
});

test('the test issuer serves its keys and mints tokens over HTTP, as a provider does', async () => {
  const issuer = stack.identity as NonNullable<TestStack['identity']>;
  const jwks = (await (await fetch(issuer.jwksUri)).json()) as { keys: { kty: string; alg: string }[] };
  expect(jwks.keys).toEqual([
    expect.objectContaining({ kty: 'RSA', alg: 'RS256' }),
    expect.objectContaining({ kty: 'EC', alg: 'ES256' }),
  ]);
  expect(JSON.stringify(jwks)).not.toMatch(/"d":/);
  const minted = await fetch(`${issuer.issuer}/token`, { method: 'POST', body: JSON.stringify({ subject: 'carol' }) });
  const { access_token: token } = (await minted.json()) as { access_token: string };
  const sku = 'id-minted';
  await product(sku);
  expect((await reserve(sku, 'carol', { authorization: `Bearer ${token}` })).status).toBe(201);
  const refused = await fetch(`${issuer.issuer}/token`, { method: 'POST', body: '{"subject":"no spaces allowed"}' });
  expect(refused.status).toBe(400);
});
