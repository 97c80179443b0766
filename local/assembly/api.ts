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
  type EdgeFunctionAssociation,
  type GatewayRoute,
  type ProxyHandler,
  type RunningGateway,
  startGateway,
} from '../event-sources/api-gateway';
import { AssemblyError, resourcesOf } from './cloud-assembly';
import type { LocalLambda } from './lambda-runtime';
import type { ProvisionedAssembly } from './provision';

export interface AssemblyApi {
  readonly routes: readonly GatewayRoute[];
  readonly handlers: ReadonlyMap<string, ProxyHandler>;
  /** What the template's API sets that the local gateway does not apply. */
  readonly notes: readonly string[];
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
    if (resource.Properties?.RequestValidatorId !== undefined) {
      notes.add(
        'request validators and models are not applied locally: the functions validate every request themselves',
      );
    }
  }
  for (const { resource } of resourcesOf(assembly)) {
    if (resource.Type === 'AWS::ApiGateway::GatewayResponse') {
      notes.add(
        "gateway responses are not read from the template: the local gateway's own answers follow the contract",
      );
    }
    if (resource.Type === 'AWS::ApiGateway::UsagePlan' || resource.Type === 'AWS::ApiGateway::Stage') {
      notes.add(
        "stage and usage-plan throttles are not applied: the local gateway's concurrency limit stands in for them",
      );
    }
  }
  if (routes.length === 0) throw new AssemblyError('the assembly has no REST API method integrated with a function');
  return { routes, handlers, notes: [...notes] };
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
