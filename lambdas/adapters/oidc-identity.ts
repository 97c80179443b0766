/**
 * The shop's OpenID Connect provider, verified at the origin with `aws-jwt-verify`: the token's
 * signature against the provider's JWKS (fetched once, cached for the environment's life, fetched
 * again for an unknown key id at most every 10 s: the library's penalty box), its `iss`, `aud`, `exp`
 * and `nbf`. Only asymmetric algorithms are accepted (the library's RS/PS/ES family): a token signed
 * with `none` or an HMAC over the public key never verifies.
 */
import { JwtVerifier } from 'aws-jwt-verify';
import {
  FetchError,
  JwksValidationError,
  JwkValidationError,
  JwtBaseError,
  JwtExpiredError,
  JwtInvalidAudienceError,
  JwtInvalidIssuerError,
  JwtNotBeforeError,
} from 'aws-jwt-verify/error';
import { type Fetcher, SimpleFetcher } from 'aws-jwt-verify/https';
import { SimpleJwksCache } from 'aws-jwt-verify/jwk';
import { type IdentityConfig, isLoopbackUrl } from '../../contract/identity';
import { CustomerId } from '../../contract/requests';
import { IdentityError, IdentityUnavailableError } from '../domain/errors';
import type { IdentityVerifier } from '../domain/ports';

/** A JWKS request waits this long: a reservation must not hang on a slow provider. */
const FETCH_TIMEOUT_MS = 1500;
/** Clock skew tolerated on `exp` and `nbf`. */
const GRACE_SECONDS = 2;
const BEARER = /^Bearer +([A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+)$/i;

/**
 * The library fetches over HTTPS only; the local test issuer serves its keys over plain HTTP on the
 * loopback interface (`parseIdentityConfig` allows no other plain-HTTP address).
 */
const loopbackFetcher: Fetcher = {
  async fetch(uri) {
    let response: Response;
    try {
      response = await fetch(uri, { signal: AbortSignal.timeout(FETCH_TIMEOUT_MS) });
    } catch (error) {
      throw new FetchError(uri, (error as Error).message);
    }
    if (response.status !== 200) throw new FetchError(uri, `Status code is ${response.status}, expected 200`);
    return response.arrayBuffer();
  },
};

export class OidcIdentity implements IdentityVerifier {
  private readonly verifier;

  constructor(config: IdentityConfig) {
    const fetcher = isLoopbackUrl(config.jwksUri)
      ? loopbackFetcher
      : new SimpleFetcher({ defaultRequestOptions: { responseTimeout: FETCH_TIMEOUT_MS } });
    this.verifier = JwtVerifier.create(
      { issuer: config.issuer, audience: config.audience, jwksUri: config.jwksUri, graceSeconds: GRACE_SECONDS },
      { jwksCache: new SimpleJwksCache({ fetcher }) },
    );
  }

  async subjectOf(authorization: string | undefined): Promise<string> {
    const token = authorization === undefined ? undefined : BEARER.exec(authorization.trim())?.[1];
    if (token === undefined) {
      throw new IdentityError(
        'UNAUTHENTICATED',
        authorization === undefined
          ? "Sign in first: send Authorization: Bearer <the token from the shop's identity provider>"
          : 'The Authorization header is not a bearer token',
        authorization !== undefined,
      );
    }
    let payload: { sub?: unknown };
    try {
      payload = await this.verifier.verify(token);
    } catch (error) {
      // The provider's keys could not be had: the token may be good, so the shopper retries.
      if (error instanceof FetchError || error instanceof JwksValidationError || error instanceof JwkValidationError) {
        throw new IdentityUnavailableError(error);
      }
      if (error instanceof JwtBaseError) throw new IdentityError('UNAUTHENTICATED', refusal(error), true);
      throw error;
    }
    const subject = CustomerId.safeParse(payload.sub);
    if (!subject.success) {
      throw new IdentityError('UNAUTHENTICATED', 'The token names no subject usable as a customer id', true);
    }
    return subject.data;
  }
}

/** What the shopper may be told: which check failed, never the library's text (it repeats claims). */
function refusal(error: JwtBaseError): string {
  if (error instanceof JwtExpiredError) return 'The token has expired: sign in again';
  if (error instanceof JwtNotBeforeError) return 'The token is not valid yet';
  if (error instanceof JwtInvalidIssuerError) return 'The token is from another issuer';
  if (error instanceof JwtInvalidAudienceError) return 'The token is for another audience';
  return 'The token does not verify';
}
