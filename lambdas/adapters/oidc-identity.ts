/**
 * The shop's OpenID Connect provider, verified at the origin on Node's own crypto: a provider's JSON Web
 * Keys import as they are (`createPublicKey({ format: 'jwk' })`), so verifying a token is a signature
 * check and a few claim checks. (aws-jwt-verify does the same in ~17 KB minified, which put the
 * reservation bundle — the hot path — past its 250 KiB goal.) The checks follow the JWT Best Current
 * Practices, RFC 8725 §3 (https://www.rfc-editor.org/rfc/rfc8725):
 *
 * - only asymmetric algorithms, named in an allow-list, and the key's type must be the algorithm's: a
 *   token signed with `none`, or with HMAC over the public key, never verifies (§3.1, §3.2);
 * - the key comes from the configured JWKS URI only, by `kid`; a token's own `jwk`, `jku` or `x5u` header
 *   is never followed (§3.10); RSA keys shorter than 2048 bits are refused (§3.5);
 * - `iss` must be the configured issuer and `aud` must name the configured audience (§3.8, §3.9), `exp`
 *   must be in the future and `nbf` (when given) in the past, with 2 s of clock skew.
 *
 * The key set is fetched once per environment, again for an unknown `kid` (a rotation) at most every
 * 10 s, and again once it is an hour old, so forged key ids cost the provider nothing; after a failed fetch
 * the next waits 1 s, then longer, up to 10 s. Cognito access tokens carry the app client in `client_id`
 * (`token_use: access`, no `aud`): that is their audience.
 */
import { createPublicKey, type JsonWebKey, type KeyObject, verify } from 'node:crypto';
import { envVars } from '../../contract/env-vars';
import { type IdentityConfig, WELL_KNOWN_JWKS_PATH } from '../../contract/identity';
import { CustomerId } from '../../contract/requests';
import { IdentityError, IdentityUnavailableError } from '../domain/errors';
import type { IdentityVerifier } from '../domain/ports';

/** A key-set request waits this long: a reservation must not hang on a slow provider. */
const FETCH_TIMEOUT_MS = 1500;
/** An unknown key id fetches the key set again, but not more often than this. */
const REFETCH_AFTER_MS = 10_000;
/** A key set older than this is fetched again: a key the provider withdrew stops verifying within the hour. */
const MAX_KEY_SET_AGE_MS = 3_600_000;
/** After a failed fetch, the next waits 1 s, then 2, 4, 8, at most 10: a failing provider is not hammered. */
const BACKOFF_MS = [1_000, 2_000, 4_000, 8_000, 10_000];
const SKEW_SECONDS = 2;
const MAX_JWKS_BYTES = 64 * 1024;
const MIN_RSA_BITS = 2048;
const BEARER = /^Bearer +([A-Za-z0-9_-]+)\.([A-Za-z0-9_-]+)\.([A-Za-z0-9_-]+)$/i;

/** The signature algorithms accepted: the digest, the key type, and the signature's encoding. */
const ALGORITHMS: Readonly<Record<string, { digest: string; kty: string; padding?: number; curve?: string }>> = {
  RS256: { digest: 'sha256', kty: 'RSA' },
  RS384: { digest: 'sha384', kty: 'RSA' },
  RS512: { digest: 'sha512', kty: 'RSA' },
  // RSASSA-PSS, salt length = digest length (RFC 7518 §3.5); 6 = RSA_PKCS1_PSS_PADDING.
  PS256: { digest: 'sha256', kty: 'RSA', padding: 6 },
  // Each on its own curve (RFC 7518 §3.4).
  ES256: { digest: 'sha256', kty: 'EC', curve: 'prime256v1' },
  ES384: { digest: 'sha384', kty: 'EC', curve: 'secp384r1' },
  ES512: { digest: 'sha512', kty: 'EC', curve: 'secp521r1' },
};

interface Claims {
  readonly iss?: unknown;
  readonly aud?: unknown;
  /** Cognito's access tokens name the app client here, and carry no `aud`. */
  readonly client_id?: unknown;
  readonly token_use?: unknown;
  readonly sub?: unknown;
  readonly exp?: unknown;
  readonly nbf?: unknown;
}

export class OidcIdentity implements IdentityVerifier {
  private keys = new Map<string, { readonly key: KeyObject; readonly alg?: string }>();
  private fetchedAt = Number.NEGATIVE_INFINITY;
  private fetching: Promise<void> | undefined;
  private failures = 0;
  private retryAt = Number.NEGATIVE_INFINITY;

  constructor(
    private readonly config: IdentityConfig,
    private readonly now: () => number = Date.now,
  ) {
    // Plain HTTP only for the local test issuer, on loopback (`parseIdentityConfig` allows no other).
    if (!/^(https:\/\/|http:\/\/(127\.0\.0\.1|localhost|\[::1\])[:/])/.test(config.jwksUri)) {
      throw new Error(`${envVars.identityJwksUri} must be an https URL`);
    }
  }

  /** The provider the function's environment names (as `parseIdentityConfig` checked it at synth), or none. */
  static fromEnv(env: NodeJS.ProcessEnv): OidcIdentity | undefined {
    const issuer = env[envVars.identityIssuer];
    const audience = env[envVars.identityAudience];
    if (!issuer && !audience) return undefined;
    if (!issuer || !audience) {
      throw new Error(`${envVars.identityIssuer} and ${envVars.identityAudience} go together: one is missing`);
    }
    const jwksUri = env[envVars.identityJwksUri] || `${issuer.replace(/\/$/, '')}${WELL_KNOWN_JWKS_PATH}`;
    return new OidcIdentity({ issuer, audience, jwksUri });
  }

  async subjectOf(authorization: string | undefined): Promise<string> {
    const parts = authorization === undefined ? undefined : BEARER.exec(authorization.trim());
    if (!parts) {
      throw new IdentityError(
        'UNAUTHENTICATED',
        authorization === undefined
          ? "Sign in first: send Authorization: Bearer <the token from the shop's identity provider>"
          : 'The Authorization header is not a bearer token',
        authorization !== undefined,
      );
    }
    const [, encodedHeader, encodedClaims, encodedSignature] = parts as unknown as [string, string, string, string];
    const header = decode(encodedHeader) as { alg?: unknown; kid?: unknown; crit?: unknown } | undefined;
    const claims = decode(encodedClaims) as Claims | undefined;
    const algorithm = typeof header?.alg === 'string' && Object.hasOwn(ALGORITHMS, header.alg) ? header.alg : undefined;
    // A critical extension this verifier does not know must be refused (RFC 7515 §4.1.11): it knows none.
    if (!header || !claims || algorithm === undefined || typeof header.kid !== 'string' || header.crit !== undefined) {
      throw refused('does not verify');
    }
    const key = await this.key(header.kid);
    const spec = ALGORITHMS[algorithm] as (typeof ALGORITHMS)[string];
    const fits =
      key !== undefined &&
      key.key.asymmetricKeyType === spec.kty.toLowerCase() &&
      (key.alg === undefined || key.alg === algorithm) &&
      (spec.curve === undefined || key.key.asymmetricKeyDetails?.namedCurve === spec.curve);
    if (!fits) throw refused('does not verify');
    const signed = verify(
      spec.digest,
      Buffer.from(`${encodedHeader}.${encodedClaims}`),
      {
        key: key.key,
        ...(spec.curve ? { dsaEncoding: 'ieee-p1363' as const } : {}),
        ...(spec.padding ? { padding: spec.padding, saltLength: -1 } : {}),
      },
      Buffer.from(encodedSignature, 'base64url'),
    );
    if (!signed) throw refused('does not verify');
    return this.subjectIn(claims);
  }

  private subjectIn(claims: Claims): string {
    const now = this.now() / 1000;
    if (claims.iss !== this.config.issuer) throw refused('is from another issuer');
    const audiences =
      claims.aud === undefined && claims.token_use === 'access'
        ? [claims.client_id]
        : Array.isArray(claims.aud)
          ? claims.aud
          : [claims.aud];
    if (!audiences.includes(this.config.audience)) throw refused('is for another audience');
    if (typeof claims.exp !== 'number' || claims.exp + SKEW_SECONDS <= now) throw refused('has expired: sign in again');
    if (claims.nbf !== undefined && (typeof claims.nbf !== 'number' || claims.nbf - SKEW_SECONDS > now)) {
      throw refused('is not valid yet');
    }
    const subject = CustomerId.safeParse(claims.sub);
    if (!subject.success) throw refused('names no subject usable as a customer id');
    return subject.data;
  }

  /** The provider's key `kid`, fetching the key set when it is not known (yet, or after a rotation) or is old. */
  private async key(kid: string) {
    const now = this.now();
    const stale = now - this.fetchedAt >= MAX_KEY_SET_AGE_MS;
    const known = this.keys.get(kid);
    if (known && !stale) return known;
    if (now < this.retryAt) {
      // Backing off after a failed fetch: with keys in hand an unknown id is refused; with none, retry later.
      if (this.keys.size === 0) throw new IdentityUnavailableError(new Error('the key set is being fetched again'));
      return known;
    }
    if (stale || now - this.fetchedAt >= REFETCH_AFTER_MS) {
      this.fetching ??= this.fetchKeys().finally(() => {
        this.fetching = undefined;
      });
      try {
        await this.fetching;
      } catch (error) {
        // A stale set still verifies what it holds while the provider cannot be reached.
        if (known) return known;
        throw error;
      }
    }
    return this.keys.get(kid);
  }

  private async fetchKeys(): Promise<void> {
    let body: unknown;
    try {
      const response = await fetch(this.config.jwksUri, {
        signal: AbortSignal.timeout(FETCH_TIMEOUT_MS),
        redirect: 'error',
      });
      if (response.status !== 200) throw new Error(`the key set answered ${response.status}`);
      if (Number(response.headers.get('content-length') ?? 0) > MAX_JWKS_BYTES)
        throw new Error('the key set is too large');
      const bytes = Buffer.from(await response.arrayBuffer());
      if (bytes.length > MAX_JWKS_BYTES) throw new Error('the key set is too large');
      body = JSON.parse(bytes.toString('utf8'));
    } catch (error) {
      // Keys not had: the token may be fine, so the shopper retries; the next fetch waits a growing while.
      this.retryAt = this.now() + (BACKOFF_MS[Math.min(this.failures, BACKOFF_MS.length - 1)] as number);
      this.failures++;
      throw new IdentityUnavailableError(error);
    }
    const keys = new Map<string, { readonly key: KeyObject; readonly alg?: string }>();
    for (const jwk of Array.isArray((body as { keys?: unknown })?.keys) ? (body as { keys: unknown[] }).keys : []) {
      const imported = importKey(jwk);
      if (imported) keys.set(imported.kid, imported);
    }
    if (keys.size === 0) {
      this.retryAt = this.now() + (BACKOFF_MS[Math.min(this.failures, BACKOFF_MS.length - 1)] as number);
      this.failures++;
      throw new IdentityUnavailableError(new Error('the key set holds no usable signing key'));
    }
    this.keys = keys;
    this.fetchedAt = this.now();
    this.failures = 0;
  }
}

/** A signing key of the set: public, with a `kid`, of an accepted type and size; others are skipped. */
function importKey(jwk: unknown): { kid: string; key: KeyObject; alg?: string } | undefined {
  const fields = jwk as { kid?: unknown; kty?: unknown; use?: unknown; alg?: unknown; d?: unknown };
  if (typeof fields?.kid !== 'string' || (fields.kty !== 'RSA' && fields.kty !== 'EC')) return undefined;
  if (fields.use !== undefined && fields.use !== 'sig') return undefined;
  if (fields.alg !== undefined && (typeof fields.alg !== 'string' || !Object.hasOwn(ALGORITHMS, fields.alg))) {
    return undefined;
  }
  try {
    // Only the public members: a key set that carried a private key must not make this a signing key.
    const { d: _private, ...rest } = fields as Record<string, unknown>;
    const key = createPublicKey({ key: rest as JsonWebKey, format: 'jwk' });
    const bits = key.asymmetricKeyDetails?.modulusLength;
    if (key.asymmetricKeyType === 'rsa' && (bits === undefined || bits < MIN_RSA_BITS)) return undefined;
    return { kid: fields.kid, key, ...(typeof fields.alg === 'string' ? { alg: fields.alg } : {}) };
  } catch {
    return undefined;
  }
}

function decode(part: string): unknown {
  try {
    const value: unknown = JSON.parse(Buffer.from(part, 'base64url').toString('utf8'));
    return value !== null && typeof value === 'object' && !Array.isArray(value) ? value : undefined;
  } catch {
    return undefined;
  }
}

const refused = (what: string) => new IdentityError('UNAUTHENTICATED', `The token ${what}`, true);
