/**
 * The origin's check of a shopper's token (`OidcIdentity`, aws-jwt-verify) against the built-in test
 * issuer, a real provider on the loopback interface: its keys are fetched over HTTP as a provider's are.
 * Every way a token can be wrong is refused as UNAUTHENTICATED; an unreachable provider is a retryable
 * fault, not the shopper's.
 */
import { generateKeyPairSync } from 'node:crypto';
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

test('a token the issuer signed names its subject', async () => {
  await expect(identity.subjectOf(`Bearer ${issuer.mint('alice')}`)).resolves.toBe('alice');
  await expect(identity.subjectOf(`bearer   ${issuer.mint('bob@example.com')}`)).resolves.toBe('bob@example.com');
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
  ['whose subject is not a customer id', () => issuer.mint('has spaces'), 'subject'],
])('a token %s is refused', async (_case, token, says) => {
  const error = await refusal(`Bearer ${token()}`);
  expect(error).toMatchObject({ code: 'UNAUTHENTICATED', tokenSent: true });
  expect(error.message).toContain(says);
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

function unsigned(subject: string): string {
  const [header, payload] = tamper(issuer.mint(subject), {}).split('.') as [string, string];
  const none = { ...JSON.parse(Buffer.from(header, 'base64url').toString()), alg: 'none' };
  // With a signature part: the bearer syntax is met, so the algorithm itself is what is refused.
  return `${Buffer.from(JSON.stringify(none)).toString('base64url')}.${payload}.AAAA`;
}
