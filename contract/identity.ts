/**
 * Shopper identity: when the shop names its OpenID Connect provider, a reservation is made for the
 * verified subject of the shopper's JWT (`Authorization: Bearer …`), so the per-customer limit and the
 * waiting room's admission bind to an identity the provider vouches for, not to a `customerId` a bot
 * can rotate. Named once: the stack's context, the functions' environment and the local test issuer.
 */

/** The 401/403 codes of a refused identity. */
export const IDENTITY_CODES = ['UNAUTHENTICATED', 'CUSTOMER_MISMATCH'] as const;
export type IdentityCode = (typeof IDENTITY_CODES)[number];

/** Where a provider publishes its signing keys when `jwksUri` is not given (Cognito, Auth0 and most others). */
export const WELL_KNOWN_JWKS_PATH = '/.well-known/jwks.json';

export interface IdentityConfig {
  /** The `iss` every token must carry. */
  readonly issuer: string;
  /** The `aud` (or Cognito `client_id`) every token must carry. */
  readonly audience: string;
  /** The provider's JSON Web Key Set. */
  readonly jwksUri: string;
}

export class IdentityConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'IdentityConfigError';
  }
}

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '[::1]']);

/** HTTPS, or plain HTTP on the loopback interface (the local test issuer only). */
function secureUrl(value: string, what: string): URL {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new IdentityConfigError(`${what} ${JSON.stringify(value)} is not a URL`);
  }
  const loopback = url.protocol === 'http:' && LOOPBACK.has(url.hostname);
  if (url.protocol !== 'https:' && !loopback) {
    throw new IdentityConfigError(`${what} must be an https:// URL (plain http only on the loopback interface)`);
  }
  return url;
}

/** True when `uri` may be fetched over plain HTTP: the loopback interface. */
export const isLoopbackUrl = (uri: string) => {
  const url = new URL(uri);
  return url.protocol === 'http:' && LOOPBACK.has(url.hostname);
};

/**
 * The configuration from its three values, or undefined when none is given (no identity provider:
 * the body's `customerId` is taken as said). Half a configuration is refused, never guessed at.
 */
export function parseIdentityConfig(values: {
  readonly issuer?: string | undefined;
  readonly audience?: string | undefined;
  readonly jwksUri?: string | undefined;
}): IdentityConfig | undefined {
  const issuer = values.issuer?.trim() || undefined;
  const audience = values.audience?.trim() || undefined;
  const jwksUri = values.jwksUri?.trim() || undefined;
  if (issuer === undefined && audience === undefined && jwksUri === undefined) return undefined;
  if (issuer === undefined) throw new IdentityConfigError('an identity provider needs its issuer');
  if (audience === undefined) throw new IdentityConfigError('an identity provider needs the audience its tokens carry');
  if (audience.length > 256) throw new IdentityConfigError('the audience is longer than 256 characters');
  const issuerUrl = secureUrl(issuer, 'the issuer');
  const keys = jwksUri ?? `${issuerUrl.href.replace(/\/$/, '')}${WELL_KNOWN_JWKS_PATH}`;
  secureUrl(keys, 'the JWKS URI');
  return { issuer, audience, jwksUri: keys };
}
