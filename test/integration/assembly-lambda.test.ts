/**
 * The assembly's bundled functions run as Lambda runs them: the esbuild
 * output that deploys, with its template's environment resolved to the
 * provisioned resources, one execution environment per function, the
 * template's timeout enforced. Edits to a copy of the assembly (an
 * environment variable, a timeout, the code) are what runs.
 */
import { spawn } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DynamoDBClient, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { ReceiveMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { App } from 'aws-cdk-lib';
import { apiRoutes } from '../../contract/routes';
import { buildDroplineApp } from '../../lib/app';
import { readSettings } from '../../lib/config/settings';
import { ApiClient, attemptKey } from '../../local/api-client';
import { assemblyApi, assemblySite, startAssemblyGateway } from '../../local/assembly/api';
import { readCloudAssembly, resourcesOf } from '../../local/assembly/cloud-assembly';
import { type AssemblyEventSources, startAssemblyEventSources } from '../../local/assembly/event-sources';
import {
  FunctionError,
  FunctionTimeoutError,
  functionConfigs,
  LocalLambda,
  TooManyRequestsError,
} from '../../local/assembly/lambda-runtime';
import { provisionAssembly } from '../../local/assembly/provision';
import { endpointEnv, LOCAL_AWS_ENV, withEdgeStore } from '../../local/emulators/embedded-aws';
import type { DiscardedBatch } from '../../local/event-sources/dynamodb-streams';
import { eventually } from '../support/eventually';

const endpoints = {
  dynamodb: process.env.DROPLINE_TEST_DYNAMODB_ENDPOINT as string,
  sqs: process.env.DROPLINE_TEST_SQS_ENDPOINT as string,
  sns: process.env.DROPLINE_TEST_SNS_ENDPOINT as string,
};
const dirs: string[] = [];
const runtimes: LocalLambda[] = [];
const sources: AssemblyEventSources[] = [];
const stoppers: Array<() => Promise<void>> = [];
// The local pollers' own SDK clients find the emulators' region and credentials here.
Object.assign(process.env, { ...LOCAL_AWS_ENV, ...process.env });

let assemblyDir: string;

beforeAll(() => {
  assemblyDir = mkdtempSync(join(tmpdir(), 'dropline-assembly-'));
  dirs.push(assemblyDir);
  // Bundled for real (esbuild), as `cdk deploy` would upload it: the functions' stack only.
  const app = new App({ outdir: assemblyDir, context: { 'aws:cdk:bundling-stacks': ['Dropline-Stateless'] } });
  buildDroplineApp(app, readSettings(app.node, {}));
  app.synth();
}, 300_000);

afterAll(async () => {
  await Promise.all(stoppers.map((stop) => stop()));
  await Promise.all(sources.map((source) => source.stop()));
  await Promise.all(runtimes.map((runtime) => runtime.stop()));
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

/** A copy of the assembly, edited: what a tester would rehearse before deploying the edit. */
function editedCopy(edit: (templatePath: string, template: { Resources: Record<string, unknown> }) => void): string {
  const copy = mkdtempSync(join(tmpdir(), 'dropline-assembly-edit-'));
  dirs.push(copy);
  cpSync(assemblyDir, copy, { recursive: true });
  const templatePath = join(copy, 'Dropline-Stateless.template.json');
  const template = JSON.parse(readFileSync(templatePath, 'utf8'));
  edit(templatePath, template);
  writeFileSync(templatePath, JSON.stringify(template));
  return copy;
}

async function start(dir: string) {
  const provisioned = await provisionAssembly(readCloudAssembly(dir), endpoints);
  const runtime = new LocalLambda(functionConfigs(provisioned, endpointEnv(endpoints)));
  runtimes.push(runtime);
  return { provisioned, runtime };
}

const logicalIdOf = (dir: string, handlerTag: string) => {
  const found = resourcesOf(readCloudAssembly(dir)).find(
    ({ stack, resource }) =>
      stack.name === 'Dropline-Stateless' &&
      resource.Type === 'AWS::Lambda::Function' &&
      (resource.Properties?.Tags as Array<{ Key: string; Value: string }> | undefined)?.some(
        (tag) => tag.Value === handlerTag,
      ),
  );
  if (!found) throw new Error(`no function tagged ${handlerTag}`);
  return `Dropline-Stateless/${found.logicalId}`;
};

const request = (
  httpMethod: string,
  path: string,
  resource: string,
  pathParameters: Record<string, string> | null = null,
  body: unknown = undefined,
) => ({
  resource,
  path,
  httpMethod,
  headers: body === undefined ? {} : { 'content-type': 'application/json' },
  multiValueHeaders: {},
  queryStringParameters: null,
  multiValueQueryStringParameters: null,
  pathParameters,
  stageVariables: null,
  body: body === undefined ? null : JSON.stringify(body),
  isBase64Encoded: false,
  requestContext: { requestId: 'test', httpMethod, path, resourcePath: resource, stage: 'live' },
});
const get = (path: string, resource: string, pathParameters: Record<string, string> | null = null) =>
  request('GET', path, resource, pathParameters);

test('a bundled function answers with the environment its template gives it, resolved to the local table', async () => {
  const { runtime } = await start(assemblyDir);
  const health = runtime.function(logicalIdOf(assemblyDir, 'health'));
  expect(health.config.entry).toMatch(/asset\.[0-9a-f]+\/index\.mjs$/);
  expect(health.config.environment.TABLE_NAME).toBeTruthy();
  expect(health.config.environment.AWS_LAMBDA_FUNCTION_NAME).toBe(health.config.name);
  const answer = (await health.invoke(get('/health', '/health'))) as { statusCode: number; body: string };
  expect(answer.statusCode).toBe(200);

  const product = runtime.function(logicalIdOf(assemblyDir, 'get-product'));
  const missing = (await product.invoke(get('/products/NOPE-1', '/products/{sku}', { sku: 'NOPE-1' }))) as {
    statusCode: number;
    body: string;
  };
  expect(missing.statusCode).toBe(404);
  expect(JSON.parse(missing.body).error.code).toBe('NOT_FOUND');
});

test('an environment variable edited in the assembly is what the function reads', async () => {
  const edited = editedCopy((_, template) => {
    const id = logicalIdOf(assemblyDir, 'health').split('/')[1] as string;
    const resource = (
      template.Resources as Record<string, { Properties: { Environment: { Variables: Record<string, unknown> } } }>
    )[id];
    if (!resource) throw new Error('health function missing');
    resource.Properties.Environment.Variables.TABLE_NAME = 'no-such-table';
  });
  const { runtime } = await start(edited);
  const health = runtime.function(logicalIdOf(edited, 'health'));
  expect(health.config.environment.TABLE_NAME).toBe('no-such-table');
  const answer = (await health.invoke(get('/health', '/health'))) as { statusCode: number };
  expect(answer.statusCode).toBeGreaterThanOrEqual(500);
});

test('code that outruns the template’s timeout ends as on Lambda, and the next invocation starts a fresh environment', async () => {
  const edited = editedCopy((templatePath, template) => {
    const id = logicalIdOf(assemblyDir, 'health').split('/')[1] as string;
    const resource = (
      template.Resources as Record<string, { Properties: Record<string, unknown>; Metadata: Record<string, string> }>
    )[id];
    if (!resource) throw new Error('health function missing');
    resource.Properties.Timeout = 1;
    resource.Properties.ReservedConcurrentExecutions = 1;
    const key = String((resource.Properties.Code as { S3Key: string }).S3Key).replace(/\.zip$/, '');
    const asset = join(templatePath, '..', `asset.${key}`);
    writeFileSync(
      join(asset, 'index.mjs'),
      [
        'let invocations = 0;',
        'export const handler = async (event) => {',
        '  invocations += 1;',
        '  if (event.sleepMs) await new Promise((resolve) => setTimeout(resolve, event.sleepMs));',
        '  if (event.fail) throw new TypeError("broken on purpose");',
        '  return { invocations, table: process.env.TABLE_NAME, name: process.env.AWS_LAMBDA_FUNCTION_NAME };',
        '};',
      ].join('\n'),
    );
  });
  const { runtime } = await start(edited);
  const fn = runtime.function(logicalIdOf(edited, 'health'));

  expect(await fn.invoke({})).toMatchObject({ invocations: 1, name: fn.config.name });
  expect(await fn.invoke({})).toMatchObject({ invocations: 2 });

  const slow = fn.invoke({ sleepMs: 1500 });
  // Reserved concurrency 1: a second invocation while the first runs is refused, as Lambda throttles.
  await expect(fn.invoke({})).rejects.toBeInstanceOf(TooManyRequestsError);
  await expect(slow).rejects.toThrow(FunctionTimeoutError);
  await expect(slow).rejects.toThrow('Task timed out after 1.00 seconds');

  // The timed-out environment is gone: the module starts again, its counter with it.
  expect(await fn.invoke({})).toMatchObject({ invocations: 1 });
  await expect(fn.invoke({ fail: true })).rejects.toMatchObject({
    errorType: 'TypeError',
    message: 'broken on purpose',
  });
  await expect(fn.invoke({ fail: true })).rejects.toBeInstanceOf(FunctionError);

  // Stopped with an invocation in flight: it ends at once, as when Lambda's environment dies.
  const inFlight = fn.invoke({ sleepMs: 800 });
  await runtime.stop();
  await expect(inFlight).rejects.toThrow(/the execution environment exited/);
});

test('the expiry sweeper and the admission controller stop as their timeout comes near, rather than being cut off by it', async () => {
  // The template has each run for 55 s of a 70 s timeout; with the timeout cut to 12 s, an invocation that keeps
  // to its running time runs into Lambda's timeout (an error, and Lambda's retry beside the next scheduled run).
  // A sweep slowed by a loaded table must likewise end before the timeout does: they stop 10 s short of it.
  const edited = editedCopy((_, template) => {
    for (const tag of ['expire-holds', 'advance-admission']) {
      const id = logicalIdOf(assemblyDir, tag).split('/')[1] as string;
      const resource = (
        template.Resources as Record<
          string,
          { Properties: { Timeout: number; Environment: { Variables: Record<string, unknown> } } }
        >
      )[id];
      if (!resource) throw new Error(`${tag} function missing`);
      expect(resource.Properties.Environment.Variables.SWEEP_FOR_SECONDS).toBe('55');
      resource.Properties.Timeout = 12;
    }
  });
  // The controller writes the edge's KeyValueStore: one in this process, as `dropline serve` has.
  const edge = await withEdgeStore(endpoints);
  stoppers.push(() => edge.stop());
  const provisioned = await provisionAssembly(readCloudAssembly(edited), edge.endpoints);
  const runtime = new LocalLambda(functionConfigs(provisioned, endpointEnv(edge.endpoints)));
  runtimes.push(runtime);
  const sweeper = runtime.function(logicalIdOf(edited, 'expire-holds'));
  const controller = runtime.function(logicalIdOf(edited, 'advance-admission'));

  const [summary, ticked] = (await Promise.all([sweeper.invoke({}), controller.invoke({})])) as [
    { sweeps: number; stoppedEarly: boolean },
    { ticks: number },
  ];

  // It answered, where it used to time out. Nothing was due, so nothing was cut short: the short timeout only
  // shortened the sweeping, to 2 s (12 s less the 10 s kept back), once a second.
  expect(summary.stoppedEarly).toBe(false);
  expect(summary.sweeps).toBeGreaterThanOrEqual(1);
  expect(summary.sweeps).toBeLessThanOrEqual(3);
  expect(ticked.ticks).toBeGreaterThanOrEqual(1);
  expect(ticked.ticks).toBeLessThanOrEqual(3);
}, 60_000);

test('each function has its own module instance and environment', async () => {
  const counterModule = [
    'let invocations = 0;',
    'globalThis.shared = (globalThis.shared ?? 0) + 1;',
    'export const handler = async () => ({ invocations: ++invocations, shared: globalThis.shared, name: process.env.AWS_LAMBDA_FUNCTION_NAME });',
  ].join('\n');
  const edited = editedCopy((templatePath, template) => {
    for (const tag of ['health', 'get-order']) {
      const id = logicalIdOf(assemblyDir, tag).split('/')[1] as string;
      const resource = (template.Resources as unknown as Record<string, { Properties: Record<string, unknown> }>)[id];
      if (!resource) throw new Error(`no function tagged ${tag}`);
      const key = String((resource.Properties.Code as { S3Key: string }).S3Key).replace(/\.zip$/, '');
      writeFileSync(join(templatePath, '..', `asset.${key}`, 'index.mjs'), counterModule);
    }
  });
  const { runtime } = await start(edited);
  const health = runtime.function(logicalIdOf(edited, 'health'));
  const order = runtime.function(logicalIdOf(edited, 'get-order'));
  expect(await health.invoke({})).toMatchObject({ invocations: 1, shared: 1, name: health.config.name });
  expect(await health.invoke({})).toMatchObject({ invocations: 2, shared: 1 });
  // Same code, another function: its own module state, its own globals, its own process.env.
  expect(await order.invoke({})).toMatchObject({ invocations: 1, shared: 1, name: order.config.name });
  expect(order.config.name).not.toBe(health.config.name);
  const names = runtime.functions.map((fn) => fn.config.environment.AWS_LAMBDA_FUNCTION_NAME);
  expect(new Set(names).size).toBe(names.length);
});

test('channel sync runs end to end on the assembly: table stream → relay → topic → filtered channel queues → appliers', async () => {
  const { provisioned, runtime } = await start(assemblyDir);
  const running = await startAssemblyEventSources(provisioned, runtime, endpoints);
  sources.push(running);
  const sku = 'ASM-SYNC-1';
  const put = (await runtime
    .function(logicalIdOf(assemblyDir, 'put-product'))
    .invoke(
      request(
        'PUT',
        `/admin/products/${sku}`,
        '/admin/products/{sku}',
        { sku },
        { name: 'Synced', priceCents: 100, stock: 7 },
      ),
    )) as { statusCode: number; body: string };
  expect([put.statusCode, put.body]).toEqual([201, expect.any(String)]);

  const channels = runtime.function(logicalIdOf(assemblyDir, 'get-channels'));
  const view = await eventually(
    async () => {
      const answer = (await channels.invoke(
        get(`/admin/products/${sku}/channels`, '/admin/products/{sku}/channels', { sku }),
      )) as { statusCode: number; body: string };
      const body = JSON.parse(answer.body) as {
        available: number;
        channels: Array<{ synced: boolean; available: number }>;
      };
      expect(body.channels.length).toBeGreaterThan(0);
      for (const channel of body.channels) expect(channel).toMatchObject({ synced: true, available: 7 });
      return body;
    },
    { timeoutMs: 60_000, intervalMs: 500 },
  );
  expect(view.available).toBe(7);
  // Its pollers (the real relay among them) stop here: later tests read the same table's stream.
  sources.splice(sources.indexOf(running), 1);
  await running.stop();
}, 120_000);

test("a queue mapping's FilterCriteria refuses the assembly, rather than the poller handing on what Lambda would drop", async () => {
  const edited = editedCopy((_templatePath, template) => {
    const resources = template.Resources as Record<string, { Type: string; Properties: Record<string, unknown> }>;
    const mapping = Object.values(resources).find(
      (resource) =>
        // A queue's mapping has no StartingPosition (a stream's must).
        resource.Type === 'AWS::Lambda::EventSourceMapping' && resource.Properties.StartingPosition === undefined,
    );
    if (!mapping) throw new Error('no queue mapping');
    mapping.Properties.FilterCriteria = { Filters: [{ Pattern: JSON.stringify({ body: { kind: ['order'] } }) }] };
  });
  const { provisioned, runtime } = await start(edited);

  await expect(startAssemblyEventSources(provisioned, runtime, endpoints)).rejects.toThrow(
    /FilterCriteria on a queue mapping is not emulated locally/,
  );
});

test('a stream batch that keeps failing is halved, retried as the mapping says, then described to its on-failure queue, and the stream goes on', async () => {
  const relayTag = 'publish-changes';
  const edited = editedCopy((templatePath, template) => {
    const resources = template.Resources as Record<string, { Type: string; Properties: Record<string, unknown> }>;
    const relayId = logicalIdOf(assemblyDir, relayTag).split('/')[1] as string;
    const relay = resources[relayId];
    if (!relay) throw new Error('no relay function');
    const key = String((relay.Properties.Code as { S3Key: string }).S3Key).replace(/\.zip$/, '');
    // A relay that fails on any batch holding a POISON item, and handles the rest.
    writeFileSync(
      join(templatePath, '..', `asset.${key}`, 'index.mjs'),
      "export const handler = async (event) => { if (JSON.stringify(event.Records).includes('POISON')) throw new Error('poisoned'); };",
    );
    const mapping = Object.values(resources).find(
      (resource) =>
        resource.Type === 'AWS::Lambda::EventSourceMapping' && JSON.stringify(resource.Properties).includes(relayId),
    );
    if (!mapping) throw new Error('no stream mapping for the relay');
    expect(mapping.Properties.BisectBatchOnFunctionError).toBe(true);
    expect(mapping.Properties.DestinationConfig).toBeDefined();
    mapping.Properties.MaximumRetryAttempts = 1;
  });
  const { provisioned, runtime } = await start(edited);
  const stateful = resourcesOf(provisioned.assembly).filter(({ stack }) => stack.name === 'Dropline-Stateful');
  const physicalIdOf = (type: string, prefix = '') => {
    const found = stateful.find(({ logicalId, resource }) => resource.Type === type && logicalId.startsWith(prefix));
    if (!found) throw new Error(`no ${type} ${prefix}`);
    return provisioned.values.get(`Dropline-Stateful/${found.logicalId}`)?.ref as string;
  };
  const tableName = physicalIdOf('AWS::DynamoDB::GlobalTable');
  const failuresUrl = physicalIdOf('AWS::SQS::Queue', 'StreamFailures');

  const dynamodb = new DynamoDBClient({ endpoint: endpoints.dynamodb });
  const sqs = new SQSClient({ endpoint: endpoints.sqs });
  stoppers.push(async () => {
    dynamodb.destroy();
    sqs.destroy();
  });
  const put = (pk: string) =>
    dynamodb.send(new PutItemCommand({ TableName: tableName, Item: { pk: { S: pk }, kind: { S: 'stock' } } }));
  // By request id: a description received again after its visibility timeout is the same one.
  const byRequest = new Map<string, DiscardedBatch>();
  const described: DiscardedBatch[] = [];
  const receive = async () => {
    const { Messages = [] } = await sqs.send(
      new ReceiveMessageCommand({ QueueUrl: failuresUrl, MaxNumberOfMessages: 10 }),
    );
    for (const message of Messages) {
      const record = JSON.parse(message.Body as string) as DiscardedBatch;
      if (byRequest.has(record.requestContext.requestId)) continue;
      byRequest.set(record.requestContext.requestId, record);
      described.push(record);
    }
  };

  // `kind: stock` passes the mapping's filter, as the relay's own items do. Written before the poller
  // starts, so its first read takes them in one batch with the stream's earlier records: a batch to halve.
  for (const pk of ['TEST#OK-1', 'TEST#POISON-1', 'TEST#OK-2', 'TEST#OK-3']) await put(pk);
  const running = await startAssemblyEventSources(provisioned, runtime, endpoints);
  sources.push(running);
  await eventually(
    async () => {
      await receive();
      expect(described).toHaveLength(1);
    },
    { timeoutMs: 60_000, intervalMs: 300 },
  );
  // Halved down to the poisoned record alone, invoked once and retried once (MaximumRetryAttempts 1).
  expect(described[0]).toMatchObject({
    version: '1.0',
    requestContext: { condition: 'RetryAttemptsExhausted', approximateInvokeCount: 2 },
    DDBStreamBatchInfo: { batchSize: 1, streamArn: expect.stringContaining(tableName) },
  });
  const first = (described[0] as DiscardedBatch).DDBStreamBatchInfo;
  expect(first.startSequenceNumber).toBe(first.endSequenceNumber);

  // The shard went on past it: a later poisoned record is described on its own.
  await put('TEST#POISON-2');
  await eventually(
    async () => {
      await receive();
      expect(described).toHaveLength(2);
    },
    { timeoutMs: 60_000, intervalMs: 300 },
  );
  expect(BigInt((described[1] as DiscardedBatch).DDBStreamBatchInfo.startSequenceNumber)).toBeGreaterThan(
    BigInt(first.endSequenceNumber),
  );
}, 150_000);

test('the API the template declares serves the whole contract: every route, its API key, its function', async () => {
  const { provisioned, runtime } = await start(assemblyDir);
  const api = assemblyApi(provisioned, runtime);
  // The template's routes are the contract's routes, with the same API-key requirement.
  const declared = (routes: ReadonlyArray<{ method: string; path: string; access: string }>) =>
    routes.map(({ method, path, access }) => `${method} ${path} ${access}`).sort();
  expect(declared(api.routes)).toEqual(declared(apiRoutes));

  const gateway = await startAssemblyGateway(api, { adminKey: 'assembly-admin-key' });
  stoppers.push(() => gateway.stop());
  const client = new ApiClient(gateway.url, 'assembly-admin-key');
  stoppers.push(() => client.close());
  const sku = 'ASM-API-1';

  expect(
    (await client.call('PUT', `/admin/products/${sku}`, { body: { name: 'x', priceCents: 1, stock: 1 } })).status,
  ).toBe(403);
  expect((await client.putProduct(sku, { name: 'Assembly tee', priceCents: 2500, stock: 3 })).status).toBe(201);
  expect((await client.call('GET', `/products/${sku}`)).body).toMatchObject({ sku, available: 3 });
  const held = await client.reserve(sku, 'alice', 2, 'assembly-key-1');
  expect(held.status).toBe(201);
  const reservationId = held.body.reservationId as string;
  expect((await client.call('GET', `/reservations/${reservationId}`)).body).toMatchObject({ status: 'HELD' });
  const paid = await client.call('POST', `/reservations/${reservationId}/checkout`, {
    body: { paymentToken: 'tok_visa' },
  });
  expect(paid.status).toBe(201);
  expect((await client.call('GET', `/orders/${paid.body.orderId}`)).status).toBe(200);
  const second = await client.reserve(sku, 'bob', 1, 'assembly-key-2');
  expect((await client.call('DELETE', `/reservations/${second.body.reservationId}`)).status).toBe(200);
  expect(
    (
      await client.call('POST', `/admin/products/${sku}/restock`, {
        body: { quantity: 2 },
        admin: true,
        headers: { 'idempotency-key': 'r1' },
      })
    ).status,
  ).toBe(200);
  expect(await client.ledger(sku)).toMatchObject({ supplied: 5, sold: 2, held: 0, available: 3 });
  expect((await client.call('GET', `/admin/products/${sku}/channels`, { admin: true })).status).toBe(200);
  expect((await client.call('GET', '/health')).status).toBe(200);
  expect((await client.call('GET', '/nope')).body).toMatchObject({ error: { code: 'ROUTE_NOT_FOUND' } });
}, 120_000);

test('a method removed from a copy of the assembly is gone from the local API', async () => {
  const edited = editedCopy((_, template) => {
    const resources = template.Resources as Record<string, { Type: string; Properties: Record<string, unknown> }>;
    const health = Object.entries(resources).find(
      ([, resource]) =>
        resource.Type === 'AWS::ApiGateway::Method' &&
        JSON.stringify(resource.Properties.Integration).includes(
          logicalIdOf(assemblyDir, 'health').split('/')[1] as string,
        ),
    );
    if (!health) throw new Error('no GET /health method');
    delete resources[health[0]];
  });
  const { provisioned, runtime } = await start(edited);
  const api = assemblyApi(provisioned, runtime);
  expect(api.routes.map((route) => `${route.method} ${route.path}`)).not.toContain('GET /health');
  const gateway = await startAssemblyGateway(api, { adminKey: 'k' });
  stoppers.push(() => gateway.stop());
  const client = new ApiClient(gateway.url, 'k');
  stoppers.push(() => client.close());
  expect((await client.call('GET', '/health')).body).toMatchObject({ error: { code: 'ROUTE_NOT_FOUND' } });
});

test('the gateway applies what the template declares before any function runs: required parameters, models, gateway responses', async () => {
  const { provisioned, runtime } = await start(assemblyDir);
  const gateway = await startAssemblyGateway(assemblyApi(provisioned, runtime), { adminKey: 'rules-admin-key' });
  stoppers.push(() => gateway.stop());
  const client = new ApiClient(gateway.url, 'rules-admin-key');
  stoppers.push(() => client.close());
  const sku = 'ASM-RULES-1';
  expect((await client.putProduct(sku, { name: 'Rules tee', priceCents: 100, stock: 3 })).status).toBe(201);
  const reserve = (body: unknown, headers: Record<string, string>) =>
    client.call('POST', `/products/${sku}/reservations`, { body, headers });

  // BAD_REQUEST_PARAMETERS: the method requires Idempotency-Key; the template's answer carries API Gateway's message.
  const noKey = await reserve({ customerId: 'ann', quantity: 1 }, {});
  expect([noKey.status, noKey.body]).toEqual([
    400,
    { error: { code: 'VALIDATION_ERROR', message: 'Missing required request parameters: [Idempotency-Key]' } },
  ]);
  // BAD_REQUEST_BODY: the model (draft 4) refuses what the function would also refuse, before it runs.
  for (const body of [
    { customerId: 'ann', quantity: 0 },
    { customerId: 'ann', quantity: 1, extra: true },
    { quantity: 1 },
  ]) {
    const refused = await reserve(body, { 'idempotency-key': attemptKey() });
    expect([refused.status, refused.body]).toEqual([
      400,
      { error: { code: 'VALIDATION_ERROR', message: 'Invalid request body' } },
    ]);
  }
  const notJson = await client.call('POST', `/products/${sku}/reservations`, {
    rawBody: '{"customerId":',
    headers: { 'idempotency-key': attemptKey() },
  });
  expect([notJson.status, notJson.body.error?.message]).toEqual([400, 'Invalid request body']);
  // MISSING_AUTHENTICATION_TOKEN: an unknown route, and a known path with another method, are 404 by the template.
  for (const [method, path] of [
    ['GET', '/nope'],
    ['PATCH', `/products/${sku}`],
  ] as const) {
    const missing = await client.call(method, path);
    expect([missing.status, missing.body]).toEqual([
      404,
      { error: { code: 'ROUTE_NOT_FOUND', message: 'No such route' } },
    ]);
  }
  // INVALID_API_KEY.
  const noApiKey = await client.call('GET', `/admin/products/${sku}/ledger`);
  expect([noApiKey.status, noApiKey.body.error?.code]).toEqual([403, 'FORBIDDEN']);
  // Nothing refused above reached a function: no unit was held.
  expect(await client.ledger(sku)).toMatchObject({ held: 0, available: 3 });
  const held = await reserve({ customerId: 'ann', quantity: 1 }, { 'idempotency-key': attemptKey() });
  expect(held.status).toBe(201);
}, 120_000);

test("the usage plan's throttle holds the admin key to its rate and burst, answered with the template's THROTTLED", async () => {
  const { provisioned, runtime } = await start(assemblyDir);
  const api = assemblyApi(provisioned, runtime);
  expect(api.rules.throttles.apiKey).toEqual({ rate: 10, burst: 20 });
  // Each method has the stage's bucket: its own setting where the template has one, else the `*` `/*` default.
  const stage = Object.values(
    JSON.parse(readFileSync(join(assemblyDir, 'Dropline-Stateless.template.json'), 'utf8')).Resources as Record<
      string,
      { Type: string; Properties: { MethodSettings?: Array<Record<string, unknown>> } }
    >,
  ).find((resource) => resource.Type === 'AWS::ApiGateway::Stage');
  const fallback = stage?.Properties.MethodSettings?.find((setting) => setting.ResourcePath === '/*');
  expect(api.rules.throttles.methods.get('GET /health')).toEqual({
    rate: fallback?.ThrottlingRateLimit,
    burst: fallback?.ThrottlingBurstLimit,
  });
  expect(api.rules.throttles.methods.get('PUT /admin/products/{sku}')).toEqual({ rate: 10, burst: 20 });
  const gateway = await startAssemblyGateway(api, { adminKey: 'throttle-admin-key' });
  stoppers.push(() => gateway.stop());
  const client = new ApiClient(gateway.url, 'throttle-admin-key');
  stoppers.push(() => client.close());
  // 100 at once against a bucket of 20 that refills at 10/s: no more pass than the bucket held plus what it
  // refilled while they were answered (however slow this machine is), and the rest are throttled.
  const started = performance.now();
  const answers = await Promise.all(
    Array.from({ length: 100 }, () => client.call('GET', '/admin/products/ASM-NONE/ledger', { admin: true })),
  );
  const seconds = (performance.now() - started) / 1000;
  const throttled = answers.filter((answer) => answer.status === 429);
  expect(answers.length - throttled.length).toBeLessThanOrEqual(20 + Math.ceil(10 * seconds) + 1);
  expect(throttled.length).toBeGreaterThan(0);
  expect(throttled[0]?.body).toEqual({ error: { code: 'THROTTLED', message: 'Too many requests; retry shortly' } });
  expect(throttled[0]?.headers['retry-after']).toBe('1');
}, 120_000);

test('a gateway response and a model edited in a copy of the assembly are what the local gateway answers', async () => {
  const edited = editedCopy((_, template) => {
    for (const resource of Object.values(template.Resources) as Array<{
      Type: string;
      Properties: Record<string, unknown>;
    }>) {
      if (
        resource.Type === 'AWS::ApiGateway::GatewayResponse' &&
        resource.Properties.ResponseType === 'MISSING_AUTHENTICATION_TOKEN'
      ) {
        resource.Properties.StatusCode = '410';
        resource.Properties.ResponseTemplates = { 'application/json': '{"gone":$context.error.messageString}' };
      }
      const schema = resource.Properties.Schema as { properties?: { quantity?: { maximum?: number } } } | undefined;
      if (resource.Type === 'AWS::ApiGateway::Model' && schema?.properties?.quantity?.maximum === 100) {
        schema.properties.quantity.maximum = 1;
      }
    }
  });
  const { provisioned, runtime } = await start(edited);
  const gateway = await startAssemblyGateway(assemblyApi(provisioned, runtime), { adminKey: 'edited-admin-key' });
  stoppers.push(() => gateway.stop());
  const client = new ApiClient(gateway.url, 'edited-admin-key');
  stoppers.push(() => client.close());
  const missing = await client.call('GET', '/nope');
  expect([missing.status, missing.body]).toEqual([410, { gone: 'Missing Authentication Token' }]);
  const two = await client.call('POST', '/products/ASM-EDIT/reservations', {
    body: { customerId: 'ann', quantity: 2 },
    headers: { 'idempotency-key': attemptKey() },
  });
  expect([two.status, two.body.error?.message]).toEqual([400, 'Invalid request body']);
}, 120_000);

test('GET / is the page the assembly deploys (its bucket deployment’s asset), and none when it deploys none', async () => {
  const marked = editedCopy(() => undefined);
  const { provisioned, runtime } = await start(marked);
  const site = assemblySite(provisioned);
  expect(site).toMatch(/asset\.[0-9a-f]{64}$/);
  const page = join(site as string, 'index.html');
  writeFileSync(page, readFileSync(page, 'utf8').replace('<title>', '<title>edited in the assembly: '));
  const gateway = await startAssemblyGateway(assemblyApi(provisioned, runtime), { adminKey: 'k', siteDir: site });
  stoppers.push(() => gateway.stop());
  const served = await fetch(`${gateway.url}/`);
  expect(served.headers.get('content-type')).toMatch(/^text\/html/);
  expect(await served.text()).toContain('<title>edited in the assembly: ');

  const pageless = editedCopy(() => undefined);
  const edgePath = join(pageless, 'Dropline-Edge.template.json');
  const edge = JSON.parse(readFileSync(edgePath, 'utf8')) as { Resources: Record<string, { Type: string }> };
  for (const [id, resource] of Object.entries(edge.Resources)) {
    if (resource.Type === 'Custom::CDKBucketDeployment') delete edge.Resources[id];
  }
  writeFileSync(edgePath, JSON.stringify(edge));
  const bare = await start(pageless);
  expect(assemblySite(bare.provisioned)).toBeUndefined();
  const apiOnly = await startAssemblyGateway(assemblyApi(bare.provisioned, bare.runtime), {
    adminKey: 'k',
    siteDir: null,
  });
  stoppers.push(() => apiOnly.stop());
  const client = new ApiClient(apiOnly.url, 'k');
  stoppers.push(() => client.close());
  expect((await client.call('GET', '/')).body).toMatchObject({ error: { code: 'ROUTE_NOT_FOUND' } });
});

test('`dropline serve --assembly DIR` runs that assembly, says what it does not run, and stops on SIGTERM', async () => {
  const bin = join(import.meta.dirname, '../../bin/dropline.js');
  const child = spawn(process.execPath, [bin, 'serve', '--assembly', assemblyDir, '--port', '0'], {
    env: { ...process.env, DROPLINE_ADMIN_KEY: 'assembly-cli-admin-key', NODE_OPTIONS: '' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  try {
    await eventually(async () => expect(output).toMatch(/Press Ctrl-C to stop/), {
      timeoutMs: 90_000,
      intervalMs: 200,
    });
    const url = /serving the HTTP contract at (http:\/\/\S+)/.exec(output)?.[1];
    expect(url).toBeDefined();
    expect(output).toContain(`cloud assembly:        ${assemblyDir} (${apiRoutes.length} routes, `);
    expect(output).toMatch(/Not run locally:[\s\S]*AWS::WAFv2::WebACL \(\d+\): the edge/);
    // The page its bucket deployment uploads, at the URL it prints.
    expect(output).toContain(`  drop page:             ${url}/?sku=<sku>`);
    expect((await fetch(`${url}/`)).headers.get('content-type')).toMatch(/^text\/html/);
    const client = new ApiClient(url as string, 'assembly-cli-admin-key');
    expect((await client.putProduct('ASM-CLI-1', { name: 'CLI', priceCents: 1, stock: 2 })).status).toBe(201);
    expect((await client.call('GET', '/products/ASM-CLI-1')).body).toMatchObject({ available: 2 });
    // The template's edge function, in front of the API, answers a paused drop once the bundled
    // writer has carried the pause from the stream through the topic into the KeyValueStore.
    expect((await client.call('POST', '/admin/drops/ASM-CLI-1/pause', { admin: true })).status).toBe(200);
    await eventually(async () => {
      const refused = await client.reserve('ASM-CLI-1', 'cli-shopper', 1, attemptKey());
      expect([refused.status, refused.headers['x-dropline-edge']]).toEqual([503, 'answered']);
    });
    await client.close();
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
  } finally {
    if (child.exitCode === null) child.kill('SIGKILL');
  }
}, 120_000);

test('`dropline serve --assembly` refuses a directory that is not an assembly, with exit code 2', async () => {
  const empty = mkdtempSync(join(tmpdir(), 'dropline-empty-'));
  dirs.push(empty);
  const bin = join(import.meta.dirname, '../../bin/dropline.js');
  const child = spawn(process.execPath, [bin, 'serve', '--assembly', empty, '--port', '0'], {
    env: { ...process.env, NODE_OPTIONS: '' },
  });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  expect(await new Promise<number | null>((resolve) => child.once('exit', resolve))).toBe(2);
  expect(stderr).toMatch(/--assembly: .*no manifest\.json/);
});

test('`dropline rehearse --assembly DIR` holds every promise on the assembly', async () => {
  const reports = mkdtempSync(join(tmpdir(), 'dropline-assembly-reports-'));
  dirs.push(reports);
  const bin = join(import.meta.dirname, '../../bin/dropline.js');
  // A small drop: one execution environment per function serves every concurrent request here.
  const args = ['rehearse', '--assembly', assemblyDir, '--stock', '30', '--shoppers', '100', '--duration', '8'];
  const child = spawn(process.execPath, [bin, ...args, '--hold-seconds', '3', '--report-dir', reports, '--json'], {
    env: { ...process.env, NODE_OPTIONS: '' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  const summary = JSON.parse(stdout.trim().split('\n').at(-1) ?? '{}') as { passed?: boolean };
  // The summary names the promise that broke, if one did.
  expect([
    code,
    summary.passed,
    code === 0
      ? ''
      : stdout
          .split('\n')
          .filter((line) => !line.startsWith('{'))
          .join('\n'),
  ]).toEqual([0, true, '']);
  expect(`${stdout}${stderr}`).toContain(`Starting the cloud assembly ${assemblyDir}`);
  // The functions' log lines stay out of the rehearsal's output.
  expect(stdout).not.toMatch(/"level":"(INFO|WARN)"/);
}, 180_000);
