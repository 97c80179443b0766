/**
 * The assembly's REST API, served by the local gateway: every method its
 * template declares, at the path its resources build, with its API-key
 * requirement, integrated (`AWS_PROXY`) with the function or alias its URI
 * names. What the template sets that the local gateway does not apply is
 * reported by `notes`.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { APIGatewayProxyResult } from 'aws-lambda';
import {
  type ApiRules,
  type EdgeFunctionAssociation,
  type GatewayResponseSpec,
  type GatewayRoute,
  type ProxyHandler,
  type RequestRules,
  type RunningGateway,
  startGateway,
  type Throttle,
} from '../event-sources/api-gateway';
import { compileDraft04, UnsupportedSchemaError } from '../event-sources/json-schema';
import { AssemblyError, resourcesOf } from './cloud-assembly';
import type { LocalLambda } from './lambda-runtime';
import type { ProvisionedAssembly } from './provision';

export interface AssemblyApi {
  readonly routes: readonly GatewayRoute[];
  readonly handlers: ReadonlyMap<string, ProxyHandler>;
  /** What the template's API sets that the local gateway does not apply. */
  readonly notes: readonly string[];
  /** Its gateway responses, request validators with their models, and throttles, as the gateway applies them. */
  readonly rules: ApiRules;
}

const INTEGRATION_URI = /:lambda:path\/2015-03-31\/functions\/(.+)\/invocations$/;

/** The routes of every REST API in the assembly whose methods invoke functions (the edge's static fallback has none). */
export function assemblyApi(provisioned: ProvisionedAssembly, lambda: LocalLambda): AssemblyApi {
  const { assembly, resolver, values } = provisioned;
  const resources = new Map<string, { pathPart: string; parentId: string }>();
  const roots = new Set<string>();
  for (const { stack, logicalId, resource } of resourcesOf(assembly)) {
    const created = values.get(`${stack.name}/${logicalId}`);
    if (resource.Type === 'AWS::ApiGateway::RestApi' && created) roots.add(created.attributes.RootResourceId as string);
    if (resource.Type === 'AWS::ApiGateway::Resource' && created) {
      const at = `${stack.name}.${logicalId}`;
      resources.set(created.ref, {
        pathPart: resolver.resolveString(stack, resource.Properties?.PathPart, `${at}.PathPart`),
        parentId: resolver.resolveString(stack, resource.Properties?.ParentId, `${at}.ParentId`),
      });
    }
  }
  const pathOf = (id: string, at: string): string => {
    if (roots.has(id)) return '';
    const resource = resources.get(id);
    if (!resource) throw new AssemblyError(`${at}: resource ${id} is not in the assembly's API`);
    return `${pathOf(resource.parentId, at)}/${resource.pathPart}`;
  };

  const routes: GatewayRoute[] = [];
  const handlers = new Map<string, ProxyHandler>();
  const requests = new Map<string, RequestRules>();
  const notes = new Set<string>();
  for (const { stack, logicalId, resource } of resourcesOf(assembly)) {
    if (resource.Type !== 'AWS::ApiGateway::Method') continue;
    const at = `${stack.name}.${logicalId}`;
    const integration = resource.Properties?.Integration as { Type?: string; Uri?: unknown } | undefined;
    if (integration?.Type !== 'AWS_PROXY') continue;
    const uri = resolver.resolveString(stack, integration.Uri, `${at}.Integration.Uri`);
    const target = INTEGRATION_URI.exec(uri)?.[1];
    if (!target) throw new AssemblyError(`${at}: integration URI ${uri} does not name a function`);
    const fn = lambda.function(target);
    const path = pathOf(resolver.resolveString(stack, resource.Properties?.ResourceId, `${at}.ResourceId`), at) || '/';
    routes.push({
      method: String(resource.Properties?.HttpMethod),
      path,
      handler: target,
      access: resource.Properties?.ApiKeyRequired === true ? 'admin' : 'shopper',
    });
    handlers.set(target, async (event) => (await fn.invoke(event)) as APIGatewayProxyResult);
    const checks = requestRules(provisioned, stack, resource.Properties ?? {}, at);
    if (checks) requests.set(`${String(resource.Properties?.HttpMethod)} ${path}`, checks);
  }
  if (routes.length === 0) throw new AssemblyError('the assembly has no REST API method integrated with a function');
  notes.add(
    "API Gateway's account-level throttle (10,000 requests/s by default) is not applied: the stage's and the usage plan's are",
  );
  return {
    routes,
    handlers,
    notes: [...notes],
    rules: { responses: gatewayResponses(provisioned), requests, throttles: throttles(provisioned, routes) },
  };
}

/** What a method's request validator checks: its required parameters, and its JSON model when bodies are validated. */
function requestRules(
  provisioned: ProvisionedAssembly,
  stack: Parameters<ProvisionedAssembly['resolver']['resolve']>[0],
  properties: Record<string, unknown>,
  at: string,
): RequestRules | undefined {
  if (properties.RequestValidatorId === undefined) return undefined;
  const validator = referenced(
    provisioned,
    stack,
    properties.RequestValidatorId,
    'AWS::ApiGateway::RequestValidator',
    at,
  ).resource.Properties;
  if (!validator) throw new AssemblyError(`${at}: its request validator has no properties`);
  const parameters = (properties.RequestParameters ?? {}) as Record<string, unknown>;
  const required = (kind: string) =>
    validator.ValidateRequestParameters === true
      ? Object.entries(parameters)
          .filter(([name, isRequired]) => name.startsWith(`method.request.${kind}.`) && isRequired === true)
          .map(([name]) => name.slice(`method.request.${kind}.`.length))
      : [];
  let body: RequestRules['body'];
  const modelRef = (properties.RequestModels as Record<string, unknown> | undefined)?.['application/json'];
  if (validator.ValidateRequestBody === true && modelRef !== undefined) {
    const model = referenced(provisioned, stack, modelRef, 'AWS::ApiGateway::Model', `${at}.RequestModels`);
    try {
      body = compileDraft04(model.resource.Properties?.Schema, `${model.stack.name}.${model.logicalId}.Schema`);
    } catch (error) {
      if (error instanceof UnsupportedSchemaError) throw new AssemblyError(error.message);
      throw error;
    }
  }
  return { headers: required('header'), query: required('querystring'), body };
}

/**
 * The resource a `{"Ref": logicalId}` names in the same template: validators and models are read from
 * the template, not created (the local gateway applies them itself).
 */
function referenced(
  provisioned: ProvisionedAssembly,
  stack: Parameters<ProvisionedAssembly['resolver']['resolve']>[0],
  value: unknown,
  type: string,
  at: string,
) {
  const logicalId = (value as { Ref?: unknown } | undefined)?.Ref;
  const found = resourcesOf(provisioned.assembly).find(
    (candidate) => candidate.stack.name === stack.name && candidate.logicalId === logicalId,
  );
  if (typeof logicalId !== 'string' || found?.resource.Type !== type) {
    throw new AssemblyError(`${at}: expected a Ref to an ${type} of the same template, got ${JSON.stringify(value)}`);
  }
  return found;
}

/** A method setting's resource path: `/` then the path with `/` as `~1` and `~` as `~0` (JSON Pointer escaping). */
const unescapePath = (resourcePath: string) => resourcePath.slice(1).replaceAll('~1', '/').replaceAll('~0', '~');

/** The REST API's gateway responses by type: status, static headers (`'value'`) and the JSON template. */
function gatewayResponses(provisioned: ProvisionedAssembly): Map<string, GatewayResponseSpec> {
  const responses = new Map<string, GatewayResponseSpec>();
  for (const { stack, logicalId, resource } of resourcesOf(provisioned.assembly)) {
    if (resource.Type !== 'AWS::ApiGateway::GatewayResponse') continue;
    const at = `${stack.name}.${logicalId}`;
    const properties = resource.Properties ?? {};
    const headers: Record<string, string> = {};
    for (const [name, value] of Object.entries((properties.ResponseParameters ?? {}) as Record<string, unknown>)) {
      const header = /^gatewayresponse\.header\.(.+)$/.exec(name)?.[1];
      const literal = /^'(.*)'$/.exec(
        provisioned.resolver.resolveString(stack, value, `${at}.ResponseParameters`),
      )?.[1];
      if (!header || literal === undefined) {
        throw new AssemblyError(`${at}: only static header values ('…') are supported, not ${name}`);
      }
      headers[header.toLowerCase()] = literal;
    }
    const templates = (properties.ResponseTemplates ?? {}) as Record<string, unknown>;
    responses.set(String(properties.ResponseType), {
      status: properties.StatusCode === undefined ? undefined : Number(properties.StatusCode),
      headers: { 'content-type': 'application/json', ...headers },
      template: typeof templates['application/json'] === 'string' ? templates['application/json'] : undefined,
    });
  }
  return responses;
}

/**
 * The stage's method throttles, each method its own bucket ("How throttling limit settings are applied in
 * API Gateway", https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-request-throttling.html):
 * a method's own setting, its missing half from the stage's `*` `/*` default; and the usage plan's throttle
 * for API-key methods.
 */
function throttles(provisioned: ProvisionedAssembly, routes: readonly GatewayRoute[]): ApiRules['throttles'] {
  const methods = new Map<string, Throttle>();
  let apiKey: Throttle | undefined;
  for (const { stack, resource } of resourcesOf(provisioned.assembly)) {
    if (resource.Type === 'AWS::ApiGateway::Stage') {
      const settings = (resource.Properties?.MethodSettings ?? []) as Array<Record<string, unknown>>;
      const isDefault = (setting: Record<string, unknown>) =>
        setting.HttpMethod === '*' && setting.ResourcePath === '/*';
      const fallback = settings.find(isDefault);
      for (const route of routes) {
        const own = settings.find(
          (setting) =>
            !isDefault(setting) &&
            setting.HttpMethod === route.method &&
            unescapePath(String(setting.ResourcePath)) === route.path,
        );
        const rate = Number(own?.ThrottlingRateLimit ?? fallback?.ThrottlingRateLimit);
        const burst = Number(own?.ThrottlingBurstLimit ?? fallback?.ThrottlingBurstLimit);
        if (Number.isFinite(rate) && Number.isFinite(burst))
          methods.set(`${route.method} ${route.path}`, { rate, burst });
      }
    }
    if (resource.Type === 'AWS::ApiGateway::UsagePlan') {
      const throttle = provisioned.resolver.resolve(
        stack,
        resource.Properties?.Throttle ?? {},
        'UsagePlan.Throttle',
      ) as {
        RateLimit?: number;
        BurstLimit?: number;
      };
      if (throttle.RateLimit !== undefined && throttle.BurstLimit !== undefined) {
        apiKey = { rate: Number(throttle.RateLimit), burst: Number(throttle.BurstLimit) };
      }
    }
  }
  return { methods, apiKey };
}

/** Serves the assembly's API on the local gateway. */
export async function startAssemblyGateway(
  api: AssemblyApi,
  options: {
    readonly adminKey: string;
    readonly port?: number;
    readonly host?: string;
    readonly maxConcurrency?: number;
    readonly siteDir?: string | null;
    readonly edge?: readonly EdgeFunctionAssociation[];
  },
): Promise<RunningGateway> {
  return startGateway({
    routes: api.routes,
    handlers: api.handlers,
    adminKey: options.adminKey,
    ...(options.port === undefined ? {} : { port: options.port }),
    ...(options.host === undefined ? {} : { host: options.host }),
    ...(options.maxConcurrency === undefined ? {} : { maxConcurrency: options.maxConcurrency }),
    ...(options.siteDir === undefined ? {} : { siteDir: options.siteDir }),
    ...(options.edge === undefined ? {} : { edge: options.edge }),
    rules: api.rules,
    stage: 'live',
  });
}

/**
 * The drop page as the assembly deploys it: the source asset of its bucket deployment
 * (`Custom::CDKBucketDeployment`, whose `SourceObjectKeys` name the asset zips `cdk deploy` uploads),
 * which the assembly keeps unzipped as `asset.<hash>`. Undefined when the assembly deploys no page.
 */
export function assemblySite(provisioned: ProvisionedAssembly): string | undefined {
  const { assembly } = provisioned;
  for (const { resource } of resourcesOf(assembly)) {
    if (resource.Type !== 'Custom::CDKBucketDeployment') continue;
    const keys = resource.Properties?.SourceObjectKeys;
    for (const key of Array.isArray(keys) ? keys : []) {
      const hash = typeof key === 'string' ? /^([0-9a-f]{64})\.zip$/.exec(key)?.[1] : undefined;
      const dir = hash ? join(assembly.dir, `asset.${hash}`) : undefined;
      if (dir && existsSync(join(dir, 'index.html'))) return dir;
    }
  }
  return undefined;
}
