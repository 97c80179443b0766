/**
 * `dropline serve --aws-endpoint URL` runs the app's assembly against one AWS-compatible endpoint, as
 * LocalStack offers: every service's calls go to that one URL. The endpoint here is a router in front of
 * the run's own emulators — DynamoDB and DynamoDB Streams calls (`X-Amz-Target: DynamoDB…`) to this
 * file's DynamoDB Local, everything else (SQS, SNS) to fauxqs — so the test sees what reached it: the
 * assembly's table created there, and a drop's writes and its channel sync carried through it.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { DynamoDBClient, ListTablesCommand } from '@aws-sdk/client-dynamodb';
import { ApiClient } from '../../local/api-client';
import { ownAssembly } from '../../local/assembly/own-assembly';
import { eventually } from '../support/eventually';

const bin = join(import.meta.dirname, '../../bin/dropline.js');
const ADMIN_KEY = 'aws-endpoint-admin-key';

interface Router {
  readonly url: string;
  readonly calls: { dynamodb: number; other: number };
  stop(): Promise<void>;
}

function requireTestEnv(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is unset: run the tests through jest (its global setup starts the emulators)`);
  return value;
}

/** One endpoint for every service, as LocalStack is. */
async function startRouter(dynamodb: string, other: string): Promise<Router> {
  const calls = { dynamodb: 0, other: 0 };
  const server: Server = createServer((incoming, outgoing) => {
    const toDynamoDb = String(incoming.headers['x-amz-target'] ?? '').startsWith('DynamoDB');
    if (toDynamoDb) calls.dynamodb++;
    else calls.other++;
    const upstream = new URL(toDynamoDb ? dynamodb : other);
    const forward = request(
      {
        host: upstream.hostname,
        port: upstream.port,
        method: incoming.method,
        path: incoming.url,
        headers: { ...incoming.headers, host: upstream.host },
      },
      (answer) => {
        outgoing.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(outgoing);
      },
    );
    forward.on('error', () => outgoing.destroy());
    incoming.pipe(forward);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    calls,
    stop: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

function waitForLine(child: ChildProcess, pattern: RegExp, timeoutMs = 120_000): Promise<RegExpMatchArray> {
  return new Promise((resolve, reject) => {
    let output = '';
    const timer = setTimeout(() => reject(new Error(`no line matching ${pattern} in:\n${output}`)), timeoutMs);
    const read = (chunk: Buffer) => {
      output += chunk.toString();
      const match = output.match(pattern);
      if (match) {
        clearTimeout(timer);
        resolve(match);
      }
    };
    child.stdout?.on('data', read);
    child.stderr?.on('data', read);
    child.once('exit', (code) => reject(new Error(`exited with ${code} before ${pattern}:\n${output}`)));
  });
}

let router: Router;

beforeAll(async () => {
  // Synthesized (or found cached) here, so the served process starts within its line's timeout.
  await ownAssembly();
  router = await startRouter(
    requireTestEnv('DROPLINE_TEST_DYNAMODB_ENDPOINT'),
    requireTestEnv('DROPLINE_TEST_SQS_ENDPOINT'),
  );
}, 300_000);

afterAll(() => router.stop());

test('serves the assembly on one AWS-compatible endpoint: its table, its writes and its channel sync go there', async () => {
  const child = spawn(process.execPath, [bin, 'serve', '--port', '0', '--aws-endpoint', router.url], {
    env: { ...process.env, DROPLINE_ADMIN_KEY: ADMIN_KEY, NODE_OPTIONS: '' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
  try {
    const [, url] = (await waitForLine(child, /serving the HTTP contract at (http:\/\/\S+)/)) as [string, string];
    const dynamodb = new DynamoDBClient({
      endpoint: requireTestEnv('DROPLINE_TEST_DYNAMODB_ENDPOINT'),
      region: 'us-east-1',
      credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    });
    const { TableNames = [] } = await dynamodb.send(new ListTablesCommand({}));
    dynamodb.destroy();
    // The template's table, named as CloudFormation would name it, on the endpoint's DynamoDB.
    expect(TableNames.some((name) => name.startsWith('Dropline-Stateful-Inventory'))).toBe(true);

    const api = new ApiClient(url, ADMIN_KEY);
    const sku = 'endpoint-sku';
    expect((await api.putProduct(sku, { name: 'Endpoint', priceCents: 100, stock: 5 })).status).toBe(201);
    const before = { ...router.calls };
    expect((await api.reserve(sku, 'endpoint-shopper', 2, 'endpoint-key')).status).toBe(201);
    // Channel sync crosses the stream, the topic and the channel queues: all of it through the one endpoint.
    await eventually(
      async () => {
        const { body } = await api.admin('GET', `/admin/products/${sku}/channels`);
        for (const channel of body.channels) expect(channel).toMatchObject({ synced: true, available: 3 });
      },
      { timeoutMs: 30_000 },
    );
    expect(router.calls.dynamodb).toBeGreaterThan(before.dynamodb);
    expect(router.calls.other).toBeGreaterThan(before.other);
    await api.close();

    child.kill('SIGTERM');
    expect(await exited).toBe(0);
  } finally {
    if (child.exitCode === null) child.kill('SIGKILL');
  }
}, 300_000);
