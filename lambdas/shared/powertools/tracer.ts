/**
 * In-function tracing, as the stack configures it (`DROPLINE_TRACING`, from `-c tracing=`):
 *
 * - `service` (the default, and when unset): no X-Ray SDK in the function. Lambda's active tracing still
 *   records each sampled invocation (its initialization, invocation and overhead), and API Gateway's
 *   tracing the request in front of it; logs carry the trace id.
 * - `sdk`: Powertools Tracer and the X-Ray SDK it wraps, loaded at init: a subsegment for every AWS call
 *   and the handler, cold starts annotated. The SDK keeps its context with `cls-hooked`, an `async_hooks`
 *   hook with a destroy callback on every promise, enabled on load whether or not the request is sampled
 *   (aws-xray-sdk-node issue 420): every invocation pays for it (docs/benchmarks.md, "Tracing").
 *
 * The SDK is imported only when asked for: the bundle keeps it, uninitialised (esbuild wraps a
 * dynamically imported module in a lazy initialiser), so `service` never starts its hook. Nothing else may
 * import `@aws-lambda-powertools/tracer` or `aws-xray-sdk-core`, or the hook starts with the bundle.
 */
import type middy from '@middy/core';
import { envVars, parseTracingMode } from '../../../contract/env-vars';
import { serviceName } from './service-name';

const mode = parseTracingMode(process.env[envVars.tracing]);

const sdk =
  mode === 'sdk'
    ? await Promise.all([import('@aws-lambda-powertools/tracer'), import('@aws-lambda-powertools/tracer/middleware')])
    : undefined;
const tracer = sdk ? new sdk[0].Tracer({ serviceName }) : undefined;

/** The handler's subsegment (with the SDK), first in every function's middy stack; none without it. */
export const tracing: middy.MiddlewareObj[] =
  sdk && tracer ? [sdk[1].captureLambdaHandler(tracer) as middy.MiddlewareObj] : [];

/** An AWS SDK client whose calls are subsegments (with the SDK), or the client as it is. */
export function traced<Client>(client: Client): Client {
  return tracer ? tracer.captureAWSv3Client(client) : client;
}
