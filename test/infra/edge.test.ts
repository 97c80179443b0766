import { Match } from 'aws-cdk-lib/assertions';
import { apiRoutes } from '../../contract/routes';
import { edgeFunctionCode } from '../../edge/build';
import { requiredHeaders } from '../../lib/constructs/drop-api';
import { rateLimits } from '../../lib/constructs/edge-firewall';
import { ADMISSION_FUNCTION_FILE } from '../../lib/stacks/edge-stack';
import { MAX_FUNCTION_BYTES } from '../../local/edge/cloudfront-function';
import { pathPatternRegExp } from '../../local/event-sources/api-gateway';
import { dns, onlyResource, resourcesOf, type Synthesized, synthesize } from './synth';

let synth: Synthesized;
let withDomain: Synthesized;
beforeAll(() => {
  synth = synthesize();
  withDomain = synthesize({ dns });
});

type Behavior = {
  PathPattern: string;
  CachePolicyId: unknown;
  AllowedMethods: string[];
  OriginRequestPolicyId?: unknown;
};
const CACHING_DISABLED = '4135ea2d-6df8-44a3-9df3-4b5a84be39ad';

function behaviors(template: Synthesized['edge']): Behavior[] {
  const distribution = onlyResource(template, 'AWS::CloudFront::Distribution');
  return (distribution.Properties.DistributionConfig as { CacheBehaviors: Behavior[] }).CacheBehaviors;
}

describe('the edge admission function', () => {
  it('uploads exactly what the local sandbox runs: the source without comments or whitespace, within 10 KB', () => {
    const fn = onlyResource(synth.edge, 'AWS::CloudFront::Function');
    const code = fn.Properties.FunctionCode as string;

    expect(code).toBe(edgeFunctionCode(ADMISSION_FUNCTION_FILE, { identity: false }));
    expect(Buffer.byteLength(code)).toBeLessThanOrEqual(MAX_FUNCTION_BYTES);
    expect(fn.Properties).toMatchObject({
      AutoPublish: true,
      FunctionConfig: {
        Runtime: 'cloudfront-js-2.0',
        KeyValueStoreAssociations: [{ KeyValueStoreARN: expect.anything() }],
      },
    });
  });

  it('compares an admission with the bearer token only when the origin verifies shopper identity', () => {
    const uploaded = (template: Synthesized['edge']) =>
      onlyResource(template, 'AWS::CloudFront::Function').Properties.FunctionCode as string;
    const withIdentity = synthesize({
      identity: { issuer: 'https://id.example.com/', audience: 'shop', jwksUri: 'https://id.example.com/keys' },
    });

    expect(uploaded(withIdentity.edge)).toBe(edgeFunctionCode(ADMISSION_FUNCTION_FILE, { identity: true }));
    expect(uploaded(withIdentity.edge)).toContain('const BEARER_CHECK=true;');
    expect(uploaded(synth.edge)).toContain('const BEARER_CHECK=false;');
  });
});

describe('CloudFront', () => {
  it('lives in us-east-1 with its web ACL', () => {
    expect(synth.stacks.edge.region).toBe('us-east-1');
    synth.edge.hasResourceProperties('AWS::CloudFront::Distribution', {
      DistributionConfig: Match.objectLike({ WebACLId: Match.anyValue(), DefaultRootObject: 'index.html' }),
    });
  });

  it('invalidates the page, its service worker and every asset when the page is deployed', () => {
    synth.edge.hasResourceProperties('Custom::CDKBucketDeployment', {
      DistributionPaths: Match.arrayEquals(['/', '/index.html', '/sw.js', '/assets/*']),
    });
  });

  it('caches availability reads for one second by default and two at most, keyed on the path alone', () => {
    synth.edge.hasResourceProperties('AWS::CloudFront::CachePolicy', {
      CachePolicyConfig: Match.objectLike({
        DefaultTTL: 1,
        MinTTL: 0,
        MaxTTL: 2,
        ParametersInCacheKeyAndForwardedToOrigin: Match.objectLike({
          HeadersConfig: { HeaderBehavior: 'none' },
          CookiesConfig: { CookieBehavior: 'none' },
          QueryStringsConfig: { QueryStringBehavior: 'none' },
        }),
      }),
    });
    const products = behaviors(synth.edge).find((behavior) => behavior.PathPattern === '/products/*');
    expect(products?.AllowedMethods).toEqual(['GET', 'HEAD']);
    expect(products?.CachePolicyId).not.toBe(CACHING_DISABLED);
  });

  it('caches no 5xx: a fault answers one request, not every shopper for the 10 s CloudFront would keep it', () => {
    const distribution = onlyResource(synth.edge, 'AWS::CloudFront::Distribution');
    const errors = (distribution.Properties.DistributionConfig as { CustomErrorResponses?: unknown[] })
      .CustomErrorResponses;
    // The error caching minimum TTL only: no page or status of CloudFront's replaces the origin's answer.
    expect(errors).toEqual([500, 501, 502, 503, 504].map((ErrorCode) => ({ ErrorCode, ErrorCachingMinTTL: 0 })));
  });

  it('never caches a write, and matches reservations and feedback before availability', () => {
    const all = behaviors(synth.edge);
    const patterns = all.map((behavior) => behavior.PathPattern);
    expect(patterns.indexOf('/products/*/reservations')).toBeLessThan(patterns.indexOf('/products/*'));
    expect(patterns).toContain('/products/*/feedback');
    expect(patterns.indexOf('/products/*/feedback')).toBeLessThan(patterns.indexOf('/products/*'));
    for (const behavior of all.filter((candidate) => candidate.AllowedMethods.includes('POST'))) {
      if (behavior.PathPattern === '/products/*/reservations') continue;
      expect(behavior.CachePolicyId).toBe(CACHING_DISABLED);
    }
  });

  it("sends a reservation attempt's bearer token to the origin, and caches none of its answers", () => {
    // Only a cache policy may forward Authorization, and one whose TTLs are all 0 may name no header.
    const reservations = behaviors(synth.edge).find((behavior) => behavior.PathPattern === '/products/*/reservations');
    const policyId = (reservations?.CachePolicyId as { Ref?: string } | undefined)?.Ref as string;
    const policy = resourcesOf(synth.edge, 'AWS::CloudFront::CachePolicy')[policyId]?.Properties.CachePolicyConfig;
    expect(policy).toMatchObject({
      MinTTL: 0,
      DefaultTTL: 0,
      ParametersInCacheKeyAndForwardedToOrigin: {
        HeadersConfig: { HeaderBehavior: 'whitelist', Headers: ['Authorization'] },
        QueryStringsConfig: { QueryStringBehavior: 'none' },
        CookiesConfig: { CookieBehavior: 'none' },
      },
    });
    expect((policy as { MaxTTL: number }).MaxTTL).toBeGreaterThan(0);
  });

  it('points the reservation function at the identity provider named in context, and no other function', () => {
    const identity = { issuer: 'https://id.example.com/', audience: 'shop', jwksUri: 'https://id.example.com/keys' };
    const withIdentity = synthesize({ identity });
    const named = Object.entries(resourcesOf(withIdentity.stateless, 'AWS::Lambda::Function')).filter(([, fn]) =>
      JSON.stringify(fn.Properties.Environment ?? {}).includes('IDENTITY_ISSUER'),
    );
    expect(named).toHaveLength(1);
    expect(named[0]?.[0]).toMatch(/CreateReservation/);
    const [, reservation] = named[0] as [string, { Properties: Record<string, unknown> }];
    expect((reservation.Properties.Environment as { Variables: Record<string, unknown> }).Variables).toMatchObject({
      IDENTITY_ISSUER: identity.issuer,
      IDENTITY_AUDIENCE: identity.audience,
      IDENTITY_JWKS_URI: identity.jwksUri,
    });
    expect(JSON.stringify(resourcesOf(synth.stateless, 'AWS::Lambda::Function'))).not.toContain('IDENTITY_ISSUER');
  });

  it('forwards only the headers handlers read', () => {
    synth.edge.hasResourceProperties('AWS::CloudFront::OriginRequestPolicy', {
      OriginRequestPolicyConfig: Match.objectLike({
        HeadersConfig: {
          HeaderBehavior: 'whitelist',
          Headers: ['Idempotency-Key', 'Content-Type', 'x-dropline-admission', 'x-dropline-turn-passed'],
        },
        CookiesConfig: { CookieBehavior: 'none' },
        QueryStringsConfig: { QueryStringBehavior: 'none' },
      }),
    });
    synth.edge.hasResourceProperties('AWS::CloudFront::OriginRequestPolicy', {
      OriginRequestPolicyConfig: Match.objectLike({
        HeadersConfig: { HeaderBehavior: 'whitelist', Headers: ['x-api-key', 'Idempotency-Key', 'Content-Type'] },
      }),
    });
  });

  it('forwards every header a route requires on the behaviour that takes its path', () => {
    const resources = synth.edge.toJSON().Resources as Record<string, { Properties: Record<string, never> }>;
    const forwarded = (behavior: Behavior): string[] => {
      const named = (reference: unknown, config: string, path: string[]): string[] => {
        const id = (reference as { Ref?: string } | undefined)?.Ref;
        let node: unknown = id ? resources[id]?.Properties[config] : undefined;
        for (const step of path) node = (node as Record<string, unknown> | undefined)?.[step];
        return Array.isArray(node) ? node.map((name) => String(name).toLowerCase()) : [];
      };
      return [
        ...named(behavior.OriginRequestPolicyId, 'OriginRequestPolicyConfig', ['HeadersConfig', 'Headers']),
        ...named(behavior.CachePolicyId, 'CachePolicyConfig', [
          'ParametersInCacheKeyAndForwardedToOrigin',
          'HeadersConfig',
          'Headers',
        ]),
      ];
    };
    const checked = apiRoutes.flatMap((route) =>
      (requiredHeaders[route.handler] ?? []).map((header) => {
        const path = route.path.replace(/\{\w+\}/g, 'x');
        const behavior = behaviors(synth.edge).find((candidate) => pathPatternRegExp(candidate.PathPattern).test(path));
        return { route: `${route.method} ${route.path}`, header, forwarded: behavior ? forwarded(behavior) : [] };
      }),
    );
    expect(checked.length).toBeGreaterThan(0);
    for (const { route, header, forwarded: names } of checked) {
      expect({ route, header, forwarded: names.includes(header.toLowerCase()) }).toEqual({
        route,
        header,
        forwarded: true,
      });
    }
  });

  it('sends the secret origin header to the API, from the secret, not a literal', () => {
    const distribution = onlyResource(synth.edge, 'AWS::CloudFront::Distribution');
    const origins = (distribution.Properties.DistributionConfig as { Origins: Array<Record<string, unknown>> }).Origins;
    const api = origins.find((origin) => origin.OriginCustomHeaders);
    expect(api?.OriginCustomHeaders).toEqual([
      { HeaderName: 'x-dropline-origin', HeaderValue: expect.stringMatching(/^\{\{resolve:secretsmanager:.+\}\}$/) },
    ]);
    expect(api?.CustomOriginConfig).toMatchObject({
      OriginProtocolPolicy: 'https-only',
      OriginSSLProtocols: ['TLSv1.2'],
    });
  });

  it('retains its buckets, so tearing the stack down never fails on a non-empty bucket', () => {
    const buckets = Object.values(synth.edge.findResources('AWS::S3::Bucket')) as Array<{ DeletionPolicy?: string }>;
    expect(buckets.length).toBe(2);
    for (const bucket of buckets) expect(bucket.DeletionPolicy).toBe('Retain');
  });

  it('reads the drop page from a private bucket through origin access control', () => {
    synth.edge.resourceCountIs('AWS::CloudFront::OriginAccessControl', 1);
    synth.edge.hasResourceProperties('AWS::S3::Bucket', {
      PublicAccessBlockConfiguration: {
        BlockPublicAcls: true,
        BlockPublicPolicy: true,
        IgnorePublicAcls: true,
        RestrictPublicBuckets: true,
      },
      BucketEncryption: Match.anyValue(),
    });
  });
});

describe('the edge web ACL', () => {
  const rules = () => {
    const [acl] = Object.values(resourcesOf(synth.edge, 'AWS::WAFv2::WebACL'));
    expect(acl?.Properties.Scope).toBe('CLOUDFRONT');
    return acl?.Properties.Rules as Array<{
      Name: string;
      Action?: Record<string, unknown>;
      Statement: {
        RateBasedStatement?: Record<string, unknown>;
        ManagedRuleGroupStatement?: { Name: string };
      };
    }>;
  };

  it('limits reservation attempts and all requests per IP', () => {
    const byName = new Map(rules().map((rule) => [rule.Name, rule]));
    expect(byName.get('reservations-per-ip')?.Statement.RateBasedStatement).toMatchObject({
      AggregateKeyType: 'IP',
      EvaluationWindowSec: 60,
      Limit: rateLimits.reservationsPerIpPerMinute,
      ScopeDownStatement: expect.anything(),
    });
    expect(byName.get('requests-per-ip')?.Statement.RateBasedStatement).toMatchObject({
      Limit: rateLimits.perIpPerMinute,
    });
  });

  it('runs Bot Control and the common rule sets', () => {
    const managed = rules()
      .map((rule) => rule.Statement.ManagedRuleGroupStatement?.Name)
      .filter(Boolean);
    expect(managed).toEqual(
      expect.arrayContaining([
        'AWSManagedRulesBotControlRuleSet',
        'AWSManagedRulesCommonRuleSet',
        'AWSManagedRulesKnownBadInputsRuleSet',
        'AWSManagedRulesAmazonIpReputationList',
      ]),
    );
  });

  it('challenges browsers on the drop page and checks the token on every reservation attempt', () => {
    const challenged = rules().filter((rule) => rule.Action && 'Challenge' in rule.Action);
    expect(challenged.map((rule) => rule.Name).sort()).toEqual(['challenge-on-drop-page', 'challenge-on-reservation']);
    const reservation = JSON.stringify(challenged.find((rule) => rule.Name === 'challenge-on-reservation')?.Statement);
    expect(reservation).toMatch(/"SearchString":"\/reservations"/);
    expect(reservation).toMatch(/"SearchString":"POST"/);
  });
});

describe('a rehearsal stage (wafMode=count)', () => {
  it('only counts: every rule and rule group records what it would do', () => {
    const counting = synthesize({ wafMode: 'count' });
    const acl = onlyResource(counting.edge, 'AWS::WAFv2::WebACL');
    const rules = acl.Properties.Rules as Array<{ Action?: object; OverrideAction?: object }>;
    for (const rule of rules) expect(rule.Action ?? rule.OverrideAction).toEqual({ Count: {} });
  });
});

describe('DNS', () => {
  it('creates no records, certificate or health check without a domain', () => {
    synth.edge.resourceCountIs('AWS::Route53::RecordSet', 0);
    synth.edge.resourceCountIs('AWS::Route53::HealthCheck', 0);
    synth.edge.resourceCountIs('AWS::CertificateManager::Certificate', 0);
  });

  it('aliases the domain to CloudFront over IPv4 and IPv6, with TLS 1.2 and a health check', () => {
    withDomain.edge.hasResourceProperties('AWS::Route53::RecordSet', {
      Name: 'drop.example.com.',
      Type: 'A',
      HostedZoneId: dns.hostedZoneId,
    });
    withDomain.edge.hasResourceProperties('AWS::Route53::RecordSet', { Name: 'drop.example.com.', Type: 'AAAA' });
    withDomain.edge.hasResourceProperties('AWS::CertificateManager::Certificate', { DomainName: 'drop.example.com' });
    withDomain.edge.hasResourceProperties('AWS::CloudFront::Distribution', {
      DistributionConfig: Match.objectLike({
        Aliases: ['drop.example.com'],
        ViewerCertificate: Match.objectLike({ MinimumProtocolVersion: 'TLSv1.2_2021' }),
      }),
    });
    withDomain.edge.hasResourceProperties('AWS::Route53::HealthCheck', {
      HealthCheckConfig: Match.objectLike({
        Type: 'HTTPS',
        FullyQualifiedDomainName: 'drop.example.com',
        ResourcePath: '/health',
      }),
    });
  });
});
