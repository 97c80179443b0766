import { type OriginRequestPolicy, toOrigin } from '../../local/edge/origin-request';

const viewer = {
  host: 'd111.cloudfront.net',
  'content-length': '42',
  'content-type': 'application/json',
  'idempotency-key': 'k-1',
  'x-api-key': 'secret',
  authorization: 'Bearer t',
  'user-agent': 'curl/8',
  cookie: 'session=abc; theme=dark',
};

const policy = (
  headers: OriginRequestPolicy['headers'],
  rest: Partial<OriginRequestPolicy> = {},
): OriginRequestPolicy => ({
  name: 'test',
  headers,
  queryStrings: { behavior: 'none' },
  cookies: { behavior: 'none' },
  ...rest,
});

test('a whitelist forwards the headers it lists, whatever their case, and CloudFront keeps the framing and adds the viewer', () => {
  const sent = toOrigin(
    '/admin/products/a/restock',
    viewer,
    '198.51.100.7',
    policy({ behavior: 'only', names: ['X-Api-Key', 'Content-Type'] }),
    undefined,
  );
  expect(sent.headers).toEqual({
    host: 'd111.cloudfront.net',
    'content-length': '42',
    'content-type': 'application/json',
    'x-api-key': 'secret',
    'x-forwarded-for': '198.51.100.7',
  });
});

test('without an origin request policy only what the cache policy keys on reaches the origin', () => {
  const keyed = toOrigin('/products/a/reservations?x=1', viewer, '198.51.100.7', undefined, {
    headers: ['authorization'],
    queryStrings: 'none',
    cookies: 'none',
  });
  expect(Object.keys(keyed.headers).sort()).toEqual(['authorization', 'content-length', 'host', 'x-forwarded-for']);
  expect(keyed.url).toBe('/products/a/reservations');
  expect(toOrigin('/orders/o', viewer, '::1', undefined, undefined).headers).toEqual({
    host: 'd111.cloudfront.net',
    'content-length': '42',
    'x-forwarded-for': '::1',
  });
});

test('query strings and cookies are chosen by name as written; all but some forwards the rest', () => {
  const sent = toOrigin(
    '/drops/a/queue?customerId=c%201&CustomerId=x&page=2',
    { ...viewer, 'x-forwarded-for': '203.0.113.1' },
    '198.51.100.7',
    policy(
      { behavior: 'allExcept', names: ['Authorization'] },
      {
        queryStrings: { behavior: 'only', names: ['customerId'] },
        cookies: { behavior: 'only', names: ['session'] },
      },
    ),
    { headers: [], queryStrings: ['page'], cookies: 'none' },
  );
  expect(sent.url).toBe('/drops/a/queue?customerId=c%201&page=2');
  expect(sent.headers.cookie).toBe('session=abc');
  expect(sent.headers.authorization).toBeUndefined();
  expect(sent.headers['idempotency-key']).toBe('k-1');
  expect(sent.headers['x-forwarded-for']).toBe('203.0.113.1, 198.51.100.7');
});
