/**
 * The built-in test issuer: an OpenID Connect provider for local mode, so a tester can run the stack with
 * shopper identity on (`dropline serve --identity`) without the shop's real provider. It holds one RSA key
 * (made at start, never written down) and serves, on the loopback interface:
 *
 * - `GET /.well-known/openid-configuration` and `GET /.well-known/jwks.json`, as a provider does;
 * - `POST /token` with `{"subject": "alice"}` → `{access_token, token_type, expires_in}`: a token for
 *   anyone who asks, which is what makes it a test issuer and why it never listens beyond loopback.
 *
 * The tokens are RS256 JWTs with `iss`, `aud`, `sub`, `iat`, `exp` and `jti`, as the origin verifies them.
 */
import { createSign, generateKeyPairSync, type KeyObject, randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { envVars } from '../../contract/env-vars';
import { WELL_KNOWN_JWKS_PATH } from '../../contract/identity';
import { CustomerId } from '../../contract/requests';
import { listenShared } from '../emulators/net';

export const TEST_AUDIENCE = 'dropline-local';

/**
 * The context that synthesizes the app as deployed with an identity provider, for the test issuer to stand
 * in for when the assembly runs (`.invalid` is reserved: nothing is ever fetched from it).
 */
export const TEST_PROVIDER_CONTEXT = {
  identityIssuer: 'https://identity.invalid',
  identityAudience: TEST_AUDIENCE,
} as const;
const DEFAULT_TTL_SECONDS = 3600;
const MAX_BODY_BYTES = 1024;

export interface MintOptions {
  /** Seconds from now (negative: already expired). */
  readonly expiresInSeconds?: number;
  readonly audience?: string;
  readonly issuer?: string;
  /** Sign with another key than the published one (a forgery). */
  readonly signingKey?: KeyObject;
  /** RS256 (default), or ES256 with the issuer's P-256 key. */
  readonly algorithm?: 'RS256' | 'ES256';
  /** Claims to add or replace (`undefined` leaves one out), and header fields to add. */
  readonly claims?: Readonly<Record<string, unknown>>;
  readonly header?: Readonly<Record<string, unknown>>;
}

export interface TestIssuer {
  readonly issuer: string;
  readonly audience: string;
  readonly jwksUri: string;
  /** A signed token for `subject`. */
  mint(subject: string, options?: MintOptions): string;
  /** A new RSA signing key: published beside the old one, and the one new tokens are signed with. */
  rotate(): void;
  /** How many times the key set was fetched. */
  readonly jwksFetches: () => number;
  stop(): Promise<void>;
}

const b64url = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

export async function startTestIssuer(options: { readonly port?: number } = {}): Promise<TestIssuer> {
  const rsaKey = () => {
    const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    return { privateKey, kid: randomUUID(), jwk: { ...publicKey.export({ format: 'jwk' }), alg: 'RS256', use: 'sig' } };
  };
  let rsa = rsaKey();
  const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const ecKid = randomUUID();
  const jwks = {
    keys: [
      { ...rsa.jwk, kid: rsa.kid },
      { ...ec.publicKey.export({ format: 'jwk' }), kid: ecKid, alg: 'ES256', use: 'sig' },
    ],
  };
  let issuer = '';
  let jwksFetches = 0;

  const mint = (subject: string, mintOptions: MintOptions = {}) => {
    const now = Math.floor(Date.now() / 1000);
    const es = mintOptions.algorithm === 'ES256';
    const header = b64url({
      alg: es ? 'ES256' : 'RS256',
      typ: 'JWT',
      kid: es ? ecKid : rsa.kid,
      ...mintOptions.header,
    });
    const claims = b64url({
      iss: mintOptions.issuer ?? issuer,
      aud: mintOptions.audience ?? TEST_AUDIENCE,
      sub: subject,
      iat: now,
      exp: now + (mintOptions.expiresInSeconds ?? DEFAULT_TTL_SECONDS),
      jti: randomUUID(),
      ...mintOptions.claims,
    });
    const signer = createSign('SHA256').update(`${header}.${claims}`);
    const signature = (
      es
        ? signer.sign({ key: ec.privateKey, dsaEncoding: 'ieee-p1363' })
        : signer.sign(mintOptions.signingKey ?? rsa.privateKey)
    ).toString('base64url');
    return `${header}.${claims}.${signature}`;
  };

  const server: Server = createServer(async (request, response) => {
    const send = (status: number, body: unknown) => {
      response.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' });
      response.end(JSON.stringify(body));
    };
    const path = new URL(request.url ?? '/', 'http://issuer').pathname;
    if (request.method === 'GET' && path === WELL_KNOWN_JWKS_PATH) {
      jwksFetches++;
      return send(200, jwks);
    }
    if (request.method === 'GET' && path === '/.well-known/openid-configuration') {
      return send(200, {
        issuer,
        jwks_uri: `${issuer}${WELL_KNOWN_JWKS_PATH}`,
        token_endpoint: `${issuer}/token`,
        id_token_signing_alg_values_supported: ['RS256'],
      });
    }
    if (request.method === 'POST' && path === '/token') {
      const body = await readJson(request);
      const subject = CustomerId.safeParse((body as { subject?: unknown } | undefined)?.subject);
      if (!subject.success) {
        return send(400, {
          error: 'invalid_request',
          error_description: 'subject: a customer id (letters, digits, ._@:+|-)',
        });
      }
      return send(200, { access_token: mint(subject.data), token_type: 'Bearer', expires_in: DEFAULT_TTL_SECONDS });
    }
    send(404, { error: 'not_found' });
  });
  // Every cold function environment fetches the key set: at a drop's start, dozens at once.
  const stop = await listenShared(server, { port: options.port ?? 0, host: '127.0.0.1' });
  issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    issuer,
    audience: TEST_AUDIENCE,
    jwksUri: `${issuer}${WELL_KNOWN_JWKS_PATH}`,
    mint,
    jwksFetches: () => jwksFetches,
    rotate: () => {
      rsa = rsaKey();
      jwks.keys.push({ ...rsa.jwk, kid: rsa.kid });
    },
    stop,
  };
}

/** The variables that point a reservation function at the test issuer, as the stack's context does at a provider. */
export function identityEnvironment(issuer: TestIssuer): Record<string, string> {
  return {
    [envVars.identityIssuer]: issuer.issuer,
    [envVars.identityAudience]: issuer.audience,
    [envVars.identityJwksUri]: issuer.jwksUri,
  };
}

async function readJson(request: IncomingMessage): Promise<unknown> {
  let size = 0;
  const chunks: Buffer[] = [];
  for await (const chunk of request) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY_BYTES) return undefined;
    chunks.push(chunk as Buffer);
  }
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch {
    return undefined;
  }
}
