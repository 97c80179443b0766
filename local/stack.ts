/**
 * The local stack: embedded AWS (or endpoints given to it), the inventory
 * table, the API on the local gateway and the schedules, all running the
 * same handler modules that ship to Lambda.
 */
import { randomBytes } from 'node:crypto';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { apiRoutes, type HandlerName, schedules } from '../lib/config/api-routes';
import { type AwsEndpoints, type EmbeddedAws, endpointEnv, startEmbeddedAws } from './emulators/embedded-aws';
import { type ProxyHandler, type RunningGateway, startGateway } from './gateway';
import { provisionInventoryTable } from './provision';
import { type RunningSchedules, startSchedules } from './schedules';

export interface LocalStackOptions {
  readonly port?: number;
  readonly host?: string;
  readonly adminKey?: string;
  /** Use these AWS endpoints (e.g. LocalStack, or a test run's emulators) instead of starting embedded ones. */
  readonly endpoints?: AwsEndpoints;
  /** Persist the embedded DynamoDB here (ignored with `endpoints`). */
  readonly dataDir?: string;
  readonly tableName?: string;
  readonly onResponse?: Parameters<typeof startGateway>[0]['onResponse'];
}

export interface LocalStack {
  readonly url: string;
  readonly adminKey: string;
  readonly tableName: string;
  readonly endpoints: AwsEndpoints;
  /** Runs every scheduled function once now (the expiry sweep), as its schedule would. */
  runSchedules(): Promise<void>;
  stop(): Promise<void>;
}

export async function startLocalStack(options: LocalStackOptions = {}): Promise<LocalStack> {
  const embedded: EmbeddedAws | undefined = options.endpoints
    ? undefined
    : await startEmbeddedAws(options.dataDir ? { dataDir: options.dataDir } : {});
  const endpoints = options.endpoints ?? (embedded as EmbeddedAws).endpoints;
  const tableName = options.tableName ?? 'dropline-inventory';
  const adminKey = options.adminKey ?? process.env.DROPLINE_ADMIN_KEY ?? randomBytes(18).toString('base64url');
  let gateway: RunningGateway | undefined;
  let running: RunningSchedules | undefined;
  try {
    Object.assign(process.env, endpointEnv(endpoints), {
      TABLE_NAME: tableName,
      POWERTOOLS_SERVICE_NAME: process.env.POWERTOOLS_SERVICE_NAME ?? 'dropline',
      POWERTOOLS_LOG_LEVEL: process.env.POWERTOOLS_LOG_LEVEL ?? 'WARN',
      POWERTOOLS_METRICS_DISABLED: process.env.POWERTOOLS_METRICS_DISABLED ?? 'true',
    });
    const dynamodb = new DynamoDBClient({ endpoint: endpoints.dynamodb });
    await provisionInventoryTable(dynamodb, tableName);
    dynamodb.destroy();

    const handlers = new Map<string, ProxyHandler>();
    for (const route of apiRoutes) handlers.set(route.handler, await loadHandler(route.handler));
    gateway = await startGateway({
      routes: apiRoutes,
      handlers,
      adminKey,
      ...(options.port !== undefined ? { port: options.port } : {}),
      ...(options.host !== undefined ? { host: options.host } : {}),
      ...(options.onResponse ? { onResponse: options.onResponse } : {}),
    });
    running = startSchedules(
      await Promise.all(
        schedules.map(async (schedule) => ({
          name: schedule.handler,
          everyMs: schedule.localEveryMs,
          run: await loadHandler(schedule.handler),
        })),
      ),
    );
  } catch (error) {
    await gateway?.stop();
    await running?.stop();
    await embedded?.stop();
    throw error;
  }
  const started = { gateway, running };
  return {
    url: gateway.url,
    adminKey,
    tableName,
    endpoints,
    runSchedules: () => started.running.runNow(),
    stop: async () => {
      await started.running.stop();
      await started.gateway.stop();
      await embedded?.stop();
    },
  };
}

// biome-ignore lint/suspicious/noExplicitAny: handler modules differ in event types; the gateway and scheduler give each its own
type AnyHandler = (event: any, context: any) => Promise<any>;

async function loadHandler(name: HandlerName | 'expire-holds'): Promise<AnyHandler> {
  const module = (await import(`../lambdas/handlers/${name}.ts`)) as { handler: AnyHandler };
  return module.handler;
}
