/**
 * What the X-Ray SDK (`-c tracing=sdk`, docs/deploy.md) costs an invocation: the reservation handler
 * bundled as it deploys (`bundles.ts` builds it), invoked directly in a fresh Node process the way Lambda
 * invokes it — one invocation at a time, Lambda's variables set, a trace header per invocation that says
 * "not sampled" (most of a spike's requests are not) — against the benchmark's DynamoDB Local. Each
 * process warms up, then times `invocations` reservations: the CPU its main thread spent (the GC's helper
 * threads left out) and the rate. The
 * modes alternate process by process, round by round; ratios are medians of the rounds'.
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { envVars, type TracingMode } from '../contract/env-vars';
import { median } from './load';

const bundlesDir = join(import.meta.dirname, '..', '.dropline', 'bench', 'bundles');
const WARM_UP_INVOCATIONS = 30;

/** The child: loads the bundle, warms it up, then times the invocations; prints one JSON line. */
const CHILD = `
import { randomBytes, randomUUID } from 'node:crypto';
const [url, sku, prefix, warmUp, timed] = process.argv.slice(1);
const { handler } = await import(url);
const invoke = async (index) => {
  process.env._X_AMZN_TRACE_ID = 'Root=1-' + Math.floor(Date.now() / 1000).toString(16) + '-' +
    randomBytes(12).toString('hex') + ';Parent=' + randomBytes(8).toString('hex') + ';Sampled=0';
  const customerId = prefix + '-' + index;
  const event = {
    resource: '/products/{sku}/reservations', path: '/products/' + sku + '/reservations', httpMethod: 'POST',
    headers: { 'content-type': 'application/json', 'idempotency-key': customerId },
    multiValueHeaders: { 'content-type': ['application/json'], 'idempotency-key': [customerId] },
    queryStringParameters: null, multiValueQueryStringParameters: null, pathParameters: { sku },
    stageVariables: null, isBase64Encoded: false, body: JSON.stringify({ customerId, quantity: 1 }),
    requestContext: { requestId: randomUUID(), stage: 'live', httpMethod: 'POST', resourcePath: '/products/{sku}/reservations' },
  };
  const context = {
    functionName: process.env.AWS_LAMBDA_FUNCTION_NAME, functionVersion: '$LATEST', memoryLimitInMB: '1024',
    invokedFunctionArn: 'arn:aws:lambda:us-east-1:000000000000:function:' + process.env.AWS_LAMBDA_FUNCTION_NAME,
    awsRequestId: randomUUID(), logGroupName: 'bench', logStreamName: 'bench', callbackWaitsForEmptyEventLoop: true,
    getRemainingTimeInMillis: () => 10000, done() {}, fail() {}, succeed() {},
  };
  const result = await handler(event, context);
  if (result.statusCode !== 201) throw new Error('reservation answered ' + result.statusCode + ': ' + result.body);
};
for (let index = 0; index < Number(warmUp); index++) await invoke('warm-' + index);
const cpu = process.threadCpuUsage();
const started = performance.now();
for (let index = 0; index < Number(timed); index++) await invoke(index);
const spent = process.threadCpuUsage(cpu);
const seconds = (performance.now() - started) / 1000;
console.log(JSON.stringify({ cpuMsPerInvocation: (spent.user + spent.system) / 1000 / Number(timed), rate: Number(timed) / seconds }));
`;

export interface TracingCostOptions {
  /** The bundle's name in `.dropline/bench/bundles` (built by `bundleHandlers`). */
  readonly bundle: string;
  /** Where the handler's calls go: its table and DynamoDB endpoint, region, credentials. */
  readonly environment: Readonly<Record<string, string>>;
  /** A product with stock to spare. */
  readonly sku: string;
  readonly invocations: number;
  readonly rounds: number;
}

interface Sample {
  readonly cpuMsPerInvocation: number;
  readonly rate: number;
}

function sample(options: TracingCostOptions, mode: TracingMode, round: number): Sample {
  const url = pathToFileURL(join(bundlesDir, `${options.bundle}.mjs`)).href;
  const prefix = `tracing-${mode}-${round}-${Date.now().toString(36)}`;
  const result = spawnSync(
    process.execPath,
    [
      '--input-type=module',
      '-e',
      CHILD,
      url,
      options.sku,
      prefix,
      String(WARM_UP_INVOCATIONS),
      String(options.invocations),
    ],
    {
      encoding: 'utf8',
      env: {
        ...process.env,
        NODE_OPTIONS: '',
        ...options.environment,
        [envVars.tracing]: mode,
        // As the local runtime sets it: the emulator may stall past the deployed 2 s under the benchmark's load.
        [envVars.awsAttemptTimeoutMs]: '0',
        // What Lambda defines, so Powertools and the X-Ray SDK run in their Lambda modes (the SDK's needs
        // LAMBDA_TASK_ROOT: without it no invocation has a segment, and every traced call logs an error).
        AWS_EXECUTION_ENV: 'AWS_Lambda_nodejs24.x',
        LAMBDA_TASK_ROOT: bundlesDir,
        _HANDLER: `${options.bundle}.handler`,
        AWS_LAMBDA_FUNCTION_NAME: `bench-${options.bundle}`,
        AWS_LAMBDA_FUNCTION_MEMORY_SIZE: '1024',
        AWS_XRAY_DAEMON_ADDRESS: '127.0.0.1:2000',
        AWS_XRAY_CONTEXT_MISSING: 'LOG_ERROR',
        POWERTOOLS_LOG_LEVEL: 'WARN',
        POWERTOOLS_METRICS_DISABLED: 'true',
      },
    },
  );
  // In its Lambda mode the SDK has a segment for every call and logs nothing; a log per invocation would be
  // timed as if it were the SDK's cost.
  if (result.stderr.split('\n').length > WARM_UP_INVOCATIONS) {
    throw new Error(
      `the ${mode} tracing sample logged ${result.stderr.split('\n').length} lines: ${result.stderr.slice(0, 2000)}`,
    );
  }
  const last = result.stdout.trim().split('\n').at(-1) ?? '';
  if (result.status !== 0 || !last.startsWith('{')) {
    throw new Error(`the ${mode} tracing sample failed (${result.status}): ${result.stderr.slice(-2000)}`);
  }
  return JSON.parse(last) as Sample;
}

export function tracingCost(options: TracingCostOptions) {
  const samples: Record<TracingMode, Sample[]> = { service: [], sdk: [] };
  for (let round = 0; round < options.rounds; round++) {
    const order: readonly TracingMode[] = round % 2 === 0 ? ['service', 'sdk'] : ['sdk', 'service'];
    for (const mode of order) samples[mode].push(sample(options, mode, round));
  }
  const ratio = (figure: (one: Sample) => number) =>
    median(samples.sdk.map((sdk, round) => figure(sdk) / figure(samples.service[round] as Sample)));
  return {
    invocations: options.invocations,
    cpuRatio: ratio((one) => one.cpuMsPerInvocation),
    throughputRatio: ratio((one) => one.rate),
    serviceCpuMsPerOp: median(samples.service.map((one) => one.cpuMsPerInvocation)),
    sdkCpuMsPerOp: median(samples.sdk.map((one) => one.cpuMsPerInvocation)),
    serviceRps: median(samples.service.map((one) => one.rate)),
    sdkRps: median(samples.sdk.map((one) => one.rate)),
  };
}
