/**
 * Runs the assembly's functions as Lambda does: the bundled asset that
 * deploys (not the TypeScript source), with the template's
 * `Environment.Variables` resolved to the local resources plus the variables
 * Lambda itself defines ("Defined runtime environment variables", AWS Lambda
 * Developer Guide,
 * https://docs.aws.amazon.com/lambda/latest/dg/configuration-envvars-runtime.html),
 * its timeout and its reserved concurrency.
 *
 * Each function gets one execution environment of its own: a worker thread
 * with its own `process.env` and its own module instance (SDK clients,
 * Powertools singletons, warm state), apart from every other function's. One
 * environment serves the function's concurrent invocations (Lambda would
 * start one per concurrent request; on two cores, one per function is what
 * this machine can afford), so its HTTP agents keep to a small socket budget
 * (`SOCKETS_PER_ENVIRONMENT`). A timed-out invocation ends as on Lambda: the
 * caller gets `Task timed out after N seconds` and the environment is
 * replaced — the next invocation starts cold, the old one is stopped once the
 * invocations it still holds have ended or timed out.
 */
import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { AssemblyStack, TemplateResource } from './cloud-assembly';
import { AssemblyError, resourcesOf } from './cloud-assembly';
import type { ProvisionedAssembly } from './provision';

export interface FunctionConfig {
  readonly stack: string;
  readonly logicalId: string;
  /** The physical name: the template's FunctionName or CloudFormation's generated one. */
  readonly name: string;
  readonly arn: string;
  /** The bundled module's file, and the export the template's Handler names. */
  readonly entry: string;
  readonly handlerName: string;
  readonly timeoutSeconds: number;
  readonly memoryMb: number;
  readonly reservedConcurrency: number | undefined;
  /** Template variables resolved, then Lambda's own. */
  readonly environment: Readonly<Record<string, string>>;
}

/** Lambda's defaults when the template leaves them out ("CreateFunction", AWS Lambda API Reference). */
const DEFAULT_TIMEOUT_SECONDS = 3;
const DEFAULT_MEMORY_MB = 128;

/**
 * The functions of the assembly whose code is a bundled asset, configured from their templates.
 * `localEnvironment` adds what reaches the emulators (credentials, `AWS_ENDPOINT_URL_*`).
 */
export function functionConfigs(
  provisioned: ProvisionedAssembly,
  localEnvironment: Readonly<Record<string, string>>,
): FunctionConfig[] {
  const { assembly, resolver, values } = provisioned;
  return resourcesOf(assembly)
    .flatMap(({ stack, logicalId, resource }) => {
      // Only Node.js functions run locally; the others are custom resources' providers (the edge's page
      // upload runs on Python), whose resource types the coverage table leaves out with a reason.
      if (resource.Type !== 'AWS::Lambda::Function' || !String(resource.Properties?.Runtime).startsWith('nodejs')) {
        return [];
      }
      const asset = assetDirOf(assembly.dir, resource);
      return asset ? [{ stack, logicalId, resource, assetDir: asset }] : [];
    })
    .map(({ stack, logicalId, resource, assetDir }) => {
      const properties = resource.Properties ?? {};
      const created = values.get(`${stack.name}/${logicalId}`);
      if (!created) throw new AssemblyError(`${stack.name}.${logicalId} was not provisioned`);
      const [moduleName, handlerName] = splitHandler(stack, logicalId, properties.Handler);
      const variables = resolver.resolve(
        stack,
        (properties.Environment as { Variables?: unknown } | undefined)?.Variables ?? {},
        `${stack.name}.${logicalId}.Environment.Variables`,
      ) as Record<string, unknown>;
      const memoryMb = Number(properties.MemorySize ?? DEFAULT_MEMORY_MB);
      const name = created.ref;
      return {
        stack: stack.name,
        logicalId,
        name,
        arn: created.attributes.Arn as string,
        entry: entryOf(assetDir, moduleName, stack, logicalId),
        handlerName,
        timeoutSeconds: Number(properties.Timeout ?? DEFAULT_TIMEOUT_SECONDS),
        memoryMb,
        reservedConcurrency:
          properties.ReservedConcurrentExecutions === undefined
            ? undefined
            : Number(properties.ReservedConcurrentExecutions),
        environment: {
          ...Object.fromEntries(Object.entries(variables).map(([key, value]) => [key, String(value)])),
          ...localEnvironment,
          ...lambdaDefinedVariables(stack, name, memoryMb, assetDir, `${moduleName}.${handlerName}`, properties),
        },
      };
    });
}

/**
 * The function's bundled code in the assembly: the asset its metadata names (`cdk synth` writes it),
 * else the one its S3 key names (the asset's hash). Inline code (custom resources) has none.
 */
function assetDirOf(dir: string, resource: TemplateResource): string | undefined {
  const named = resource.Metadata?.['aws:asset:path'];
  if (typeof named === 'string') return join(dir, named);
  const key = (resource.Properties?.Code as { S3Key?: unknown } | undefined)?.S3Key;
  const hash = typeof key === 'string' ? /^([0-9a-f]{64})\.zip$/.exec(key)?.[1] : undefined;
  return hash && existsSync(join(dir, `asset.${hash}`)) ? join(dir, `asset.${hash}`) : undefined;
}

function splitHandler(stack: AssemblyStack, logicalId: string, handler: unknown): [string, string] {
  const match = /^(.+)\.([^.]+)$/.exec(String(handler ?? ''));
  if (!match) throw new AssemblyError(`${stack.name}.${logicalId}: Handler ${String(handler)} is not module.export`);
  return [match[1] as string, match[2] as string];
}

function entryOf(assetDir: string, moduleName: string, stack: AssemblyStack, logicalId: string): string {
  for (const extension of ['.mjs', '.js', '.cjs']) {
    const file = join(assetDir, `${moduleName}${extension}`);
    if (existsSync(file)) return file;
  }
  throw new AssemblyError(
    `${stack.name}.${logicalId}: ${assetDir} has no ${moduleName}.mjs/.js (was the assembly synthesized with bundling?)`,
  );
}

function lambdaDefinedVariables(
  stack: AssemblyStack,
  name: string,
  memoryMb: number,
  taskRoot: string,
  handler: string,
  properties: Readonly<Record<string, unknown>>,
): Record<string, string> {
  const runtime = String(properties.Runtime ?? 'nodejs24.x');
  return {
    _HANDLER: handler,
    AWS_REGION: stack.region,
    AWS_DEFAULT_REGION: stack.region,
    AWS_EXECUTION_ENV: `AWS_Lambda_${runtime}`,
    AWS_LAMBDA_FUNCTION_NAME: name,
    AWS_LAMBDA_FUNCTION_MEMORY_SIZE: String(memoryMb),
    AWS_LAMBDA_FUNCTION_VERSION: '$LATEST',
    AWS_LAMBDA_INITIALIZATION_TYPE: 'on-demand',
    AWS_LAMBDA_LOG_GROUP_NAME: `/aws/lambda/${name}`,
    AWS_LAMBDA_LOG_STREAM_NAME: `local/[$LATEST]${randomUUID().replaceAll('-', '')}`,
    LAMBDA_TASK_ROOT: taskRoot,
    TZ: ':UTC',
    // Where Lambda's X-Ray daemon listens; locally nothing does, and every invocation's trace header says
    // "not sampled" (lambda-host.mjs), so nothing is sent.
    AWS_XRAY_DAEMON_ADDRESS: '127.0.0.1:2000',
    AWS_XRAY_CONTEXT_MISSING: 'LOG_ERROR',
  };
}

/** The function's code threw (or its module failed to load): Lambda's `Unhandled` error, with its type and message. */
export class FunctionError extends Error {
  constructor(
    readonly functionName: string,
    readonly errorType: string,
    message: string,
    readonly phase: 'init' | 'invoke' = 'invoke',
  ) {
    super(message);
    this.name = 'FunctionError';
  }
}

/** The invocation ran past the function's timeout. */
export class FunctionTimeoutError extends FunctionError {
  constructor(functionName: string, timeoutSeconds: number) {
    super(functionName, 'Sandbox.Timedout', `Task timed out after ${timeoutSeconds.toFixed(2)} seconds`);
  }
}

/** Lambda's `TooManyRequestsException`: the function's reserved concurrency is in use. */
export class TooManyRequestsError extends Error {
  constructor(readonly functionName: string) {
    super(`Rate Exceeded: ${functionName} is at its reserved concurrency`);
    this.name = 'TooManyRequestsException';
  }
}

/** Where the SDK the Lambda runtime would provide is resolved from: this project's own install. */
const RUNTIME_MODULES = new URL('../../package.json', import.meta.url).href;

interface Pending {
  resolve(value: unknown): void;
  reject(error: Error): void;
  timer: NodeJS.Timeout;
}

/**
 * Lambda's limit on an on-demand environment's init phase ("Lambda execution environment lifecycle",
 * AWS Lambda Developer Guide, https://docs.aws.amazon.com/lambda/latest/dg/lambda-runtime-environment.html).
 */
const INIT_TIMEOUT_MS = 10_000;

/**
 * Sockets one environment's plain-HTTP agents may open, each (`lambda-host.mjs`). On Lambda an environment
 * serves one invocation at a time; here one serves all its function's, and DynamoDB Local thrashes past a
 * few dozen connections. Measured on two cores, the default rehearsal on the assembly: unbounded (the SDK's
 * 50 per client) made 140–180 connections and sold 191–199 of 300 units; 8 made about 60 and sold 256.
 */
export const SOCKETS_PER_ENVIRONMENT = 8;

/**
 * Where a function's log lines go: the terminal (`serve`), nowhere, or appended to a stream (a
 * rehearsal's log file, where its progress line owns the terminal), as CloudWatch Logs keeps them.
 */
export type FunctionLogs = 'inherit' | 'discard' | { readonly to: NodeJS.WritableStream };

class Environment {
  readonly worker: Worker;
  readonly pending = new Map<string, Pending>();
  /** Settles when init is over: rejects with the init error (or an init timeout) as a FunctionError. */
  readonly ready: Promise<void>;
  retiring = false;

  constructor(
    readonly config: FunctionConfig,
    logs: FunctionLogs,
  ) {
    const host = new URL('./lambda-host.mjs', import.meta.url);
    this.worker = new Worker(host, {
      env: { ...config.environment },
      stdout: logs !== 'inherit',
      stderr: logs !== 'inherit',
      workerData: {
        entry: pathToFileURL(config.entry).href,
        handlerName: config.handlerName,
        runtimeModules: RUNTIME_MODULES,
        maxSockets: SOCKETS_PER_ENVIRONMENT,
        context: {
          functionName: config.name,
          functionVersion: '$LATEST',
          invokedFunctionArn: config.arn,
          memoryLimitInMB: String(config.memoryMb),
          logGroupName: `/aws/lambda/${config.name}`,
          logStreamName: config.environment.AWS_LAMBDA_LOG_STREAM_NAME,
        },
      },
    });
    if (logs === 'discard') {
      this.worker.stdout.resume();
      this.worker.stderr.resume();
    } else if (logs !== 'inherit') {
      // Written, not piped: a stream piped from every environment would gather a listener per pipe.
      const write = (chunk: Buffer) => logs.to.write(chunk);
      this.worker.stdout.on('data', write);
      this.worker.stderr.on('data', write);
    }
    let initDone: (error?: Error) => void = () => undefined;
    this.ready = new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () => initDone(new FunctionError(config.name, 'Runtime.InitTimeout', 'Init phase timed out', 'init')),
        INIT_TIMEOUT_MS,
      );
      initDone = (error) => {
        clearTimeout(timer);
        initDone = () => undefined;
        if (error) reject(error);
        else resolve();
      };
    });
    // Awaited by every invocation; a failed init must not also surface as an unhandled rejection.
    this.ready.catch(() => undefined);
    this.worker.on(
      'message',
      (message: {
        id?: string;
        ready?: boolean;
        initError?: SerializedError;
        result?: unknown;
        error?: SerializedError;
      }) => {
        if (message.ready) {
          const failed = message.initError;
          initDone(failed ? new FunctionError(config.name, failed.errorType, failed.errorMessage, 'init') : undefined);
          return;
        }
        if (!message.id) return;
        const pending = this.pending.get(message.id);
        if (!pending) return;
        this.settle(message.id);
        if (message.error) {
          const { errorType, errorMessage } = message.error;
          pending.reject(new FunctionError(config.name, errorType, errorMessage));
        } else pending.resolve(message.result);
      },
    );
    const died = (reason: string) => {
      const error = new FunctionError(config.name, 'Runtime.ExitError', reason);
      initDone(error);
      this.failAll(error);
    };
    this.worker.on('error', (error) => died(error.message));
    // Stopped (or crashed) with invocations in flight: they end as Lambda ends them when the environment dies.
    this.worker.on('exit', (code) => died(`the execution environment exited (${code})`));
    this.worker.unref();
  }

  get inFlight(): number {
    return this.pending.size;
  }

  /** Runs one invocation once init is over; its timeout counts from then, as on Lambda. */
  async invoke(event: unknown, onTimeout: () => void): Promise<unknown> {
    await this.ready;
    const id = randomUUID();
    const timeoutMs = this.config.timeoutSeconds * 1000;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.settle(id);
        reject(new FunctionTimeoutError(this.config.name, this.config.timeoutSeconds));
        onTimeout();
      }, timeoutMs);
      this.pending.set(id, { resolve, reject, timer });
      this.worker.postMessage({ id, event, requestId: id, deadline: Date.now() + timeoutMs });
    });
  }

  /** No new invocations; stopped once the ones it holds have ended. */
  retire(): void {
    this.retiring = true;
    if (this.inFlight === 0) void this.worker.terminate();
  }

  private settle(id: string): void {
    const pending = this.pending.get(id);
    if (pending) clearTimeout(pending.timer);
    this.pending.delete(id);
    if (this.retiring && this.inFlight === 0) void this.worker.terminate();
  }

  private failAll(error: Error): void {
    this.retiring = true;
    for (const [id, pending] of this.pending) {
      this.settle(id);
      pending.reject(error);
    }
  }
}

interface SerializedError {
  readonly errorType: string;
  readonly errorMessage: string;
  readonly phase?: string;
}

/** One function of the assembly, invoked as Lambda would invoke it. */
export class LocalFunction {
  private environment: Environment | undefined;
  /** Every environment not yet stopped: the current one and those retired with invocations in flight. */
  private readonly environments = new Set<Environment>();
  private inFlight = 0;
  private stopped = false;

  constructor(
    readonly config: FunctionConfig,
    private readonly logs: FunctionLogs = 'inherit',
  ) {}

  /** Starts the execution environment now (the module's init runs), instead of on the first invocation. */
  warm(): void {
    this.current();
  }

  async invoke(event: unknown): Promise<unknown> {
    if (this.stopped) throw new FunctionError(this.config.name, 'Runtime.Stopped', 'the local runtime is stopping');
    const { reservedConcurrency } = this.config;
    if (reservedConcurrency !== undefined && this.inFlight >= reservedConcurrency) {
      throw new TooManyRequestsError(this.config.name);
    }
    this.inFlight++;
    const environment = this.current();
    const end = () => {
      if (this.environment === environment) this.environment = undefined;
      environment.retire();
    };
    try {
      return await environment.invoke(event, end);
    } catch (error) {
      if (error instanceof FunctionError) this.logFailure(error);
      // As on Lambda, a failed init or a timeout ends the environment: the next invocation starts a fresh one.
      if (error instanceof FunctionError && (error.phase === 'init' || error instanceof FunctionTimeoutError)) end();
      throw error;
    } finally {
      this.inFlight--;
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.environment = undefined;
    const all = [...this.environments];
    this.environments.clear();
    await Promise.all(all.map((environment) => environment.worker.terminate()));
  }

  /**
   * What Lambda writes to the function's log stream when an invocation fails: the timeout line, or the
   * runtime's error record (type and message), so a failure the caller sees as a 502 is explained there.
   */
  private logFailure(error: FunctionError): void {
    const sink = this.logs === 'inherit' ? process.stderr : this.logs === 'discard' ? undefined : this.logs.to;
    const line =
      error instanceof FunctionTimeoutError
        ? `${new Date().toISOString()} ${this.config.name} ${error.message}`
        : JSON.stringify({
            timestamp: new Date().toISOString(),
            level: 'ERROR',
            function: this.config.name,
            phase: error.phase,
            errorType: error.errorType,
            errorMessage: error.message,
          });
    sink?.write(`${line}\n`);
  }

  private current(): Environment {
    if (!this.environment || this.environment.retiring) {
      const environment = new Environment(this.config, this.logs);
      this.environments.add(environment);
      environment.worker.once('exit', () => this.environments.delete(environment));
      this.environment = environment;
    }
    return this.environment;
  }
}

/** The assembly's functions by physical name and by `stack/logicalId`. */
export class LocalLambda {
  private readonly byName = new Map<string, LocalFunction>();
  private readonly byLogicalId = new Map<string, LocalFunction>();

  constructor(configs: readonly FunctionConfig[], options: { readonly logs?: FunctionLogs } = {}) {
    for (const config of configs) {
      const fn = new LocalFunction(config, options.logs);
      this.byName.set(config.name, fn);
      this.byLogicalId.set(`${config.stack}/${config.logicalId}`, fn);
    }
  }

  /** By physical name, ARN (qualified or not) or `stack/logicalId`. */
  function(reference: string): LocalFunction {
    const name = reference.startsWith('arn:') ? (reference.split(':')[6] as string) : reference;
    const fn = this.byName.get(name) ?? this.byLogicalId.get(reference);
    if (!fn) throw new AssemblyError(`no local function ${reference}`);
    return fn;
  }

  get functions(): LocalFunction[] {
    return [...this.byName.values()];
  }

  async stop(): Promise<void> {
    await Promise.all(this.functions.map((fn) => fn.stop()));
  }
}
