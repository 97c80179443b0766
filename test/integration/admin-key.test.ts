/**
 * The admin routes open only to the configured key: the local stack refuses
 * to start with an empty or short one, and a wrong key — empty, shorter or
 * longer than the real one — is answered 403 and changes nothing.
 *
 * Both runtimes refuse a bad key before provisioning anything: the assembly
 * (`startAssemblyStack`) the key it is given, the hand-wired runtime
 * (`startLocalStack`) also one it reads from DROPLINE_ADMIN_KEY, as `serve`
 * and `rehearse` do (`serve-cli.test.ts`).
 */
import { randomBytes } from 'node:crypto';
import { DynamoDBClient, ListTablesCommand } from '@aws-sdk/client-dynamodb';
import type { APIGatewayProxyEvent } from 'aws-lambda';
import { apiRoutes } from '../../contract/routes';
import { AdminKeyError } from '../../local/admin-key';
import { ApiClient } from '../../local/api-client';
import { ownAssembly } from '../../local/assembly/own-assembly';
import { startAssemblyStack } from '../../local/assembly/run';
import { startGateway } from '../../local/event-sources/api-gateway';
import { startLocalStack } from '../../local/stack';
import { startTestStack, type TestStack } from '../support/local-stack';

let stack: TestStack;
let api: ApiClient;

beforeAll(async () => {
  stack = await startTestStack();
  api = new ApiClient(stack.url, stack.adminKey);
});

afterAll(async () => {
  await api.close();
  await stack.stop();
});

async function tableNames(): Promise<string[]> {
  const dynamodb = new DynamoDBClient({ endpoint: stack.endpoints.dynamodb });
  try {
    return (await dynamodb.send(new ListTablesCommand({}))).TableNames ?? [];
  } finally {
    dynamodb.destroy();
  }
}

describe('the local stack refuses a key that would leave the admin routes open, before provisioning anything', () => {
  const saved = process.env.DROPLINE_ADMIN_KEY;
  afterEach(() => {
    if (saved === undefined) delete process.env.DROPLINE_ADMIN_KEY;
    else process.env.DROPLINE_ADMIN_KEY = saved;
  });

  test.each([
    ['an empty DROPLINE_ADMIN_KEY', { env: '' }],
    ['a 15-character DROPLINE_ADMIN_KEY', { env: 'fifteen-chars-k' }],
    ['an empty adminKey option', { option: '' }],
    ['a 15-character adminKey option', { option: 'fifteen-chars-k' }],
  ])('%s', async (_, { env, option }: { env?: string; option?: string }) => {
    if (env !== undefined) process.env.DROPLINE_ADMIN_KEY = env;
    const tableName = `dropline-refused-${randomBytes(4).toString('hex')}`;

    const starting = startLocalStack({
      endpoints: stack.endpoints,
      tableName,
      port: 0,
      ...(option !== undefined ? { adminKey: option } : {}),
    });
    // Should the stack start anyway, stop it so that the failure below is the only trace.
    starting.then((started) => started.stop()).catch(() => undefined);

    await expect(starting).rejects.toThrow(AdminKeyError);
    await expect(starting).rejects.toThrow(/DROPLINE_ADMIN_KEY.*at least 16 characters/);
    expect(await tableNames()).not.toContain(tableName);
  });
});

test.each([
  ['an empty', ''],
  ['a 15-character', 'fifteen-chars-k'],
])('the assembly refuses %s admin key before provisioning anything', async (_, adminKey) => {
  const own = await ownAssembly();
  const before = await tableNames();

  const starting = startAssemblyStack({ assemblyDir: own.dir, adminKey, endpoints: stack.endpoints, port: 0 });
  // Should it start anyway, stop it so that the failure below is the only trace.
  starting.then((started) => started.stop()).catch(() => undefined);

  await expect(starting).rejects.toThrow(AdminKeyError);
  await expect(starting).rejects.toThrow(/at least 16 characters/);
  expect(await tableNames()).toEqual(before);
});

test('a gateway given an empty key admits no one, an empty x-api-key header included', async () => {
  const calls: APIGatewayProxyEvent[] = [];
  const recorder = async (event: APIGatewayProxyEvent) => {
    calls.push(event);
    return { statusCode: 200, body: '{}' };
  };
  const gateway = await startGateway({
    routes: apiRoutes,
    handlers: new Map(apiRoutes.map((route) => [route.handler, recorder])),
    adminKey: '',
  });
  const client = new ApiClient(gateway.url, '');
  try {
    const withEmpty = await client.call('GET', '/admin/products/x/ledger', { headers: { 'x-api-key': '' } });
    const withNone = await client.call('GET', '/admin/products/x/ledger');

    expect([withEmpty.status, withNone.status]).toEqual([403, 403]);
    expect(calls).toHaveLength(0);
  } finally {
    await client.close();
    await gateway.stop();
  }
});

describe('a wrong admin key is answered 403 FORBIDDEN and changes nothing', () => {
  const sku = 'admin-key-guarded';
  const wrongKeys = (): Array<[string, string]> => [
    ['empty', ''],
    ['one character', 'x'],
    ['one character short of the real key', stack.adminKey.slice(0, -1)],
    ['the real key and one more character', `${stack.adminKey}x`],
    ['much longer than the real key', 'k'.repeat(256)],
  ];

  beforeAll(async () => {
    expect((await api.putProduct(sku, { name: 'Guarded', priceCents: 24_000, stock: 5 })).status).toBe(201);
  });

  test('on product PUT, restock and ledger, whatever the wrong key’s length', async () => {
    const before = await api.ledger(sku);
    const product = (await api.call('GET', `/products/${sku}`)).body;

    for (const [, key] of wrongKeys()) {
      const headers = { 'x-api-key': key, 'idempotency-key': `restock-${key.length}` };
      const answers = await Promise.all([
        api.call('PUT', `/admin/products/${sku}`, { body: { name: 'Free', priceCents: 0, stock: 5 }, headers }),
        api.call('PUT', `/admin/products/admin-key-new-${key.length}`, {
          body: { name: 'Planted', priceCents: 0, stock: 1_000 },
          headers,
        }),
        api.call('POST', `/admin/products/${sku}/restock`, { body: { quantity: 100 }, headers }),
        api.call('GET', `/admin/products/${sku}/ledger`, { headers }),
      ]);
      for (const answer of answers) {
        expect(answer.status).toBe(403);
        expect(answer.body.error.code).toBe('FORBIDDEN');
      }
    }

    expect(await api.ledger(sku)).toEqual(before);
    expect((await api.call('GET', `/products/${sku}`)).body).toEqual(product);
    for (const [, key] of wrongKeys()) {
      expect((await api.call('GET', `/products/admin-key-new-${key.length}`)).status).toBe(404);
    }
  });
});
