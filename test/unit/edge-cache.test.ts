/**
 * The local CloudFront cache's rules (local/edge/cache.ts), on a clock the test moves: how long an answer
 * stays, by the cache policy and the origin's headers; hits, collapsing, stale-while-revalidate.
 */
import { describe, expect, it } from '@jest/globals';
import { type CachedAnswer, type CachePolicy, EdgeCache } from '../../local/edge/cache';

const AVAILABILITY: CachePolicy = {
  name: 'availability',
  minTtl: 0,
  defaultTtl: 1,
  maxTtl: 2,
  headers: [],
  queryStrings: 'none',
  cookies: 'none',
};

const answer = (status: number, headers: Record<string, string> = {}, body = 'x'): CachedAnswer => ({
  status,
  headers,
  body: Buffer.from(body),
});

/** An origin that answers `given` once released, counting the requests it got meanwhile. */
function heldOrigin(given: CachedAnswer) {
  let asked = 0;
  let release: () => void = () => undefined;
  const gate = new Promise<void>((resolve) => {
    release = resolve;
  });
  return {
    ask: async () => {
      asked++;
      await gate;
      return given;
    },
    release: () => release(),
    asked: () => asked,
  };
}

function clock() {
  const time = { now: 1_000_000 };
  return { time, now: () => time.now };
}

describe('how long CloudFront keeps an answer', () => {
  const cache = new EdgeCache(AVAILABILITY);
  const lifetime = (status: number, headers: Record<string, string> = {}) => cache.lifetime(status, headers).fresh;

  it('minimum TTL 0: max-age capped at the maximum, the default without one, nothing for no-store', () => {
    expect(lifetime(200, { 'cache-control': 'public, max-age=1' })).toBe(1);
    expect(lifetime(200, { 'cache-control': 'max-age=60' })).toBe(2);
    expect(lifetime(200, { 'cache-control': 'max-age=60, s-maxage=0' })).toBe(0);
    expect(lifetime(200)).toBe(1);
    expect(lifetime(200, { 'cache-control': 'no-store' })).toBe(0);
    expect(lifetime(200, { 'cache-control': 'private, max-age=1' })).toBe(0);
  });

  it('minimum TTL above 0: at least the minimum, even for no-store', () => {
    const floor = new EdgeCache({ ...AVAILABILITY, minTtl: 5, defaultTtl: 10, maxTtl: 60 });
    expect(floor.lifetime(200, { 'cache-control': 'no-store' }).fresh).toBe(5);
    expect(floor.lifetime(200, {}).fresh).toBe(10);
    expect(floor.lifetime(200, { 'cache-control': 'max-age=1' }).fresh).toBe(5);
    expect(floor.lifetime(200, { 'cache-control': 'max-age=600' }).fresh).toBe(60);
  });

  it('errors: 5xx and 404 for the error caching minimum TTL (10 s), whatever no-store says but a 404', () => {
    expect(lifetime(503, { 'cache-control': 'no-store', 'retry-after': '1' })).toBe(10);
    expect(lifetime(502)).toBe(10);
    expect(lifetime(404, { 'cache-control': 'no-store' })).toBe(0);
    expect(lifetime(404)).toBe(10);
    // 400 and 403 only with an age; 409 and 429 never.
    expect(lifetime(403)).toBe(0);
    // The greater of the given age (never past the maximum TTL, 2 here) and the 10 s.
    expect(lifetime(400, { 'cache-control': 'max-age=1' })).toBe(10);
    expect(lifetime(405)).toBe(0);
    expect(lifetime(409, { 'cache-control': 'max-age=60' })).toBe(0);
    expect(lifetime(429)).toBe(0);
  });

  it("errors: the distribution's error caching minimum TTL replaces the 10 s", () => {
    const noErrorCaching = new EdgeCache(AVAILABILITY, new Map([[503, 0]]));
    expect(noErrorCaching.lifetime(503, { 'cache-control': 'no-store' }).fresh).toBe(0);
    expect(noErrorCaching.lifetime(502, {}).fresh).toBe(10);
  });

  it('never: 206, 304, and 307 without a Cache-Control', () => {
    expect(lifetime(206, { 'cache-control': 'max-age=1' })).toBe(0);
    expect(lifetime(304, { 'cache-control': 'max-age=1' })).toBe(0);
    expect(lifetime(307)).toBe(0);
  });
});

describe('answering from the cache', () => {
  it('a GET within the TTL is a hit with the stored answer; after it, the origin is asked again', async () => {
    const { time, now } = clock();
    const cache = new EdgeCache(AVAILABILITY, new Map(), now);
    let asked = 0;
    const origin = async () => answer(200, { 'cache-control': 'max-age=1' }, `v${++asked}`);

    const first = await cache.answer('GET', '/products/a', {}, origin);
    time.now += 900;
    const second = await cache.answer('GET', '/products/a?utm=1', {}, origin);
    time.now += 200;
    const third = await cache.answer('GET', '/products/a', {}, origin);

    expect([first.cache, first.answer.body.toString()]).toEqual(['Miss', 'v1']);
    // The query string is not in this policy's key.
    expect([second.cache, second.answer.body.toString()]).toEqual(['Hit', 'v1']);
    expect([third.cache, third.answer.body.toString()]).toEqual(['Miss', 'v2']);
  });

  it('collapses the requests that come while the origin answers into one origin request', async () => {
    const cache = new EdgeCache(AVAILABILITY);
    const origin = heldOrigin(answer(200, { 'cache-control': 'no-store' }));

    const all = Promise.all(Array.from({ length: 20 }, () => cache.answer('GET', '/products/a', {}, origin.ask)));
    origin.release();
    const results = await all;

    expect(origin.asked()).toBe(1);
    expect(results.filter((result) => result.cache === 'Miss')).toHaveLength(1);
  });

  it('serves an expired answer within stale-while-revalidate while one request refreshes it', async () => {
    const { time, now } = clock();
    const cache = new EdgeCache(AVAILABILITY, new Map(), now);
    let asked = 0;
    const origin = async () => answer(200, { 'cache-control': 'max-age=1, stale-while-revalidate=2' }, `v${++asked}`);
    await cache.answer('GET', '/products/a', {}, origin);
    time.now += 1500;

    const stale = await cache.answer('GET', '/products/a', {}, origin);
    await new Promise((resolve) => setImmediate(resolve));
    const refreshed = await cache.answer('GET', '/products/a', {}, origin);

    expect([stale.cache, stale.answer.body.toString(), stale.ageSeconds]).toEqual(['Hit', 'v1', 1]);
    expect([refreshed.cache, refreshed.answer.body.toString(), asked]).toEqual(['Hit', 'v2', 2]);
  });

  it("answers 304 from the cache to an If-None-Match naming the stored ETag; a HEAD's answer is not stored", async () => {
    const cache = new EdgeCache(AVAILABILITY);
    let asked = 0;
    const origin = async () => {
      asked++;
      return answer(200, { 'cache-control': 'max-age=1', etag: '"abc"' });
    };
    await cache.answer('HEAD', '/products/a', {}, origin);
    await cache.answer('GET', '/products/a', {}, origin);

    const conditional = await cache.answer('GET', '/products/a', { 'if-none-match': 'W/"abc"' }, origin);

    expect(asked).toBe(2);
    expect([conditional.cache, conditional.answer.status, conditional.answer.headers.etag]).toEqual([
      'Hit',
      304,
      '"abc"',
    ]);
  });

  it('a conditional request and a plain one collapsed onto it each get their own answer: 304 and the body', async () => {
    const cache = new EdgeCache(AVAILABILITY);
    const origin = heldOrigin(answer(200, { 'cache-control': 'max-age=1', etag: '"abc"' }, 'body'));

    const both = Promise.all([
      cache.answer('GET', '/products/a', { 'if-none-match': '"abc"' }, origin.ask),
      cache.answer('GET', '/products/a', {}, origin.ask),
    ]);
    origin.release();
    const [conditional, plain] = await both;

    expect(origin.asked()).toBe(1);
    expect([conditional.cache, conditional.answer.status]).toEqual(['Miss', 304]);
    expect([plain.cache, plain.answer.status, plain.answer.body.toString()]).toEqual(['Hit', 200, 'body']);
  });

  it('keys on the headers the policy names', async () => {
    const cache = new EdgeCache({ ...AVAILABILITY, headers: ['authorization'] });
    let asked = 0;
    const origin = async () => answer(200, { 'cache-control': 'max-age=1' }, `v${++asked}`);

    await cache.answer('GET', '/x', { authorization: 'Bearer a' }, origin);
    const other = await cache.answer('GET', '/x', { authorization: 'Bearer b' }, origin);
    const same = await cache.answer('GET', '/x', { authorization: 'Bearer a' }, origin);

    expect([other.cache, same.cache, asked]).toEqual(['Miss', 'Hit', 2]);
  });
});
