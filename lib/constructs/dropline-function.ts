import { fileURLToPath } from 'node:url';
import { Duration, RemovalPolicy, Tags, Validations } from 'aws-cdk-lib';
import { Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { Architecture, LoggingFormat, Runtime, Tracing } from 'aws-cdk-lib/aws-lambda';
import { NodejsFunction, OutputFormat } from 'aws-cdk-lib/aws-lambda-nodejs';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { Construct, IConstruct } from 'constructs';
import { envVars, parseTracingMode, type TracingMode } from '../../contract/env-vars';
import { handlerBundling } from '../config/bundling';

const handlersDir = fileURLToPath(new URL('../../lambdas/handlers/', import.meta.url));
const depsLockFilePath = fileURLToPath(new URL('../../package-lock.json', import.meta.url));
const outputFormat = { esm: OutputFormat.ESM, cjs: OutputFormat.CJS } as const;

/** Tag naming the handler a function runs (what the parity test matches on). */
export const FUNCTION_TAG = 'dropline:handler';

/** Context key where `buildDroplineApp` records the stage (the deploy `prefix`) before it builds a stack. */
export const STAGE_CONTEXT = 'dropline:stage';

/**
 * The stage a construct belongs to. Everything that names a metric, alarm, API
 * or dashboard starts from it, so two stages in one account never share one
 * (a staging rehearsal must not page production).
 */
export function stageOf(scope: IConstruct): string {
  const stage: unknown = scope.node.tryGetContext(STAGE_CONTEXT);
  if (typeof stage !== 'string' || stage.length === 0) {
    throw new Error(`${scope.node.path}: no stage in context ${STAGE_CONTEXT}; build stacks with buildDroplineApp`);
  }
  return stage;
}

/** Context key where `buildDroplineApp` records the functions' tracing mode (`-c tracing=`) before it builds a stack. */
export const TRACING_CONTEXT = 'dropline:tracing';

/** How a construct's functions trace themselves: `service` unless the app recorded another mode. */
export function tracingOf(scope: IConstruct): TracingMode {
  const mode: unknown = scope.node.tryGetContext(TRACING_CONTEXT);
  return parseTracingMode(typeof mode === 'string' ? mode : undefined);
}

/**
 * Where a stage's functions publish their Powertools metrics (EMF): the stage
 * is the namespace and the service, the dimension Powertools adds to each.
 */
export function powertoolsOf(scope: IConstruct): { readonly namespace: string; readonly service: string } {
  const stage = stageOf(scope);
  return { namespace: stage, service: stage };
}

export interface DroplineFunctionProps {
  /** File name (without `.ts`) in `lambdas/handlers`. */
  readonly handler: string;
  readonly description: string;
  /** @default 10 seconds */
  readonly timeout?: Duration;
  /** @default 1024 MB: more memory is more CPU, and the hot path is CPU-bound on JSON and crypto. */
  readonly memorySize?: number;
  readonly environment?: Readonly<Record<string, string>>;
  /**
   * Keep each published version when a deploy publishes the next (CloudFormation deletes a replaced
   * `AWS::Lambda::Version` otherwise, and Lambda refuses to delete a version an alias references:
   * "DeleteFunction", AWS Lambda API Reference, https://docs.aws.amazon.com/lambda/latest/api/API_DeleteFunction.html).
   * For functions whose alias may be pinned to an older version.
   */
  readonly retainVersions?: boolean;
  /** At most this many at once (`ReservedConcurrentExecutions`): 1 for a function that must never overlap itself. */
  readonly reservedConcurrency?: number;
}

/**
 * Every dropline function: Node.js 24 on arm64, bundled by esbuild as ESM
 * (middy 7 is ESM-only) with the AWS SDK left to the runtime, X-Ray active tracing (and the X-Ray SDK
 * inside with `-c tracing=sdk`: `lambdas/shared/powertools/tracer.ts`),
 * JSON logs into its own log group kept a month, and a role of its own that
 * starts with nothing but writing its logs.
 */
export class DroplineFunction extends NodejsFunction {
  constructor(scope: Construct, id: string, props: DroplineFunctionProps) {
    const logGroup = new LogGroup(scope, `${id}Logs`, {
      retention: RetentionDays.ONE_MONTH,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    const role = new Role(scope, `${id}Role`, {
      assumedBy: new ServicePrincipal('lambda.amazonaws.com'),
      description: `dropline ${props.handler}: least privilege, granted per resource`,
    });
    const powertools = powertoolsOf(scope);
    super(scope, id, {
      entry: `${handlersDir}${props.handler}.ts`,
      depsLockFilePath,
      description: props.description,
      runtime: Runtime.NODEJS_24_X,
      architecture: Architecture.ARM_64,
      memorySize: props.memorySize ?? 1024,
      timeout: props.timeout ?? Duration.seconds(10),
      tracing: Tracing.ACTIVE,
      ...(props.retainVersions ? { currentVersionOptions: { removalPolicy: RemovalPolicy.RETAIN } } : {}),
      ...(props.reservedConcurrency ? { reservedConcurrentExecutions: props.reservedConcurrency } : {}),
      role,
      logGroup,
      loggingFormat: LoggingFormat.JSON,
      environment: {
        [envVars.powertoolsServiceName]: powertools.service,
        [envVars.powertoolsMetricsNamespace]: powertools.namespace,
        [envVars.powertoolsLogLevel]: 'INFO',
        [envVars.tracing]: tracingOf(scope),
        NODE_OPTIONS: '--enable-source-maps',
        ...props.environment,
      },
      bundling: {
        format: outputFormat[handlerBundling.format],
        target: handlerBundling.target,
        minify: handlerBundling.minify,
        sourceMap: handlerBundling.sourceMap,
        mainFields: [...handlerBundling.mainFields],
        externalModules: [...handlerBundling.external],
        banner: handlerBundling.banner,
      },
    });
    logGroup.grantWrite(role);
    Tags.of(this).add(FUNCTION_TAG, props.handler);
    Validations.of(role).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason:
        'only actions without resource-level permissions take Resource *: xray:PutTraceSegments and xray:PutTelemetryRecords (active tracing) and, for the stream consumer, dynamodb:ListStreams (test/infra asserts this)',
    });
  }
}
