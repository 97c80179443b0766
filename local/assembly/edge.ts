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
import type { EdgeFunctionAssociation, OriginAnswer } from '../event-sources/api-gateway';
import { AssemblyError, type AssemblyStack, type CloudAssembly, resourcesOf } from './cloud-assembly';
import type { IntrinsicResolver } from './intrinsics';

interface CacheBehavior {
  readonly PathPattern?: unknown;
  readonly TargetOriginId?: unknown;
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
  readonly Origins?: ReadonlyArray<{ readonly Id?: unknown; readonly DomainName?: unknown }>;
  readonly OriginGroups?: {
    readonly Items?: ReadonlyArray<{
      readonly Id?: unknown;
      readonly FailoverCriteria?: { readonly StatusCodes?: { readonly Items?: readonly unknown[] } };
      readonly Members?: { readonly Items?: ReadonlyArray<{ readonly OriginId?: unknown }> };
    }>;
  };
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

/** What of the provisioned assembly the edge resolves its references against. */
export interface EdgeContext {
  readonly resolver: IntrinsicResolver;
  /** The assembly's KeyValueStores by their local ARNs: the one embedded store stands in for each. */
  readonly storeArns: ReadonlySet<string>;
  /** The assembly's REST APIs by the id they answer `Ref` with (the first label of their execute-api host). */
  readonly restApis: ReadonlyMap<string, { readonly stack: AssemblyStack; readonly logicalId: string }>;
}

/**
 * Whether a function reads a KeyValueStore, and that the one it names is one the runtime emulates (there is
 * one local store): a function associated with a store of another account, or one the assembly does not
 * hold, is refused rather than run against the local store.
 */
function readsStore(stack: AssemblyStack, functionId: string, context: EdgeContext | undefined): boolean {
  const properties = stack.template.Resources[functionId]?.Properties ?? {};
  const listed = (properties.FunctionConfig as { KeyValueStoreAssociations?: unknown } | undefined)
    ?.KeyValueStoreAssociations;
  if (listed !== undefined && !Array.isArray(listed)) {
    throw new AssemblyError(
      `${stack.name}.${functionId}: KeyValueStoreAssociations is not a list the local edge reads`,
    );
  }
  const associations: readonly unknown[] = listed ?? [];
  for (const [index, association] of associations.entries()) {
    if (!context) break;
    const at = `${stack.name}.${functionId}.FunctionConfig.KeyValueStoreAssociations[${index}].KeyValueStoreARN`;
    const arn = context.resolver.resolveString(
      stack,
      (association as { KeyValueStoreARN?: unknown } | null)?.KeyValueStoreARN,
      at,
    );
    if (!context.storeArns.has(arn)) throw new AssemblyError(`${at}: ${arn} is no KeyValueStore of the assembly`);
  }
  return associations.length > 0;
}

/**
 * The behaviour's origin group, if its target is one: the status codes it fails over on, and its secondary
 * origin's answer. The secondary must be a REST API of the assembly whose every method answers alike from a
 * mock integration (the edge stack's paused origin); anything else refuses the assembly.
 */
function failoverOf(
  stack: AssemblyStack,
  config: DistributionConfig,
  behavior: CacheBehavior,
  context: EdgeContext | undefined,
  at: string,
): EdgeFunctionAssociation['failover'] {
  const group = config.OriginGroups?.Items?.find((item) => item.Id === behavior.TargetOriginId);
  if (!group) return undefined;
  if (!context) throw new AssemblyError(`${at}: an origin group is resolved against the provisioned assembly`);
  const members = group.Members?.Items ?? [];
  const secondaryId = members[1]?.OriginId;
  const origin = config.Origins?.find((item) => item.Id === secondaryId);
  if (members.length !== 2 || !origin) {
    throw new AssemblyError(`${at}: origin group ${String(group.Id)} needs a primary and a secondary origin`);
  }
  const host = context.resolver.resolveString(stack, origin.DomainName, `${at} secondary origin DomainName`);
  const api = /^([a-z0-9]+)\.execute-api\./.exec(host)?.[1];
  const named = api === undefined ? undefined : context.restApis.get(api);
  if (!named) throw new AssemblyError(`${at}: the secondary origin ${host} is no REST API of the assembly`);
  const statusCodes = new Set((group.FailoverCriteria?.StatusCodes?.Items ?? []).map(Number));
  return { statusCodes, answer: constantAnswer(context, named.stack, api as string) };
}

/**
 * What a REST API whose every method is a mock integration answers: each method's one (default) integration
 * response, its static template as the body and its static header mappings ('literal') as headers. Methods
 * that answer differently, a selection pattern, VTL in a template or a mapped header that is not a literal
 * refuse the assembly: the local edge does not evaluate them.
 */
function constantAnswer(context: EdgeContext, stack: AssemblyStack, api: string): OriginAnswer {
  const answers = new Set<string>();
  let answer: OriginAnswer | undefined;
  for (const [logicalId, resource] of Object.entries(stack.template.Resources)) {
    if (resource.Type !== 'AWS::ApiGateway::Method') continue;
    const at = `${stack.name}.${logicalId}`;
    if (context.resolver.resolveString(stack, resource.Properties?.RestApiId, `${at}.RestApiId`) !== api) continue;
    const integration = resource.Properties?.Integration as
      | { Type?: unknown; IntegrationResponses?: ReadonlyArray<Record<string, unknown>> }
      | undefined;
    const responses = integration?.IntegrationResponses ?? [];
    const [response] = responses;
    if (integration?.Type !== 'MOCK' || responses.length !== 1 || !response || response.SelectionPattern) {
      throw new AssemblyError(`${at}: a secondary origin's methods must answer from a mock integration's one response`);
    }
    const template = (response.ResponseTemplates as Record<string, unknown> | undefined)?.['application/json'];
    if (template !== undefined && (typeof template !== 'string' || /[$#]/.test(template))) {
      throw new AssemblyError(`${at}: its response template is VTL, which the local edge does not evaluate`);
    }
    const headers: Record<string, string> = template === undefined ? {} : { 'content-type': 'application/json' };
    for (const [name, value] of Object.entries((response.ResponseParameters ?? {}) as Record<string, unknown>)) {
      const header = /^method\.response\.header\.(.+)$/.exec(name)?.[1];
      const literal = typeof value === 'string' ? /^'(.*)'$/.exec(value)?.[1] : undefined;
      if (!header || literal === undefined) {
        throw new AssemblyError(`${at}: ${name} maps ${JSON.stringify(value)}, not a literal header value`);
      }
      headers[header.toLowerCase()] = literal;
    }
    answer = { status: Number(response.StatusCode), headers, body: Buffer.from(template ?? '') };
    answers.add(JSON.stringify([answer.status, headers, template ?? '']));
  }
  if (!answer || answers.size !== 1) {
    throw new AssemblyError(`${stack.name}: REST API ${api} must answer every request alike to be a secondary origin`);
  }
  return answer;
}

export function assemblyEdge(
  assembly: CloudAssembly,
  kvs: KeyValueStoreReader | undefined,
  context?: EdgeContext,
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
          const associated = readsStore(stack, functionId, context);
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
      const failover = failoverOf(stack, config ?? {}, behavior, context, at);
      associations.push({
        pathPattern: String(behavior.PathPattern),
        fn,
        ...(failover ? { failover } : {}),
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
