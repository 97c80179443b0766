/**
 * A cloud assembly running on the embedded emulators (or any AWS-compatible
 * endpoints): provisioned from its templates, its bundled functions in their
 * own environments, its event source mappings, its REST API on the local
 * gateway and its schedules. What it holds that does not run locally is
 * listed with a reason.
 */

import { envVars } from '../../contract/env-vars';
import { awsCallLimits } from '../../contract/retries';
import { resolveAdminKey } from '../admin-key';
import {
  type AwsEndpoints,
  type EmbeddedAws,
  endpointEnv,
  LOCAL_AWS_ENV,
  startEmbeddedAws,
  withEdgeStore,
} from '../emulators/embedded-aws';
import type { RunningGateway } from '../event-sources/api-gateway';
import { type RunningSchedules, startSchedules } from '../event-sources/scheduler';
import { identityEnvironment, startTestIssuer, type TestIssuer } from '../identity/test-issuer';
import { assemblyApi, assemblySite, startAssemblyGateway } from './api';
import { AssemblyError, readCloudAssembly, resourcesOf } from './cloud-assembly';
import { notEmulated } from './coverage';
import { assemblyEdge, type EdgeContext } from './edge';
import { type AssemblyEventSources, startAssemblyEventSources } from './event-sources';
import { type FunctionConfig, type FunctionLogs, functionConfigs, LocalLambda } from './lambda-runtime';
import { type ProvisionedAssembly, provisionAssembly } from './provision';

export interface AssemblyStackOptions {
  readonly assemblyDir: string;
  readonly adminKey: string;
  readonly endpoints?: AwsEndpoints;
  readonly dataDir?: string;
  readonly port?: number;
  readonly host?: string;
  readonly maxConcurrency?: number;
  /** Where the functions' log lines go (default: this terminal). */
  readonly functionLogs?: FunctionLogs;
  /**
   * The built-in test issuer stands in for the identity provider the assembly names: the functions
   * configured with one (`IDENTITY_ISSUER`) verify its tokens instead. An assembly that names none is refused.
   */
  readonly identity?: boolean;
  /**
   * Variables set on every function over its template's, as `sam local invoke --env-vars` does (there, only
   * on variables the template declares). Those Lambda itself defines (`AWS_REGION`, `_HANDLER`, …) stay Lambda's.
   */
  readonly environment?: Readonly<Record<string, string>>;
}

export interface RunningAssembly {
  readonly url: string;
  readonly adminKey: string;
  readonly endpoints: AwsEndpoints;
  readonly functions: number;
  readonly routes: number;
  /** The physical names of the assembly's DynamoDB tables, in template order. */
  readonly tableNames: readonly string[];
  /** The drop page's URL, when the assembly deploys one. */
  readonly pageUrl: string | undefined;
  /** Settings the local runtime does not apply, and resource types it leaves out, one line each. */
  readonly notes: readonly string[];
  /** The test issuer, with `identity`. */
  readonly identity: TestIssuer | undefined;
  /** The resources of a type the runtime created, with what they answer to `Ref` and `Fn::GetAtt`. */
  resources(type: string): readonly CreatedResource[];
  /** Runs every schedule's target once now and waits for it. */
  runSchedules(): Promise<void>;
  /**
   * Invokes one function once and answers its result, as `aws lambda invoke` does (RequestResponse): in the
   * function's own execution environment, within its timeout and reserved concurrency, beside whatever its
   * schedule, mappings or routes have in flight. Named by physical name, ARN or `stack/logicalId`. For what
   * an operator or a test invokes by hand, e.g. several sweeps at once.
   */
  invoke(functionName: string, event: unknown): Promise<unknown>;
  /**
   * The variables one function runs with (its template's, resolved to the provisioned resources, then the
   * runtime's own), as `aws lambda get-function-configuration` reports them. Named as `invoke` names it.
   */
  environment(functionName: string): Readonly<Record<string, string>>;
  /**
   * What the wiring has carried so far, by `stack.logicalId`: batches each event source mapping delivered
   * and runs of each schedule, that their function took without an error.
   */
  traffic(): {
    readonly mappings: ReadonlyMap<string, number>;
    /** Batches each mapping handed its function, taken or not. */
    readonly handed: ReadonlyMap<string, number>;
    readonly schedules: ReadonlyMap<string, number>;
  };
  stop(): Promise<void>;
}

export interface CreatedResource {
  /** `stack.logicalId`. */
  readonly id: string;
  readonly ref: string;
  readonly attributes: Readonly<Record<string, string>>;
}

export async function startAssemblyStack(options: AssemblyStackOptions): Promise<RunningAssembly> {
  // Refused before anything is provisioned: an empty or short key would leave the admin routes open.
  const adminKey = resolveAdminKey(options.adminKey);
  const assembly = readCloudAssembly(options.assemblyDir);
  const embedded: EmbeddedAws | undefined = options.endpoints
    ? undefined
    : await startEmbeddedAws(options.dataDir ? { dataDir: options.dataDir } : {});
  const edgeStore = await withEdgeStore(options.endpoints ?? (embedded as EmbeddedAws).endpoints, embedded);
  const { endpoints } = edgeStore;
  // The pollers play Lambda's own side and call the emulators from this process: they need a region and
  // credentials, which the emulators accept whatever they are (a user's own stay as they are).
  for (const [name, value] of Object.entries(LOCAL_AWS_ENV)) process.env[name] ??= value;
  let lambda: LocalLambda | undefined;
  let stopping = false;
  let sources: AssemblyEventSources | undefined;
  let gateway: RunningGateway | undefined;
  let schedules: RunningSchedules | undefined;
  let identity: TestIssuer | undefined;
  try {
    const provisioned = await provisionAssembly(assembly, endpoints);
    let configs = functionConfigs(provisioned, { ...endpointEnv(endpoints), ...options.environment });
    if (options.identity) {
      identity = await startTestIssuer();
      configs = withTestIssuer(configs, identity);
    }
    const running = new LocalLambda(configs, {
      ...(options.functionLogs ? { logs: options.functionLogs } : {}),
    });
    lambda = running;
    sources = await startAssemblyEventSources(provisioned, running, endpoints);
    const api = assemblyApi(provisioned, running);
    const siteDir = assemblySite(provisioned);
    gateway = await startAssemblyGateway(api, {
      adminKey,
      // Without a page deployment in the assembly, `GET /` is the API's (a 404), as deployed without the edge.
      siteDir: siteDir ?? null,
      // The distribution's behaviours and their functions, in front of the API as CloudFront is.
      edge: assemblyEdge(assembly, edgeStore.keyValueStore, edgeContext(provisioned)),
      ...(options.port === undefined ? {} : { port: options.port }),
      ...(options.host === undefined ? {} : { host: options.host }),
      ...(options.maxConcurrency === undefined ? {} : { maxConcurrency: options.maxConcurrency }),
    });
    const ran = new Map<string, number>();
    schedules = startSchedules(scheduledTargets(provisioned, running, () => stopping, ran));
    // Deployed, a schedule has been running since the deploy: the first run starts now, not one period on.
    void schedules.runNow();
    const notes = [
      ...sources.notes,
      ...api.notes,
      ...(configs.some((config) => config.environment[envVars.awsAttemptTimeoutMs] === '0')
        ? [
            `${envVars.awsAttemptTimeoutMs}=0: the functions' limits on an AWS connection (deployed, ${awsCallLimits.connectionTimeoutMs / 1000} s to open and ${awsCallLimits.attemptTimeoutMs / 1000} s an attempt of silence) are lifted, as the emulators answer a spike in seconds`,
          ]
        : []),
      ...notEmulated(assembly).map(({ type, count, reason }) => `${type} (${count}): ${reason}`),
    ];
    const started = { gateway, schedules, sources };
    return {
      url: gateway.url,
      adminKey,
      endpoints,
      functions: running.functions.length,
      routes: api.routes.length,
      tableNames: resourcesOf(assembly)
        .filter(
          ({ resource }) => resource.Type === 'AWS::DynamoDB::Table' || resource.Type === 'AWS::DynamoDB::GlobalTable',
        )
        .flatMap(({ stack, logicalId }) => provisioned.values.get(`${stack.name}/${logicalId}`)?.ref ?? []),
      pageUrl: siteDir ? `${gateway.url}/` : undefined,
      notes,
      identity,
      resources: (type) =>
        resourcesOf(assembly)
          .filter(({ resource }) => resource.Type === type)
          .flatMap(({ stack, logicalId }) => {
            const created = provisioned.values.get(`${stack.name}/${logicalId}`);
            return created
              ? [{ id: `${stack.name}.${logicalId}`, ref: created.ref, attributes: created.attributes }]
              : [];
          }),
      runSchedules: () => started.schedules.runNow(),
      invoke: (functionName, event) => running.function(functionName).invoke(event),
      environment: (functionName) => running.function(functionName).config.environment,
      traffic: () => ({ mappings: started.sources.delivered, handed: started.sources.handed, schedules: ran }),
      stop: async () => {
        stopping = true;
        await started.gateway.stop();
        // Stopping the functions ends what the schedules and pollers are still waiting on (the expiry
        // sweep runs for most of a minute), so everything stops at once.
        await Promise.all([started.schedules.stop(), started.sources.stop(), running.stop()]);
        await edgeStore.stop();
        await identity?.stop();
        await embedded?.stop();
      },
    };
  } catch (error) {
    await schedules?.stop();
    await gateway?.stop();
    await sources?.stop();
    await lambda?.stop();
    await edgeStore.stop();
    await identity?.stop();
    await embedded?.stop();
    throw error;
  }
}

/** What the edge resolves against: the assembly's KeyValueStores by their local ARNs, its REST APIs by id. */
function edgeContext(provisioned: ProvisionedAssembly): EdgeContext {
  const created = resourcesOf(provisioned.assembly).flatMap(({ stack, logicalId, resource }) => {
    const values = provisioned.values.get(`${stack.name}/${logicalId}`);
    return values ? [{ stack, logicalId, type: resource.Type, values }] : [];
  });
  return {
    resolver: provisioned.resolver,
    storeArns: new Set(
      created.flatMap(({ type, values }) =>
        type === 'AWS::CloudFront::KeyValueStore' && values.attributes.Arn ? [values.attributes.Arn] : [],
      ),
    ),
    restApis: new Map(
      created.flatMap(({ stack, logicalId, type, values }) =>
        type === 'AWS::ApiGateway::RestApi' ? [[values.ref, { stack, logicalId }] as const] : [],
      ),
    ),
  };
}

/** The functions the template points at an identity provider, pointed at the test issuer instead. */
function withTestIssuer(configs: FunctionConfig[], issuer: TestIssuer): FunctionConfig[] {
  const named = configs.filter((config) => config.environment[envVars.identityIssuer] !== undefined);
  if (named.length === 0) {
    throw new AssemblyError(
      'names no identity provider for the test issuer to stand in for: synthesize it with ' +
        '-c identityIssuer=https://… -c identityAudience=…',
    );
  }
  return configs.map((config) =>
    named.includes(config)
      ? { ...config, environment: { ...config.environment, ...identityEnvironment(issuer) } }
      : config,
  );
}

const RATE = /^rate\((\d+) (minute|minutes|hour|hours|day|days)\)$/;
const UNIT_MS: Readonly<Record<string, number>> = { minute: 60_000, hour: 3_600_000, day: 86_400_000 };

/**
 * EventBridge Scheduler schedules of the assembly, at their rate ("Schedule types", EventBridge
 * Scheduler User Guide): each invokes its target function with the template's input, if any.
 */
function scheduledTargets(
  provisioned: ProvisionedAssembly,
  lambda: LocalLambda,
  stopping: () => boolean,
  ran: Map<string, number>,
) {
  const { assembly, resolver } = provisioned;
  return (
    resourcesOf(assembly)
      .filter(({ resource }) => resource.Type === 'AWS::Scheduler::Schedule')
      // A disabled schedule invokes nothing ("Changing the schedule state in EventBridge Scheduler",
      // https://docs.aws.amazon.com/scheduler/latest/UserGuide/managing-schedule-state.html).
      .filter(({ stack, logicalId, resource }) => {
        const state = resource.Properties?.State;
        if (state === undefined) return true;
        const resolved = resolver.resolveString(stack, state, `${stack.name}.${logicalId}.State`);
        if (resolved !== 'ENABLED' && resolved !== 'DISABLED') {
          throw new AssemblyError(`${stack.name}.${logicalId}: State is ENABLED or DISABLED, not ${resolved}`);
        }
        return resolved === 'ENABLED';
      })
      .map(({ stack, logicalId, resource }) => {
        const at = `${stack.name}.${logicalId}`;
        const expression = resolver.resolveString(
          stack,
          resource.Properties?.ScheduleExpression,
          `${at}.ScheduleExpression`,
        );
        const rate = RATE.exec(expression);
        if (!rate) throw new AssemblyError(`${at}: the local scheduler runs rate(…) schedules, not ${expression}`);
        const target = resource.Properties?.Target as { Arn?: unknown; Input?: unknown } | undefined;
        const fn = lambda.function(resolver.resolveString(stack, target?.Arn, `${at}.Target.Arn`));
        const input =
          target?.Input === undefined
            ? undefined
            : JSON.parse(resolver.resolveString(stack, target.Input, `${at}.Target.Input`));
        return {
          name: fn.config.name,
          everyMs: Number(rate[1]) * (UNIT_MS[(rate[2] as string).replace(/s$/, '')] as number),
          // A run cut short by the stop is not a failure worth reporting.
          run: (event: unknown) =>
            fn.invoke(input ?? event).then(
              () => void ran.set(at, (ran.get(at) ?? 0) + 1),
              (error: unknown) => {
                if (!stopping()) throw error;
              },
            ),
        };
      })
  );
}
