/**
 * The assembly's CloudFront behaviours, as its distributions run them in front of the API: each cache
 * behaviour in the distribution's order (CloudFront takes the first whose path pattern matches), with the
 * viewer-request function associated with it, if any, built from the template's own `FunctionCode` and
 * reading the embedded KeyValueStore when the function is associated with one, its cache policy's
 * cache (local/edge/cache.ts), with the distribution's error caching minimum TTLs, and what of the viewer's
 * request its origin request and cache policies forward to the origin (local/edge/origin-request.ts).
 */
import { type CachePolicy, EdgeCache } from '../edge/cache';
import { CloudFrontFunction, type KeyValueStoreReader } from '../edge/cloudfront-function';
import { MANAGED_ORIGIN_REQUEST_POLICIES, type OriginRequestPolicy, type Selection } from '../edge/origin-request';
import type { EdgeFunctionAssociation } from '../event-sources/api-gateway';
import { AssemblyError, type AssemblyStack, type CloudAssembly, resourcesOf } from './cloud-assembly';
import type { IntrinsicResolver } from './intrinsics';

interface CacheBehavior {
  readonly PathPattern?: unknown;
  readonly CachePolicyId?: unknown;
  readonly OriginRequestPolicyId?: unknown;
  readonly FunctionAssociations?: ReadonlyArray<{ readonly EventType?: unknown; readonly FunctionARN?: unknown }>;
}

interface DistributionConfig {
  readonly CacheBehaviors?: CacheBehavior[];
  readonly CustomErrorResponses?: ReadonlyArray<{
    readonly ErrorCode?: unknown;
    readonly ErrorCachingMinTTL?: unknown;
  }>;
}

/**
 * AWS's managed cache policies a template may name by id ("Use managed cache policies", CloudFront
 * Developer Guide, https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/using-managed-cache-policies.html):
 * `null` for CachingDisabled, which caches nothing.
 */
const MANAGED_CACHE_POLICIES: Readonly<Record<string, CachePolicy | null>> = {
  '4135ea2d-6df8-44a3-9df3-4b5a84be39ad': null,
  '658327ea-f89d-4fab-a63d-7e88639e58f6': {
    name: 'Managed-CachingOptimized',
    minTtl: 1,
    defaultTtl: 86_400,
    maxTtl: 31_536_000,
    headers: [],
    queryStrings: 'none',
    cookies: 'none',
  },
};

interface CachePolicyConfig {
  readonly Name?: unknown;
  readonly MinTTL?: unknown;
  readonly DefaultTTL?: unknown;
  readonly MaxTTL?: unknown;
  readonly ParametersInCacheKeyAndForwardedToOrigin?: {
    readonly HeadersConfig?: { readonly HeaderBehavior?: unknown; readonly Headers?: unknown };
    readonly QueryStringsConfig?: { readonly QueryStringBehavior?: unknown; readonly QueryStrings?: unknown };
    readonly CookiesConfig?: { readonly CookieBehavior?: unknown; readonly Cookies?: unknown };
  };
}

/**
 * A policy a behaviour names: AWS's managed one by id (`managed`), or its template's own by `Ref` (`config`,
 * the resource's `configKey` property, and its logical id).
 */
function namedPolicy<T>(
  stack: AssemblyStack,
  reference: unknown,
  at: string,
  kind: { readonly type: string; readonly configKey: string; readonly label: string },
  managedPolicies: Readonly<Record<string, T>>,
): { readonly managed: T } | { readonly config: unknown; readonly id: string } {
  if (typeof reference === 'string') {
    const managed = managedPolicies[reference];
    if (managed === undefined)
      throw new AssemblyError(`${at}: the managed ${kind.label} ${reference} is not known locally`);
    return { managed };
  }
  const id = (reference as { Ref?: unknown } | null)?.Ref;
  const resource = typeof id === 'string' ? stack.template.Resources[id] : undefined;
  if (typeof id !== 'string' || resource?.Type !== kind.type) {
    throw new AssemblyError(`${at}: ${JSON.stringify(reference)} names no ${kind.label} of its template`);
  }
  return { config: resource.Properties?.[kind.configKey], id };
}

/** The behaviour's cache policy: a managed one by id, or the template's own by `Ref`; `null` caches nothing. */
function cachePolicyOf(stack: AssemblyStack, reference: unknown, at: string): CachePolicy | null {
  if (reference === undefined) return null;
  const named = namedPolicy(
    stack,
    reference,
    at,
    { type: 'AWS::CloudFront::CachePolicy', configKey: 'CachePolicyConfig', label: 'cache policy' },
    MANAGED_CACHE_POLICIES,
  );
  if ('managed' in named) return named.managed;
  const { id } = named;
  const config = named.config as CachePolicyConfig | undefined;
  const keyed = config?.ParametersInCacheKeyAndForwardedToOrigin;
  const listed = (behavior: unknown, names: unknown, kind: string): 'none' | 'all' | readonly string[] => {
    if (behavior === 'none') return 'none';
    if (behavior === 'all') return 'all';
    if (behavior === 'whitelist' && Array.isArray(names)) return names.map(String);
    throw new AssemblyError(`${at}: the local cache keys ${kind} as none, all or a whitelist, not ${String(behavior)}`);
  };
  const headers = listed(keyed?.HeadersConfig?.HeaderBehavior, keyed?.HeadersConfig?.Headers, 'headers');
  if (headers === 'all') throw new AssemblyError(`${at}: a cache policy cannot key on all headers`);
  return {
    name: String(config?.Name ?? id),
    minTtl: Number(config?.MinTTL ?? 0),
    defaultTtl: Number(config?.DefaultTTL ?? 86_400),
    maxTtl: Number(config?.MaxTTL ?? 31_536_000),
    headers: headers === 'none' ? [] : headers.map((name) => name.toLowerCase()),
    queryStrings: listed(
      keyed?.QueryStringsConfig?.QueryStringBehavior,
      keyed?.QueryStringsConfig?.QueryStrings,
      'query strings',
    ),
    cookies: listed(keyed?.CookiesConfig?.CookieBehavior, keyed?.CookiesConfig?.Cookies, 'cookies'),
  };
}

interface OriginRequestPolicyConfig {
  readonly Name?: unknown;
  readonly HeadersConfig?: { readonly HeaderBehavior?: unknown; readonly Headers?: unknown };
  readonly QueryStringsConfig?: { readonly QueryStringBehavior?: unknown; readonly QueryStrings?: unknown };
  readonly CookiesConfig?: { readonly CookieBehavior?: unknown; readonly Cookies?: unknown };
}

/** The behaviour's origin request policy: a managed one by id, or the template's own by `Ref`; none forwards nothing. */
function originRequestPolicyOf(stack: AssemblyStack, reference: unknown, at: string): OriginRequestPolicy | undefined {
  if (reference === undefined) return undefined;
  const named = namedPolicy(
    stack,
    reference,
    at,
    {
      type: 'AWS::CloudFront::OriginRequestPolicy',
      configKey: 'OriginRequestPolicyConfig',
      label: 'origin request policy',
    },
    MANAGED_ORIGIN_REQUEST_POLICIES,
  );
  if ('managed' in named) return named.managed;
  const { id } = named;
  const config = named.config as OriginRequestPolicyConfig | undefined;
  // The behaviours each part may have ("OriginRequestPolicy" HeadersConfig, QueryStringsConfig, CookiesConfig).
  const selection = (behavior: unknown, names: unknown, kind: string): Selection => {
    const listed = Array.isArray(names) ? names.map(String) : [];
    if (behavior === 'none') return { behavior: 'none' };
    if (behavior === 'all' || behavior === 'allViewer') return { behavior: 'all' };
    if (behavior === 'whitelist') return { behavior: 'only', names: listed };
    if (behavior === 'allExcept') return { behavior: 'allExcept', names: listed };
    throw new AssemblyError(
      `${at}: the local edge forwards ${kind} as none, all, a whitelist or all but some, not ${String(behavior)}`,
    );
  };
  return {
    name: String(config?.Name ?? id),
    headers: selection(config?.HeadersConfig?.HeaderBehavior, config?.HeadersConfig?.Headers, 'headers'),
    queryStrings: selection(
      config?.QueryStringsConfig?.QueryStringBehavior,
      config?.QueryStringsConfig?.QueryStrings,
      'query strings',
    ),
    cookies: selection(config?.CookiesConfig?.CookieBehavior, config?.CookiesConfig?.Cookies, 'cookies'),
  };
}

/** The logical id a `Fn::GetAtt: [Function, FunctionARN]` names. */
function functionLogicalId(reference: unknown, at: string): string {
  const getAtt = (reference as { 'Fn::GetAtt'?: unknown } | null)?.['Fn::GetAtt'];
  const logicalId = Array.isArray(getAtt) ? getAtt[0] : typeof getAtt === 'string' ? getAtt.split('.')[0] : undefined;
  if (typeof logicalId !== 'string') {
    throw new AssemblyError(
      `${at}: the local edge runs functions of the same template (Fn::GetAtt), not ${JSON.stringify(reference)}`,
    );
  }
  return logicalId;
}

/** The stores the runtime emulates, by the ARN the resolver gives them, to check each association against. */
export interface EmulatedStores {
  readonly resolver: IntrinsicResolver;
  readonly arns: ReadonlySet<string>;
}

/**
 * Whether a function reads a KeyValueStore, and that the one it names is one the runtime emulates (there is
 * one local store): a function associated with a store of another account, or one the assembly does not
 * hold, is refused rather than run against the local store.
 */
function readsStore(stack: AssemblyStack, functionId: string, stores: EmulatedStores | undefined): boolean {
  const properties = stack.template.Resources[functionId]?.Properties ?? {};
  const associations =
    (properties.FunctionConfig as { KeyValueStoreAssociations?: unknown[] } | undefined)?.KeyValueStoreAssociations ??
    [];
  for (const [index, association] of associations.entries()) {
    if (!stores) break;
    const at = `${stack.name}.${functionId}.FunctionConfig.KeyValueStoreAssociations[${index}].KeyValueStoreARN`;
    const arn = stores.resolver.resolveString(
      stack,
      (association as { KeyValueStoreARN?: unknown } | null)?.KeyValueStoreARN,
      at,
    );
    if (!stores.arns.has(arn)) throw new AssemblyError(`${at}: ${arn} is no KeyValueStore of the assembly`);
  }
  return associations.length > 0;
}

export function assemblyEdge(
  assembly: CloudAssembly,
  kvs: KeyValueStoreReader | undefined,
  stores?: EmulatedStores,
): EdgeFunctionAssociation[] {
  const built = new Map<string, CloudFrontFunction>();
  const associations: EdgeFunctionAssociation[] = [];
  for (const { stack, logicalId, resource } of resourcesOf(assembly)) {
    if (resource.Type !== 'AWS::CloudFront::Distribution') continue;
    const config = resource.Properties?.DistributionConfig as DistributionConfig | undefined;
    const errorCachingMinTtl = new Map(
      (config?.CustomErrorResponses ?? []).flatMap((response) =>
        response.ErrorCachingMinTTL === undefined
          ? []
          : [[Number(response.ErrorCode), Number(response.ErrorCachingMinTTL)] as const],
      ),
    );
    for (const [index, behavior] of (config?.CacheBehaviors ?? []).entries()) {
      const at = `${stack.name}.${logicalId}.CacheBehaviors[${index}]`;
      const viewerRequest = behavior.FunctionAssociations?.find(
        (association) => association.EventType === 'viewer-request',
      );
      let fn: CloudFrontFunction | undefined;
      if (viewerRequest) {
        const functionId = functionLogicalId(viewerRequest.FunctionARN, at);
        const key = `${stack.name}/${functionId}`;
        fn = built.get(key);
        if (!fn) {
          const properties = stack.template.Resources[functionId]?.Properties ?? {};
          const code = properties.FunctionCode;
          if (typeof code !== 'string') throw new AssemblyError(`${stack.name}.${functionId}: no inline FunctionCode`);
          const associated = readsStore(stack, functionId, stores);
          fn = CloudFrontFunction.fromSource(code, {
            name: `${stack.name}.${functionId}`,
            overrun: 'measure',
            ...(associated && kvs ? { kvs } : {}),
          });
          built.set(key, fn);
        }
      }
      const policy = cachePolicyOf(stack, behavior.CachePolicyId, `${at}.CachePolicyId`);
      const forwarded = originRequestPolicyOf(stack, behavior.OriginRequestPolicyId, `${at}.OriginRequestPolicyId`);
      associations.push({
        pathPattern: String(behavior.PathPattern),
        fn,
        ...(policy && policy.maxTtl > 0 ? { cache: new EdgeCache(policy, errorCachingMinTtl) } : {}),
        origin: {
          ...(forwarded ? { policy: forwarded } : {}),
          ...(policy
            ? { cacheKey: { headers: policy.headers, queryStrings: policy.queryStrings, cookies: policy.cookies } }
            : {}),
        },
      });
    }
  }
  return associations;
}
