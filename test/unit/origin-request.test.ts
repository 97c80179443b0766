import type { CloudAssembly } from '../../local/assembly/cloud-assembly';
import { assemblyEdge } from '../../local/assembly/edge';
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

describe("the assembly's behaviours", () => {
  const assemblyWith = (behavior: Record<string, unknown>, resources: Record<string, unknown> = {}): CloudAssembly => ({
    dir: '/nowhere',
    stacks: [
      {
        name: 'Edge',
        region: 'us-east-1',
        template: {
          Resources: {
            Distribution: {
              Type: 'AWS::CloudFront::Distribution',
              Properties: { DistributionConfig: { CacheBehaviors: [{ PathPattern: '/admin/*', ...behavior }] } },
            },
            ...resources,
          },
        } as CloudAssembly['stacks'][number]['template'],
      },
    ],
  });

  test("forward what the template's origin request policy and cache policy name", () => {
    const [admin] = assemblyEdge(
      assemblyWith(
        { CachePolicyId: '4135ea2d-6df8-44a3-9df3-4b5a84be39ad', OriginRequestPolicyId: { Ref: 'Admin' } },
        {
          Admin: {
            Type: 'AWS::CloudFront::OriginRequestPolicy',
            Properties: {
              OriginRequestPolicyConfig: {
                Name: 'admin',
                HeadersConfig: { HeaderBehavior: 'whitelist', Headers: ['x-api-key', 'Idempotency-Key'] },
                QueryStringsConfig: { QueryStringBehavior: 'none' },
                CookiesConfig: { CookieBehavior: 'none' },
              },
            },
          },
        },
      ),
      undefined,
    );
    expect(admin?.origin?.policy?.headers).toEqual({ behavior: 'only', names: ['x-api-key', 'Idempotency-Key'] });
    expect(admin?.origin?.cacheKey).toBeUndefined();
    const sent = toOrigin('/admin/x?q=1', viewer, '::1', admin?.origin?.policy, admin?.origin?.cacheKey);
    expect(sent.url).toBe('/admin/x');
    expect(Object.keys(sent.headers).sort()).toEqual([
      'content-length',
      'host',
      'idempotency-key',
      'x-api-key',
      'x-forwarded-for',
    ]);
  });

  test('refuse an origin request policy they cannot read: an unknown managed id, or a Ref to anything else', () => {
    expect(() =>
      assemblyEdge(assemblyWith({ OriginRequestPolicyId: '00000000-0000-0000-0000-000000000000' }), undefined),
    ).toThrow(/managed origin request policy 00000000-0000-0000-0000-000000000000 is not known locally/);
    expect(() => assemblyEdge(assemblyWith({ OriginRequestPolicyId: { Ref: 'Distribution' } }), undefined)).toThrow(
      /names no origin request policy of its template/,
    );
  });
});
