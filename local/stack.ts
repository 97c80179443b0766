/**
 * The local stack: embedded AWS (or endpoints given to it), the inventory
 * table, the API on the local gateway and the schedules, all running the
 * same handler modules that ship to Lambda.
 */
import { fileURLToPath } from 'node:url';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { EDGE_ADMISSION_PATH_PATTERN, EDGE_QUEUE_PATH_PATTERN, LOCAL_EDGE_STORE_ARN } from '../contract/drops';
import { envVars } from '../contract/env-vars';
import { DEFAULT_SERVICE_NAME } from '../contract/metrics';
import { apiRoutes, schedules } from '../contract/routes';
import { eventSourceMappings, ordersQueue, streamConsumer } from '../contract/topology';
import { resolveAdminKey } from './admin-key';
import { CloudFrontFunction } from './edge/cloudfront-function';
import {
  type AwsEndpoints,
  type EmbeddedAws,
  endpointEnv,
  startEmbeddedAws,
  withEdgeStore,
} from './emulators/embedded-aws';
import { type ProxyHandler, type RunningGateway, startGateway } from './event-sources/api-gateway';
import { type StreamEventSourceOptions, startStreamEventSource } from './event-sources/dynamodb-streams';
import { type RunningSchedules, startSchedules } from './event-sources/scheduler';
import { type RunningEventSource, type SqsHandler, startSqsEventSource } from './event-sources/sqs';
import { identityEnvironment, startTestIssuer, type TestIssuer } from './identity/test-issuer';
import { type LocalMessaging, messagingEnvironment, provisionMessaging } from './provision-messaging';
import { provisionInventoryTable } from './provision-table';

/** The edge function's source; `CloudFrontFunction.fromFile` builds it as the edge stack does for upload. */
const ADMISSION_FUNCTION_FILE = fileURLToPath(new URL('../edge/admission.js', import.meta.url));

export interface LocalStackOptions {
  readonly port?: number;
  readonly host?: string;
  /** At least MIN_ADMIN_KEY_LENGTH characters; by default `DROPLINE_ADMIN_KEY`, or generated. */
  readonly adminKey?: string;
  /** Use these AWS endpoints (e.g. LocalStack, or a test run's emulators) instead of starting embedded ones. */
  readonly endpoints?: AwsEndpoints;
  /** Persist the embedded DynamoDB here (ignored with `endpoints`). */
  readonly dataDir?: string;
  readonly tableName?: string;
  readonly onResponse?: Parameters<typeof startGateway>[0]['onResponse'];
  /** Shopper invocations in flight before the gateway throttles (see the gateway). */
  readonly maxConcurrency?: number;
  /**
   * How the table's stream reaches the outbox relay: `shardOrder: 'parallel'`
   * delivers different items' records concurrently and out of their global
   * order, as Lambda's parallel shard readers do on AWS (see the stream source).
   * @default { shardOrder: 'sequential' }
   */
  readonly stream?: Pick<StreamEventSourceOptions, 'shardOrder' | 'parallel'>;
  /**
   * Shopper identity on: the built-in test issuer (`local/identity/test-issuer.ts`) stands in for the
   * shop's OpenID Connect provider, and a reservation needs a bearer token for the customer it names.
   */
  readonly identity?: boolean;
}

/** What the local runtime actually wired, for comparison with the deployed template. */
export interface LocalTopology {
  readonly routes: readonly { readonly method: string; readonly path: string; readonly handler: string }[];
  readonly queueConsumers: readonly {
    readonly queueArn: string;
    readonly handler: string;
    readonly batchSize: number;
  }[];
  readonly streamConsumer: { readonly tableName: string; readonly handler: string; readonly batchSize: number };
  readonly schedules: readonly string[];
}

export interface LocalStack {
  readonly url: string;
  readonly topology: LocalTopology;
  readonly adminKey: string;
  readonly tableName: string;
  readonly endpoints: AwsEndpoints;
  readonly messaging: LocalMessaging;
  /** The test issuer, with `identity: true`. */
  readonly identity: TestIssuer | undefined;
  /** Runs every scheduled function once now (the expiry sweep), as its schedule would. */
  runSchedules(): Promise<void>;
  stop(): Promise<void>;
}

/**
 * Creates the table, queues, topic and subscriptions on `endpoints` and points
 * this process's handlers at them through the environment, as a deployment's
 * function configuration does. Handler modules read it when first imported.
 */
export async function provisionLocalResources(endpoints: AwsEndpoints, tableName: string): Promise<LocalMessaging> {
  const env = process.env;
  Object.assign(env, endpointEnv(endpoints), {
    [envVars.tableName]: tableName,
    [envVars.edgeStoreArn]: LOCAL_EDGE_STORE_ARN,
    [envVars.powertoolsServiceName]: env[envVars.powertoolsServiceName] ?? DEFAULT_SERVICE_NAME,
    [envVars.powertoolsLogLevel]: env[envVars.powertoolsLogLevel] ?? 'WARN',
    [envVars.powertoolsMetricsDisabled]: env[envVars.powertoolsMetricsDisabled] ?? 'true',
  });
  const dynamodb = new DynamoDBClient({ endpoint: endpoints.dynamodb });
  try {
    await provisionInventoryTable(dynamodb, tableName);
  } finally {
    dynamodb.destroy();
  }
  const messaging = await provisionMessaging(endpoints, tableName);
  Object.assign(env, {
    [envVars.ordersQueueUrl]: messaging.queueUrls[ordersQueue.name],
    [envVars.inventoryTopicArn]: messaging.topicArn,
    ...messagingEnvironment(messaging),
  });
  return messaging;
}

export async function startLocalStack(options: LocalStackOptions = {}): Promise<LocalStack> {
  // Before anything starts: a refused key must leave no emulator or table behind.
  const adminKey = resolveAdminKey(options.adminKey);
  const embedded: EmbeddedAws | undefined = options.endpoints
    ? undefined
    : await startEmbeddedAws(options.dataDir ? { dataDir: options.dataDir } : {});
  const edgeStore = await withEdgeStore(options.endpoints ?? (embedded as EmbeddedAws).endpoints, embedded);
  const { endpoints } = edgeStore;
  const tableName = options.tableName ?? 'dropline-inventory';
  let gateway: RunningGateway | undefined;
  let running: RunningSchedules | undefined;
  let messaging: LocalMessaging | undefined;
  const eventSources: RunningEventSource[] = [];
  let identity: TestIssuer | undefined;
  const wired: { -readonly [K in keyof LocalTopology]?: LocalTopology[K] } = {};
  try {
    messaging = await provisionLocalResources(endpoints, tableName);
    if (options.identity) {
      // Before any handler is loaded: the composition reads its provider when first imported.
      identity = await startTestIssuer();
      Object.assign(process.env, identityEnvironment(identity));
    }

    const admission = CloudFrontFunction.fromFile(ADMISSION_FUNCTION_FILE, {
      overrun: 'measure',
      build: { identity: Boolean(options.identity) },
      ...(edgeStore.keyValueStore ? { kvs: edgeStore.keyValueStore } : {}),
    });
    const handlers = new Map<string, ProxyHandler>();
    for (const route of apiRoutes) handlers.set(route.handler, await loadHandler(route.handler));
    gateway = await startGateway({
      routes: apiRoutes,
      handlers,
      adminKey,
      ...(options.port !== undefined ? { port: options.port } : {}),
      ...(options.host !== undefined ? { host: options.host } : {}),
      ...(options.onResponse ? { onResponse: options.onResponse } : {}),
      ...(options.maxConcurrency ? { maxConcurrency: options.maxConcurrency } : {}),
      // CloudFront's behaviours for the queue and reservations run the edge function, on the local store.
      edge: [
        { pathPattern: EDGE_QUEUE_PATH_PATTERN, fn: admission },
        { pathPattern: EDGE_ADMISSION_PATH_PATTERN, fn: admission },
      ],
    });
    wired.routes = gateway.routes.map(({ method, path, handler }) => ({ method, path, handler }));
    const scheduled = await Promise.all(
      schedules.map(async (schedule) => ({
        name: schedule.handler,
        everyMs: schedule.localEveryMs,
        run: await loadHandler(schedule.handler),
      })),
    );
    running = startSchedules(scheduled);
    wired.schedules = scheduled.map((schedule) => schedule.name);
    const consumers: LocalTopology['queueConsumers'][number][] = [];
    for (const mapping of eventSourceMappings) {
      const queueArn = messaging.queueArns[mapping.queue] as string;
      eventSources.push(
        startSqsEventSource({
          name: mapping.handler,
          endpoint: endpoints.sqs,
          queueUrl: messaging.queueUrls[mapping.queue] as string,
          queueArn,
          handler: (await loadHandler(mapping.handler)) as SqsHandler,
          batchSize: mapping.batchSize,
        }),
      );
      consumers.push({ queueArn, handler: mapping.handler, batchSize: mapping.batchSize });
    }
    wired.queueConsumers = consumers;
    const stream = { tableName, handler: streamConsumer.handler, batchSize: streamConsumer.batchSize };
    eventSources.push(
      await startStreamEventSource({
        name: stream.handler,
        endpoint: endpoints.dynamodb,
        tableName: stream.tableName,
        handler: await loadHandler(stream.handler),
        batchSize: stream.batchSize,
        filter: streamConsumer.filterPattern,
        ...options.stream,
      }),
    );
    wired.streamConsumer = stream;
  } catch (error) {
    await gateway?.stop();
    await running?.stop();
    await Promise.all(eventSources.map((source) => source.stop()));
    await edgeStore.stop();
    await identity?.stop();
    await embedded?.stop();
    throw error;
  }
  const started = { gateway, running, messaging };
  return {
    url: gateway.url,
    topology: wired as LocalTopology,
    adminKey,
    tableName,
    endpoints,
    messaging: started.messaging,
    identity,
    runSchedules: () => started.running.runNow(),
    stop: async () => {
      await started.running.stop();
      await started.gateway.stop();
      await Promise.all(eventSources.map((source) => source.stop()));
      await edgeStore.stop();
      await identity?.stop();
      await embedded?.stop();
    },
  };
}

// biome-ignore lint/suspicious/noExplicitAny: handler modules differ in event types; the gateway and scheduler give each its own
type AnyHandler = (event: any, context: any) => Promise<any>;

async function loadHandler(name: string): Promise<AnyHandler> {
  const module = (await import(`../lambdas/handlers/${name}.ts`)) as { handler: AnyHandler };
  return module.handler;
}
