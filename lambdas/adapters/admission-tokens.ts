/**
 * The waiting room's tickets and admission tokens, as the edge function makes them (`edge/admission.js`):
 * `base64url(JSON claims, with the key id k) "." base64url(HMAC-SHA256 of the first part)`, keyed by the
 * signing keys in the edge's KeyValueStore. The origin checks a token again, and binds it to the customer
 * the body names (a CloudFront Function cannot read a body).
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import {
  type CloudFrontKeyValueStoreClient,
  GetKeyCommand,
  ResourceNotFoundException,
} from '@aws-sdk/client-cloudfront-keyvaluestore';
import { ADMISSION_KEYS_KEY, ADMISSION_SKEW_MS, type AdmissionCode } from '../../contract/drops';
import { AdmissionKeys } from '../../contract/edge-values';
import type { AdmissionVerifier, Clock } from '../domain/ports';

export interface Claims {
  readonly k: string;
  readonly s: string;
  readonly c: string;
  /** A ticket's arrival time (ms). */
  readonly t?: number;
  /** A token's order key and expiry (ms). */
  readonly o?: number;
  readonly e?: number;
}

const b64url = (buffer: Buffer) => buffer.toString('base64url');

export function sign(claims: Omit<Claims, 'k'>, keys: AdmissionKeys): string {
  const body = b64url(Buffer.from(JSON.stringify({ ...claims, k: keys.active })));
  return `${body}.${b64url(mac(keys.keys[keys.active] as string, body))}`;
}

/** The claims of a token or ticket whose signature holds under one of `keys`, else undefined. */
export function verify(value: string, keys: AdmissionKeys): Claims | undefined {
  const [body, signature, extra] = value.split('.');
  if (!body || !signature || extra !== undefined) return undefined;
  let claims: Partial<Claims>;
  try {
    claims = JSON.parse(Buffer.from(body, 'base64url').toString('utf8'));
  } catch {
    return undefined;
  }
  // Own keys only: a key id such as `constructor` names no secret.
  const secret = typeof claims?.k === 'string' && Object.hasOwn(keys.keys, claims.k) ? keys.keys[claims.k] : undefined;
  if (typeof secret !== 'string') return undefined;
  const expected = mac(secret, body);
  const given = Buffer.from(signature, 'base64url');
  return given.length === expected.length && timingSafeEqual(given, expected) ? (claims as Claims) : undefined;
}

const mac = (secret: string, data: string) => createHmac('sha256', secret).update(data).digest();

/** Keys read again at most this often; an unknown key id (a rotation) reads them at once. */
const KEYS_TTL_MS = 30_000;

export class KeyValueStoreAdmissions implements AdmissionVerifier {
  private cached: { readonly keys: AdmissionKeys | undefined; readonly at: number } | undefined;

  constructor(
    private readonly client: CloudFrontKeyValueStoreClient,
    private readonly storeArn: () => string,
    private readonly clock: Clock,
  ) {}

  async check(token: string | undefined, sku: string, customerId: string): Promise<AdmissionCode | undefined> {
    if (!token) return 'ADMISSION_REQUIRED';
    let keys = await this.keys(false);
    if (!keys) return 'ADMISSION_INVALID';
    let claims = verify(token, keys);
    if (!claims) {
      keys = await this.keys(true);
      claims = keys && verify(token, keys);
    }
    if (!claims || typeof claims.e !== 'number') return 'ADMISSION_INVALID';
    if (claims.s !== sku) return 'ADMISSION_WRONG_SKU';
    if (claims.c !== customerId) return 'ADMISSION_WRONG_CUSTOMER';
    if (claims.e + ADMISSION_SKEW_MS < this.clock.now()) return 'ADMISSION_EXPIRED';
    return undefined;
  }

  /**
   * Whether `token` is an admission the room signed for `sku`, judged with the keys this environment has
   * already read: it reads nothing, so it answers on a path that is refusing for load (false before the
   * first read). Customer and expiry are not judged: this says which room the attempt came through.
   */
  signedFor(token: string | undefined, sku: string): boolean {
    const keys = this.cached?.keys;
    if (!token || !keys) return false;
    const claims = verify(token, keys);
    return claims !== undefined && typeof claims.e === 'number' && claims.s === sku;
  }

  private async keys(fresh: boolean): Promise<AdmissionKeys | undefined> {
    const now = this.clock.now();
    // An unknown key id reads again, but not more than once a second: forged tokens cost no reads.
    const age = this.cached ? now - this.cached.at : Number.POSITIVE_INFINITY;
    // Keys not made yet are looked for again after a second, not after the cache's half minute.
    const ttl = fresh || !this.cached?.keys ? 1000 : KEYS_TTL_MS;
    if (this.cached && age < ttl) return this.cached.keys;
    let keys: AdmissionKeys | undefined;
    try {
      const { Value } = await this.client.send(new GetKeyCommand({ KvsARN: this.storeArn(), Key: ADMISSION_KEYS_KEY }));
      const parsed = AdmissionKeys.safeParse(JSON.parse(Value ?? 'null'));
      keys = parsed.success ? parsed.data : undefined;
    } catch (error) {
      if (!(error instanceof ResourceNotFoundException)) throw error;
    }
    this.cached = { keys, at: now };
    return keys;
  }
}
