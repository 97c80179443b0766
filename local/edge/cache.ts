/**
 * A CloudFront cache behaviour's cache, as the local gateway keeps it in front of the API: what CloudFront
 * would answer from its edge without asking the origin. What it models, and where CloudFront says so:
 *
 * - Methods: responses to GET and HEAD are cached (a behaviour's CachedMethods), one entry for both; a HEAD
 *   is answered from a GET's entry and never stored. Other methods pass through. ("Caching content based on
 *   request headers" and "How CloudFront processes HTTP status codes", CloudFront Developer Guide:
 *   https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/HTTPStatusCodes.html)
 * - Key: the path, plus the headers, query strings and cookies the cache policy names
 *   (https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/understanding-the-cache-key.html).
 *   What reaches the origin is not trimmed to them: the local origin gets the viewer's request (less its
 *   conditional headers: the cache answers those, as CloudFront does).
 * - How long ("Manage how long content stays in the cache (expiration)",
 *   https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/Expiration.html): with a minimum TTL
 *   of 0, `no-store`, `no-cache` and `private` are respected, `s-maxage` then `max-age` then `Expires` are
 *   capped at the maximum TTL, and a response with none of them stays the default TTL. With a minimum TTL
 *   above 0 those three directives give the minimum, no directive the greater of minimum and default, and a
 *   given age is kept within minimum and maximum (the guide's table leaves that cell to its website; this is
 *   how it reads there). `stale-while-revalidate` serves the expired entry for that long while one request
 *   refreshes it (AWS What's New, 2023-05-17: "stale-while-revalidate and stale-if-error").
 * - Status: 2xx and 3xx answers are cached (307 and 308 only with a Cache-Control, 206 and 304 never).
 *   Errors as "HTTP 4xx and 5xx status codes that CloudFront caches" lists them: 404, 414, 500, 501, 502,
 *   503 and 504 always, for the distribution's error caching minimum TTL (10 s unless its custom error
 *   responses say otherwise), or the origin's age when that is longer (the age never past the maximum
 *   TTL), except a 404, 414 or 501 marked `no-store`, `no-cache` or `private`; 400, 403, 405, 412 and 415
 *   only when the origin gives an age
 *   (https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/custom-error-pages-expiration.html).
 *   Every other status (401, 409, 429, …) is not cached.
 * - Request collapsing: requests with one key that arrive while the origin is asked wait for that answer
 *   ("Simultaneous requests for the same object (traffic spikes)",
 *   https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/RequestAndResponseBehaviorCustomOrigin.html).
 * - Conditional requests: the origin is always asked for the whole answer; a viewer's `If-None-Match`
 *   naming its ETag gets a 304 from the cache, hit or miss. Collapsed requests and answers served stale
 *   read `Hit`, as CloudFront's logs call a collapsed request.
 *
 * Not modelled: edge locations (one cache here, where every edge location keeps its own), eviction
 * before expiry (expired entries are dropped once there are many), `stale-if-error`, `Vary`,
 * compression, origin request policies.
 */

export interface CachePolicy {
  readonly name: string;
  /** Seconds. */
  readonly minTtl: number;
  readonly defaultTtl: number;
  readonly maxTtl: number;
  /** Lower-case names of the headers in the key. */
  readonly headers: readonly string[];
  readonly queryStrings: 'none' | 'all' | readonly string[];
  readonly cookies: 'none' | 'all' | readonly string[];
}

export interface CachedAnswer {
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: Buffer;
}

/** What the cache answered and how: CloudFront's `X-Cache` reads `Hit from cloudfront`, `Miss from …`. */
export interface CacheResult {
  readonly answer: CachedAnswer;
  readonly cache: 'Hit' | 'Miss';
  /** Seconds the answer has been in the cache (the `Age` header on a hit). */
  readonly ageSeconds: number;
}

/** CloudFront's error caching minimum TTL when the distribution sets none for a code. */
export const DEFAULT_ERROR_CACHING_MIN_TTL = 10;
const ERRORS_ALWAYS_CACHED = new Set([404, 414, 500, 501, 502, 503, 504]);
const ERRORS_CACHED_WITH_AN_AGE = new Set([400, 403, 405, 412, 415]);
const ERRORS_THAT_MAY_REFUSE = new Set([404, 414, 501]);

/** Entries kept before the expired ones are swept out. */
const SWEEP_AT = 10_000;

interface Entry {
  readonly answer: CachedAnswer;
  readonly storedAt: number;
  readonly freshMs: number;
  readonly staleMs: number;
}

export class EdgeCache {
  private readonly entries = new Map<string, Entry>();
  private readonly asking = new Map<string, Promise<CachedAnswer>>();

  constructor(
    readonly policy: CachePolicy,
    /** The distribution's error caching minimum TTL by status code (its custom error responses). */
    private readonly errorCachingMinTtl: ReadonlyMap<number, number> = new Map(),
    private readonly now: () => number = Date.now,
  ) {}

  /**
   * The answer to a GET or HEAD with this path and query (`url`) and these headers: from the cache, or from
   * `origin` (asked once for every request with the key that comes while it answers).
   */
  async answer(
    method: 'GET' | 'HEAD',
    url: string,
    headers: Readonly<Record<string, string | string[] | undefined>>,
    origin: () => Promise<CachedAnswer>,
  ): Promise<CacheResult> {
    const key = this.keyOf(url, headers);
    const entry = this.entries.get(key);
    const now = this.now();
    if (entry) {
      const age = now - entry.storedAt;
      if (age < entry.freshMs) return this.conditional({ answer: entry.answer, cache: 'Hit', ageMs: age }, headers);
      if (age < entry.freshMs + entry.staleMs) {
        // Served stale at once; one request refreshes it in the background.
        if (method === 'GET' && !this.asking.has(`GET ${key}`))
          void this.ask(key, 'GET', origin).catch(() => undefined);
        return this.conditional({ answer: entry.answer, cache: 'Hit', ageMs: age }, headers);
      }
      this.entries.delete(key);
    }
    // Collapsed: the answer to the request already at the origin (a HEAD waits for a HEAD, a GET for a GET).
    const pending = this.asking.get(`${method} ${key}`);
    if (pending) return this.conditional({ answer: await pending, cache: 'Hit', ageMs: 0 }, headers);
    return this.conditional({ answer: await this.ask(key, method, origin), cache: 'Miss', ageMs: 0 }, headers);
  }

  /** How long CloudFront keeps this answer, in seconds, and how long after that it may serve it stale. */
  lifetime(status: number, headers: Readonly<Record<string, string>>): { fresh: number; stale: number } {
    const directives = cacheControl(headers);
    const given = givenAge(directives, headers, this.now());
    const refuses = directives.has('no-store') || directives.has('no-cache') || directives.has('private');
    const { minTtl, defaultTtl, maxTtl } = this.policy;
    if (status >= 400) {
      const floor = this.errorCachingMinTtl.get(status) ?? DEFAULT_ERROR_CACHING_MIN_TTL;
      // The greater of the origin's age (never past the maximum TTL) and the error caching minimum TTL.
      const withAge = given === undefined ? floor : Math.max(Math.min(given, maxTtl), floor);
      if (ERRORS_ALWAYS_CACHED.has(status)) {
        return { fresh: refuses && ERRORS_THAT_MAY_REFUSE.has(status) ? 0 : withAge, stale: 0 };
      }
      if (ERRORS_CACHED_WITH_AN_AGE.has(status) && given !== undefined) return { fresh: withAge, stale: 0 };
      return { fresh: 0, stale: 0 };
    }
    if (status < 200 || status === 206 || status === 304) return { fresh: 0, stale: 0 };
    if ((status === 307 || status === 308) && headers['cache-control'] === undefined) return { fresh: 0, stale: 0 };
    const stale = seconds(directives.get('stale-while-revalidate')) ?? 0;
    if (minTtl === 0) {
      if (refuses) return { fresh: 0, stale: 0 };
      return { fresh: given === undefined ? defaultTtl : Math.min(given, maxTtl), stale };
    }
    if (refuses) return { fresh: minTtl, stale: 0 };
    if (given === undefined) return { fresh: Math.max(minTtl, defaultTtl), stale };
    return { fresh: Math.min(Math.max(given, minTtl), maxTtl), stale };
  }

  private async ask(key: string, method: 'GET' | 'HEAD', origin: () => Promise<CachedAnswer>): Promise<CachedAnswer> {
    const asked = origin().then((answer) => {
      // A HEAD's answer has no body: it cannot answer a GET.
      if (method === 'GET') {
        const { fresh, stale } = this.lifetime(answer.status, answer.headers);
        if (fresh > 0) {
          if (this.entries.size >= SWEEP_AT) this.sweep();
          this.entries.set(key, { answer, storedAt: this.now(), freshMs: fresh * 1000, staleMs: stale * 1000 });
        }
      }
      return answer;
    });
    this.asking.set(`${method} ${key}`, asked);
    try {
      return await asked;
    } finally {
      this.asking.delete(`${method} ${key}`);
    }
  }

  /** A 304 for a viewer whose `If-None-Match` names the answer's ETag; the answer itself otherwise. */
  private conditional(
    result: { answer: CachedAnswer; cache: 'Hit' | 'Miss'; ageMs: number },
    headers: Readonly<Record<string, string | string[] | undefined>>,
  ): CacheResult {
    const ageSeconds = Math.floor(result.ageMs / 1000);
    const etag = result.answer.headers.etag;
    const asked = headers['if-none-match'];
    if (result.answer.status === 200 && etag !== undefined && typeof asked === 'string' && matchesEtag(asked, etag)) {
      const kept = Object.fromEntries(
        Object.entries(result.answer.headers).filter(([name]) => ['etag', 'cache-control'].includes(name)),
      );
      return { answer: { status: 304, headers: kept, body: Buffer.alloc(0) }, cache: result.cache, ageSeconds };
    }
    return { answer: result.answer, cache: result.cache, ageSeconds };
  }

  /** Drops the entries past their stale window: one per key ever asked would grow without bound. */
  private sweep(): void {
    const now = this.now();
    for (const [key, entry] of this.entries) {
      if (now - entry.storedAt >= entry.freshMs + entry.staleMs) this.entries.delete(key);
    }
  }

  private keyOf(url: string, headers: Readonly<Record<string, string | string[] | undefined>>): string {
    const [path = '/', query = ''] = url.split(/\?(.*)/s);
    const parts: string[] = [path];
    const { queryStrings, cookies } = this.policy;
    if (queryStrings !== 'none') {
      const params = [...new URLSearchParams(query)]
        .filter(([name]) => queryStrings === 'all' || queryStrings.includes(name))
        .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
      parts.push(`?${new URLSearchParams(params).toString()}`);
    }
    for (const name of this.policy.headers) parts.push(`${name}:${String(headers[name] ?? '')}`);
    if (cookies !== 'none') {
      const jar = String(headers.cookie ?? '')
        .split(';')
        .map((cookie) => cookie.trim())
        .filter((cookie) => cookie && (cookies === 'all' || cookies.includes(cookie.split('=')[0] as string)))
        .sort();
      parts.push(`cookie:${jar.join(';')}`);
    }
    return parts.join('\n');
  }
}

function cacheControl(headers: Readonly<Record<string, string>>): Map<string, string | undefined> {
  const directives = new Map<string, string | undefined>();
  for (const part of (headers['cache-control'] ?? '').split(',')) {
    const [name, value] = part.trim().split('=');
    if (name) directives.set(name.toLowerCase(), value?.replace(/^"|"$/g, ''));
  }
  return directives;
}

/** The age the origin gave: `s-maxage`, else `max-age`, else what `Expires` leaves. */
function givenAge(
  directives: Map<string, string | undefined>,
  headers: Readonly<Record<string, string>>,
  now: number,
): number | undefined {
  const shared = seconds(directives.get('s-maxage'));
  if (shared !== undefined) return shared;
  const own = seconds(directives.get('max-age'));
  if (own !== undefined) return own;
  const expires = headers.expires === undefined ? Number.NaN : Date.parse(headers.expires);
  return Number.isNaN(expires) ? undefined : Math.max(0, Math.floor((expires - now) / 1000));
}

function seconds(value: string | undefined): number | undefined {
  if (value === undefined || !/^\d+$/.test(value)) return undefined;
  return Number(value);
}

/** RFC 9110's weak comparison over a list of tags, as the origin's own check does. */
function matchesEtag(asked: string, etag: string): boolean {
  const weak = (tag: string) => tag.trim().replace(/^W\//, '');
  return asked.trim() === '*' || asked.split(',').some((tag) => weak(tag) === weak(etag));
}
