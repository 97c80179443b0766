/**
 * Starts the local stack for one test file on the run's emulators (its own
 * DynamoDB Local, the shared fauxqs), with DynamoDB traffic passing through a
 * request counter.
 *
 * By default that is the app's own synthesized cloud assembly, as `npm start`
 * and `dropline serve` run it: the bundled functions that deploy, the
 * templates' API, throttles, queues, mappings and schedules. `runtime:
 * 'hand-wired'` starts the in-process runtime instead, for the tests that
 * reach into it (its topology, its messaging) or compare it with the templates.
 */
import { randomBytes } from 'node:crypto';
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FunctionLogs } from '../../local/assembly/lambda-runtime';
import { ownAssembly } from '../../local/assembly/own-assembly';
import { type CreatedResource, type RunningAssembly, startAssemblyStack } from '../../local/assembly/run';
import type { AwsEndpoints } from '../../local/emulators/embedded-aws';
import { TEST_PROVIDER_CONTEXT, type TestIssuer } from '../../local/identity/test-issuer';
import { type RequestCounter, startRequestCounter } from '../../local/probes/request-counter';
import { type LocalStack, startLocalStack } from '../../local/stack';

/** Items the relay and the sweeper write whatever a request does: a claim that a request wrote nothing leaves them out. */
export { BACKGROUND_KEY_PREFIXES } from '../../contract/inventory-table';

/** What every runtime offers a test. */
export interface TestStack {
  readonly url: string;
  readonly adminKey: string;
  /** The inventory table's physical name. */
  readonly tableName: string;
  readonly endpoints: AwsEndpoints;
  readonly identity: TestIssuer | undefined;
  readonly dynamodbRequests: RequestCounter;
  /** Runs every schedule's target once now and waits for it. */
  runSchedules(): Promise<void>;
  stop(): Promise<void>;
}

/** The app's assembly, with the resources it created. */
export interface AssemblyTestStack extends TestStack {
  resources: RunningAssembly['resources'];
  /**
   * Invokes one of the assembly's functions once, as Lambda does (in the function's own execution
   * environment, beside what its schedule or mappings have in flight), and answers its result. The
   * function is named by its logical ID without the hash CDK appends, e.g. `ExpireHolds`.
   */
  invoke(functionId: string, event?: unknown): Promise<unknown>;
  /** The variables one of the assembly's functions runs with, named as `invoke` names it. */
  environment(functionId: string): Readonly<Record<string, string>>;
  /** What each mapping delivered and how often each schedule ran, by `<stack>.<logical id>`. */
  traffic: RunningAssembly['traffic'];
}

/** The hand-wired runtime, with what only it has. */
export interface HandWiredTestStack extends TestStack, Omit<LocalStack, keyof TestStack> {}

export interface TestStackOptions {
  /** The built-in test issuer stands in for the shop's identity provider. */
  readonly identity?: boolean;
  /** `-c key=value` context the app is synthesized with, e.g. `PLANNED_CONTEXT` (the assembly only). */
  readonly context?: Readonly<Record<string, string>>;
  /** Variables set on every function over the template's (the assembly only). */
  readonly environment?: Readonly<Record<string, string>>;
  /** Where the functions' log lines go (the assembly only; default: discarded). */
  readonly functionLogs?: FunctionLogs;
  /**
   * Endpoints used instead of the run's emulators' for SQS or SNS, by the functions and the runtime alike,
   * e.g. a proxy in front of SNS (the assembly only).
   */
  readonly endpoints?: Partial<Pick<AwsEndpoints, 'sqs' | 'sns'>>;
  /**
   * Runs a copy of the app's assembly with its templates edited (by stack name, e.g. `Dropline-Stateless`),
   * as a tester rehearses an edit before deploying it; the copy is removed when the stack stops (the assembly only).
   */
  readonly edit?: (templates: Readonly<Record<string, AssemblyTemplate>>) => void;
}

/** A template of the assembly, as its JSON file holds it. */
export interface AssemblyTemplate {
  Resources: Record<string, { Type: string; Properties?: Record<string, unknown>; [key: string]: unknown }>;
  Outputs?: Record<string, unknown>;
  [key: string]: unknown;
}

/** A copy of the assembly in `dir` whose templates `edit` has changed. */
function editedCopy(dir: string, edit: NonNullable<TestStackOptions['edit']>): string {
  const copy = mkdtempSync(join(tmpdir(), 'dropline-assembly-edit-'));
  try {
    cpSync(dir, copy, { recursive: true });
    const suffix = '.template.json';
    const files = readdirSync(copy).filter((file) => file.endsWith(suffix));
    const templates = Object.fromEntries(
      files.map((file) => [file.slice(0, -suffix.length), JSON.parse(readFileSync(join(copy, file), 'utf8'))]),
    ) as Record<string, AssemblyTemplate>;
    edit(templates);
    for (const [name, template] of Object.entries(templates)) {
      writeFileSync(join(copy, `${name}${suffix}`), JSON.stringify(template));
    }
    return copy;
  } catch (error) {
    rmSync(copy, { recursive: true, force: true });
    throw error;
  }
}

function requireTestEnv(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is unset: run the tests through jest (its global setup starts the emulators)`);
  return value;
}

async function countedEndpoints(): Promise<{ endpoints: AwsEndpoints; dynamodbRequests: RequestCounter }> {
  const dynamodbRequests = await startRequestCounter(requireTestEnv('DROPLINE_TEST_DYNAMODB_ENDPOINT'), {
    trackItemWrites: true,
  });
  return {
    dynamodbRequests,
    endpoints: {
      dynamodb: dynamodbRequests.endpoint,
      sqs: requireTestEnv('DROPLINE_TEST_SQS_ENDPOINT'),
      sns: requireTestEnv('DROPLINE_TEST_SNS_ENDPOINT'),
    },
  };
}

/**
 * The local gateway's own cap on invocations in flight (a guard for the machine, not a limit AWS sets):
 * these tests load the engine, not that cap (tested on its own), so every request is let in. The
 * templates' throttles and concurrency limits still apply on the assembly.
 */
const LOAD_TESTS_CONCURRENCY = 100_000;

/**
 * The app synthesized with the tests' drop plan (`test/fixtures/drop-plan.json`, planned SKUs and their
 * peaks) and the Lambda quota it needs declared as granted, as an operator would synthesize it.
 */
export const PLANNED_CONTEXT: Readonly<Record<string, string>> = {
  dropPlan: 'test/fixtures/drop-plan.json',
  accountConcurrency: '3000',
};

const testAdminKey = () => `test-admin-${randomBytes(8).toString('hex')}`;

/** The app's own assembly (synthesized once, then cached), on the file's emulators. */
export async function startTestStack(options: TestStackOptions = {}): Promise<AssemblyTestStack> {
  const own = await ownAssembly({
    context: { ...(options.identity ? TEST_PROVIDER_CONTEXT : {}), ...options.context },
  });
  const counted = await countedEndpoints();
  const { dynamodbRequests } = counted;
  const endpoints = { ...counted.endpoints, ...options.endpoints };
  let running: RunningAssembly | undefined;
  let copy: string | undefined;
  const removeCopy = () => {
    if (copy) rmSync(copy, { recursive: true, force: true });
  };
  try {
    copy = options.edit ? editedCopy(own.dir, options.edit) : undefined;
    running = await startAssemblyStack({
      assemblyDir: copy ?? own.dir,
      adminKey: testAdminKey(),
      endpoints,
      port: 0,
      functionLogs: options.functionLogs ?? 'discard',
      maxConcurrency: LOAD_TESTS_CONCURRENCY,
      ...(options.identity ? { identity: true } : {}),
      ...(options.environment ? { environment: options.environment } : {}),
    });
    const [tableName] = running.tableNames;
    if (running.tableNames.length !== 1 || tableName === undefined) {
      throw new Error(`the app's assembly holds ${running.tableNames.length} tables; the tests expect one`);
    }
    const started = running;
    return {
      url: started.url,
      adminKey: started.adminKey,
      tableName,
      endpoints: started.endpoints,
      identity: started.identity,
      dynamodbRequests,
      resources: (type) => started.resources(type),
      runSchedules: () => started.runSchedules(),
      invoke: (functionId, event = {}) =>
        started.invoke(resourceNamed(started, 'AWS::Lambda::Function', functionId).ref, event),
      environment: (functionId) => started.environment(resourceNamed(started, 'AWS::Lambda::Function', functionId).ref),
      traffic: () => started.traffic(),
      stop: async () => {
        try {
          await started.stop();
        } finally {
          await dynamodbRequests.stop();
          removeCopy();
        }
      },
    };
  } catch (error) {
    await running?.stop();
    await dynamodbRequests.stop();
    removeCopy();
    throw error;
  }
}

/**
 * The one resource of `type` the assembly created under the construct `constructId`: its logical ID is that
 * id and the 8-character hash CDK appends (e.g. `OrdersQueue` for `OrdersQueueC538DD4C`).
 */
export function resourceNamed(
  stack: Pick<RunningAssembly, 'resources'>,
  type: string,
  constructId: string,
): CreatedResource {
  const logicalId = new RegExp(`^${constructId}[0-9A-F]{8}$`);
  const named = stack.resources(type).filter(({ id }) => logicalId.test(id.slice(id.indexOf('.') + 1)));
  const [only] = named;
  if (named.length !== 1 || only === undefined) {
    throw new Error(`the assembly holds ${named.length} ${type} under ${constructId}; expected one`);
  }
  return only;
}

/** The in-process runtime, wired by hand from the app's configuration. */
export async function startHandWiredTestStack(
  options: Pick<TestStackOptions, 'identity'> = {},
): Promise<HandWiredTestStack> {
  const { endpoints, dynamodbRequests } = await countedEndpoints();
  try {
    const stack = await startLocalStack({
      endpoints,
      tableName: `dropline-test-${randomBytes(6).toString('hex')}`,
      adminKey: testAdminKey(),
      maxConcurrency: LOAD_TESTS_CONCURRENCY,
      ...options,
    });
    return {
      ...stack,
      dynamodbRequests,
      stop: async () => {
        try {
          await stack.stop();
        } finally {
          await dynamodbRequests.stop();
        }
      },
    };
  } catch (error) {
    await dynamodbRequests.stop();
    throw error;
  }
}
