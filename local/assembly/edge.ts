/**
 * The assembly's CloudFront Functions, where its distributions run them: each cache behaviour in the
 * distribution's order (CloudFront takes the first whose path pattern matches), with the viewer-request
 * function associated with it, if any, built from the template's own `FunctionCode` and reading the
 * embedded KeyValueStore when the function is associated with one.
 */
import { CloudFrontFunction, type KeyValueStoreReader } from '../edge/cloudfront-function';
import type { EdgeFunctionAssociation } from '../event-sources/api-gateway';
import { AssemblyError, type CloudAssembly, resourcesOf } from './cloud-assembly';

interface CacheBehavior {
  readonly PathPattern?: unknown;
  readonly FunctionAssociations?: ReadonlyArray<{ readonly EventType?: unknown; readonly FunctionARN?: unknown }>;
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

export function assemblyEdge(assembly: CloudAssembly, kvs: KeyValueStoreReader | undefined): EdgeFunctionAssociation[] {
  const built = new Map<string, CloudFrontFunction>();
  const associations: EdgeFunctionAssociation[] = [];
  for (const { stack, logicalId, resource } of resourcesOf(assembly)) {
    if (resource.Type !== 'AWS::CloudFront::Distribution') continue;
    const config = resource.Properties?.DistributionConfig as { CacheBehaviors?: CacheBehavior[] } | undefined;
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
          const associated =
            ((properties.FunctionConfig as { KeyValueStoreAssociations?: unknown[] } | undefined)
              ?.KeyValueStoreAssociations?.length ?? 0) > 0;
          fn = CloudFrontFunction.fromSource(code, {
            name: `${stack.name}.${functionId}`,
            overrun: 'measure',
            ...(associated && kvs ? { kvs } : {}),
          });
          built.set(key, fn);
        }
      }
      associations.push({ pathPattern: String(behavior.PathPattern), fn });
    }
  }
  return associations;
}
