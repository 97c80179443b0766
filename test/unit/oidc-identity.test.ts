/**
 * The origin's check of a shopper's token (`OidcIdentity`, on Node's crypto) against the built-in test
 * issuer, a real provider on the loopback interface: its keys are fetched over HTTP as a provider's are.
 * Every way a token can be wrong is refused as UNAUTHENTICATED; an unreachable provider is a retryable
 * fault, not the shopper's.
 */
import { createHmac, generateKeyPairSync } from 'node:crypto';
import { IdentityConfigError, parseIdentityConfig } from '../../contract/identity';
import { OidcIdentity } from '../../lambdas/adapters/oidc-identity';
import { IdentityError, IdentityUnavailableError } from '../../lambdas/domain/errors';
import { verifiedCustomer } from '../../lambdas/domain/identity';
import { startTestIssuer, type TestIssuer } from '../../local/identity/test-issuer';

let issuer: TestIssuer;
let identity: OidcIdentity;

beforeAll(async () => {
  issuer = await startTestIssuer();
  identity = new OidcIdentity({ issuer: issuer.issuer, audience: issuer.audience, jwksUri: issuer.jwksUri });
});

afterAll(() => issuer.stop());

async function refusal(authorization: string | undefined): Promise<IdentityError> {
  const error = await identity.subjectOf(authorization).then(
    () => undefined,
    (thrown: unknown) => thrown,
  );
  expect(error).toBeInstanceOf(IdentityError);
  return error as IdentityError;
}

test('a token the issuer signed names its subject, RSA or elliptic-curve', async () => {
  await expect(identity.subjectOf(`Bearer ${issuer.mint('alice')}`)).resolves.toBe('alice');
  await expect(identity.subjectOf(`Bearer ${issuer.mint('erin', { algorithm: 'ES256' })}`)).resolves.toBe('erin');
  await expect(identity.subjectOf(`bearer   ${issuer.mint('bob@example.com')}`)).resolves.toBe('bob@example.com');
});

test("a provider's subjects as they come: Auth0's with a pipe, Cognito's access tokens audienced by client_id", async () => {
  await expect(identity.subjectOf(`Bearer ${issuer.mint('google-oauth2|1234567890')}`)).resolves.toBe(
    'google-oauth2|1234567890',
  );
  const access = issuer.mint('ann', {
    claims: { aud: undefined, token_use: 'access', client_id: issuer.audience },
  });
  await expect(identity.subjectOf(`Bearer ${access}`)).resolves.toBe('ann');
  const otherClient = issuer.mint('ann', { claims: { aud: undefined, token_use: 'access', client_id: 'another' } });
  await expect(identity.subjectOf(`Bearer ${otherClient}`)).rejects.toMatchObject({ code: 'UNAUTHENTICATED' });
  // An ID token names its audience in aud: client_id there counts for nothing.
  const idToken = issuer.mint('ann', { claims: { aud: 'another', token_use: 'id', client_id: issuer.audience } });
  await expect(identity.subjectOf(`Bearer ${idToken}`)).rejects.toMatchObject({ code: 'UNAUTHENTICATED' });
});

test('no token, or not a bearer token: UNAUTHENTICATED, saying whether one was sent', async () => {
  expect(await refusal(undefined)).toMatchObject({ code: 'UNAUTHENTICATED', tokenSent: false });
  expect(await refusal('Basic YWxpY2U6c2VjcmV0')).toMatchObject({ code: 'UNAUTHENTICATED', tokenSent: true });
  expect(await refusal('Bearer not-a-jwt')).toMatchObject({ code: 'UNAUTHENTICATED', tokenSent: true });
});

test.each([
  ['expired', () => issuer.mint('alice', { expiresInSeconds: -60 }), 'expired'],
  ['for another audience', () => issuer.mint('alice', { audience: 'another-shop' }), 'audience'],
  ['from another issuer', () => issuer.mint('alice', { issuer: 'https://evil.example' }), 'issuer'],
  [
    'signed by another key under the published key id',
    () => issuer.mint('alice', { signingKey: generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey }),
    'does not verify',
  ],
  ['with its payload edited', () => tamper(issuer.mint('alice'), { sub: 'mallory' }), 'does not verify'],
  ['unsigned (alg none)', () => unsigned('alice'), 'does not verify'],
  ['signed with HMAC over the public key (algorithm confusion)', () => hmacOverPublicKey('alice'), 'does not verify'],
  ['claiming ES256 under the RSA key', () => withHeader(issuer.mint('alice'), { alg: 'ES256' }), 'does not verify'],
  [
    'naming a key the issuer never published',
    () => withHeader(issuer.mint('alice'), { kid: 'made-up' }),
    'does not verify',
  ],
  [
    'pointing at a key of its own (jku)',
    () => withHeader(issuer.mint('alice'), { kid: undefined, jku: 'https://evil.example/k' }),
    'does not verify',
  ],
  ['whose subject is not a customer id', () => issuer.mint('has spaces'), 'subject'],
  [
    'not valid yet (nbf)',
    () => issuer.mint('alice', { claims: { nbf: Math.floor(Date.now() / 1000) + 60 } }),
    'not valid yet',
  ],
  ['without an expiry', () => issuer.mint('alice', { claims: { exp: undefined } }), 'expired'],
  [
    'with a critical extension it does not know',
    () => issuer.mint('alice', { header: { crit: ['exp-ext'] } }),
    'does not verify',
  ],
])('a token %s is refused', async (_case, token, says) => {
  const error = await refusal(`Bearer ${token()}`);
  expect(error).toMatchObject({ code: 'UNAUTHENTICATED', tokenSent: true });
  expect(error.message).toContain(says);
});

test('a rotated key is fetched when a token names it, but an unknown key id fetches at most every 10 s', async () => {
  const rotating = await startTestIssuer();
  let now = Date.now();
  const verifier = new OidcIdentity(
    { issuer: rotating.issuer, audience: rotating.audience, jwksUri: rotating.jwksUri },
    () => now,
  );
  await expect(verifier.subjectOf(`Bearer ${rotating.mint('alice')}`)).resolves.toBe('alice');
  rotating.rotate();
  const signedWithNewKey = rotating.mint('alice');
  // Within 10 s of the last fetch the new key id is not looked for: forged key ids cost the provider nothing.
  await expect(verifier.subjectOf(`Bearer ${signedWithNewKey}`)).rejects.toMatchObject({ code: 'UNAUTHENTICATED' });
  now += 10_000;
  await expect(verifier.subjectOf(`Bearer ${signedWithNewKey}`)).resolves.toBe('alice');
  await rotating.stop();
});

test('a failing provider is asked again after a growing wait, not on every attempt', async () => {
  const failing = await startTestIssuer();
  const token = failing.mint('alice');
  let now = Date.now();
  // The key set's address answers 404: a provider misconfigured or down.
  const verifier = new OidcIdentity(
    { issuer: failing.issuer, audience: failing.audience, jwksUri: `${failing.issuer}/no-such-keys` },
    () => now,
  );
  const attempt = () => verifier.subjectOf(`Bearer ${token}`);
  await expect(attempt()).rejects.toBeInstanceOf(IdentityUnavailableError);
  await expect(attempt()).rejects.toBeInstanceOf(IdentityUnavailableError);
  now += 1_000;
  await expect(attempt()).rejects.toBeInstanceOf(IdentityUnavailableError);
  now += 1_000;
  // The second wait is 2 s: still waiting, no fetch.
  await expect(attempt()).rejects.toBeInstanceOf(IdentityUnavailableError);
  expect(failing.jwksFetches()).toBe(0);
  await failing.stop();
});

test('the key set is fetched once for many attempts, and again once an hour old', async () => {
  const counted = await startTestIssuer();
  let now = Date.now();
  const verifier = new OidcIdentity(
    { issuer: counted.issuer, audience: counted.audience, jwksUri: counted.jwksUri },
    () => now,
  );
  await Promise.all(Array.from({ length: 5 }, () => verifier.subjectOf(`Bearer ${counted.mint('alice')}`)));
  expect(counted.jwksFetches()).toBe(1);
  now += 3_600_000;
  await verifier.subjectOf(`Bearer ${counted.mint('alice')}`);
  expect(counted.jwksFetches()).toBe(2);
  await counted.stop();
});

test('a provider that cannot be reached is a fault to retry, not a refusal of the shopper', async () => {
  const gone = await startTestIssuer();
  const token = gone.mint('alice');
  await gone.stop();
  const unreachable = new OidcIdentity({ issuer: gone.issuer, audience: gone.audience, jwksUri: gone.jwksUri });
  await expect(unreachable.subjectOf(`Bearer ${token}`)).rejects.toBeInstanceOf(IdentityUnavailableError);
});

test('the body must name the signed-in customer; without a provider it is taken as said', async () => {
  await expect(verifiedCustomer(identity, `Bearer ${issuer.mint('alice')}`, 'alice')).resolves.toBe('alice');
  await expect(verifiedCustomer(identity, `Bearer ${issuer.mint('alice')}`, 'bob')).rejects.toMatchObject({
    code: 'CUSTOMER_MISMATCH',
  });
  await expect(verifiedCustomer(undefined, undefined, 'bob')).resolves.toBe('bob');
});

test('a configuration is whole and secure, or refused', () => {
  expect(parseIdentityConfig({})).toBeUndefined();
  expect(parseIdentityConfig({ issuer: 'https://id.example.com/', audience: 'shop' })).toEqual({
    issuer: 'https://id.example.com/',
    audience: 'shop',
    jwksUri: 'https://id.example.com/.well-known/jwks.json',
  });
  expect(() => parseIdentityConfig({ issuer: 'https://id.example.com' })).toThrow(IdentityConfigError);
  expect(() => parseIdentityConfig({ audience: 'shop' })).toThrow(/issuer/);
  expect(() => parseIdentityConfig({ issuer: 'http://id.example.com', audience: 'shop' })).toThrow(/https/);
  expect(() =>
    parseIdentityConfig({ issuer: 'https://id.example.com', audience: 'shop', jwksUri: 'http://10.0.0.1/keys' }),
  ).toThrow(/https/);
  expect(parseIdentityConfig({ issuer: 'http://127.0.0.1:9000', audience: 'shop' })?.jwksUri).toBe(
    'http://127.0.0.1:9000/.well-known/jwks.json',
  );
});

function tamper(token: string, claims: Record<string, unknown>): string {
  const [header, payload, signature] = token.split('.') as [string, string, string];
  const edited = { ...JSON.parse(Buffer.from(payload, 'base64url').toString()), ...claims };
  return `${header}.${Buffer.from(JSON.stringify(edited)).toString('base64url')}.${signature}`;
}

function withHeader(token: string, fields: Record<string, unknown>): string {
  const [header, ...rest] = token.split('.') as [string, string, string];
  const edited = { ...JSON.parse(Buffer.from(header, 'base64url').toString()), ...fields };
  return [Buffer.from(JSON.stringify(edited)).toString('base64url'), ...rest].join('.');
}

/** HS256 keyed by the issuer's published RSA key: verifies only where a library lets the token pick the algorithm. */
async function hmacOverPublicKeyAsync(subject: string): Promise<string> {
  const jwks = (await (await fetch(issuer.jwksUri)).json()) as { keys: Record<string, unknown>[] };
  const [header, payload] = withHeader(issuer.mint(subject), { alg: 'HS256' }).split('.') as [string, string];
  const secret = JSON.stringify(jwks.keys[0]);
  return `${header}.${payload}.${createHmac('sha256', secret).update(`${header}.${payload}`).digest('base64url')}`;
}

let confused = '';
beforeAll(async () => {
  confused = await hmacOverPublicKeyAsync('alice');
});
const hmacOverPublicKey = (_subject: string) => confused;

function unsigned(subject: string): string {
  const [header, payload] = tamper(issuer.mint(subject), {}).split('.') as [string, string];
  const none = { ...JSON.parse(Buffer.from(header, 'base64url').toString()), alg: 'none' };
  // With a signature part: the bearer syntax is met, so the algorithm itself is what is refused.
  return `${Buffer.from(JSON.stringify(none)).toString('base64url')}.${payload}.AAAA`;
}

test("the function's environment names a provider whole, or none", () => {
  expect(OidcIdentity.fromEnv({})).toBeUndefined();
  expect(OidcIdentity.fromEnv({ IDENTITY_ISSUER: 'https://id.example.com', IDENTITY_AUDIENCE: 'shop' })).toBeInstanceOf(
    OidcIdentity,
  );
  expect(() => OidcIdentity.fromEnv({ IDENTITY_ISSUER: 'https://id.example.com' })).toThrow(/go together/);
  expect(() => OidcIdentity.fromEnv({ IDENTITY_ISSUER: 'http://id.example.com', IDENTITY_AUDIENCE: 'shop' })).toThrow(
    /https/,
  );
  expect(() =>
    OidcIdentity.fromEnv({
      IDENTITY_ISSUER: 'https://id.example.com',
      IDENTITY_AUDIENCE: 'shop',
      IDENTITY_JWKS_URI: 'http://127.0.0.1.evil.example/keys',
    }),
  ).toThrow(/https/);
});
