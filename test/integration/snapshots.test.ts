/**
 * Snapshots never fight the spike: the relay builds each SKU's snapshot from
 * the shard images the stream already carries, folded into one snapshot item,
 * so while holds hammer the stock shards not one transactional read
 * (TransactGetItems) touches them — and every channel still ends equal to the
 * ledger. The proxy in front of DynamoDB Local counts the calls.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, GetCommand, PutCommand, TransactWriteCommand } from '@aws-sdk/lib-dynamodb';
import { SHARDS_PER_SNAPSHOT_GROUP } from '../../contract/stock-view';
import { keys } from '../../lambdas/adapters/dynamodb-inventory-items';
import { DynamoDbInventoryStore } from '../../lambdas/adapters/dynamodb-inventory-store';
import type { SweepSummary } from '../../lambdas/handlers/expire-holds';
import { ApiClient, type ApiResponse, untilSettled } from '../../local/api-client';
import { eventually } from '../support/eventually';
import { expectBalanced } from '../support/ledger';
import { type AssemblyTemplate, type AssemblyTestStack, startTestStack } from '../support/local-stack';
import { inventoryOn } from '../support/test-table';

let stack: AssemblyTestStack;
let api: ApiClient;
/** Sends of one request before its answer counts as final. */
const RETRIES = 20;

/**
 * The app's assembly with the sweeper's schedule disabled: its reconciliation runs when a test invokes it,
 * never on its own between a test's write and its check (a scheduled run once repaired the stale vector
 * the reconciliation test had just written, before the test could see it stale).
 */
function sweeperOnlyWhenInvoked(templates: Readonly<Record<string, AssemblyTemplate>>): void {
  for (const [stackName, template] of Object.entries(templates)) {
    for (const [logicalId, resource] of Object.entries(template.Resources)) {
      const target = JSON.stringify((resource.Properties as { Target?: unknown } | undefined)?.Target);
      if (resource.Type !== 'AWS::Scheduler::Schedule' || !/ExpireHolds/.test(target)) continue;
      (resource.Properties as Record<string, unknown>).State = 'DISABLED';
      disabledSchedules.push(`${stackName}.${logicalId}`);
    }
  }
  if (disabledSchedules.length !== 1) throw new Error('the edit no longer applies to the app: no sweeper schedule');
}
const disabledSchedules: string[] = [];

beforeAll(async () => {
  // One sweep per invocation (the template's sweeps every second for 55 s), and no scheduled invocation.
  stack = await startTestStack({ environment: { SWEEP_FOR_SECONDS: '0' }, edit: sweeperOnlyWhenInvoked });
  api = new ApiClient(stack.url, stack.adminKey, 128);
});

afterAll(async () => {
  await api.close();
  await stack.stop();
});

test('a spike of holds and releases reaches every channel with no transactional read of a stock shard', async () => {
  const sku = 'snapshot-spike';
  await api.putProduct(sku, { name: 'Spike', priceCents: 100, stock: 120, shards: 4, maxPerCustomer: 2 });
  stack.dynamodbRequests.reset();

  // On a loaded machine a request may answer 429 or 503, and a 503 may come after its write (an answer lost
  // on the way back): each is sent again, with its idempotency key, until it is answered for good — what the
  // contract asks of a client — so that every unit the spike moved is counted.
  const settled = async (request: () => Promise<ApiResponse>) => (await untilSettled(request, RETRIES)).response;
  const holds = await Promise.all(
    Array.from({ length: 150 }, (_, index) =>
      settled(() => api.reserve(sku, `spiker-${index}`, 1, `snapshot-spike-${index}`)),
    ),
  );
  expect(holds.filter((response) => response.status !== 201 && response.status !== 409)).toEqual([]);
  const held = holds.filter((response) => response.status === 201).map((response) => response.body.reservationId);
  const releases = await Promise.all(
    held.slice(0, 30).map((id) => settled(() => api.call('DELETE', `/reservations/${id}`))),
  );
  expect(releases.map((response) => response.status)).toEqual(releases.map(() => 200));
  const released = releases.length;
  const available = 120 - held.length + released;
  expect(released).toBeGreaterThan(0);

  const ledger = await api.ledger(sku);
  expectBalanced(ledger);
  expect(ledger).toMatchObject({ supplied: 120, held: held.length - released, available });
  // The storefront's view (what GET /products answers from) is fed by the same snapshots.
  const settling = Date.now();
  await eventually(async () => expect((await api.call('GET', `/products/${sku}`)).body).toMatchObject({ available }), {
    timeoutMs: 20_000,
  });
  console.info(
    `snapshots: storefront view converged ${Date.now() - settling} ms after the spike`,
    stack.dynamodbRequests.counts(),
  );
  expect(stack.dynamodbRequests.counts().TransactGetItems ?? 0).toBe(0);
  // The admin view of the channels (a transactional read of its own, off the hot path) agrees.
  await eventually(async () => {
    const { body } = await api.call('GET', `/admin/products/${sku}/channels`, { admin: true });
    for (const channel of body.channels) expect(channel).toMatchObject({ synced: true, available });
  });
});

test('an environment refreshes its stock view with one small read, whatever the shard count', async () => {
  const sku = 'snapshot-vector';
  await api.putProduct(sku, { name: 'Wide', priceCents: 100, stock: 640, shards: 64, maxPerCustomer: 2 });
  // The relay has folded every shard in once the storefront shows the product's stock.
  await eventually(async () =>
    expect((await api.call('GET', `/products/${sku}`)).body).toMatchObject({ available: 640 }),
  );
  await new Promise((resolve) => setTimeout(resolve, 1100));
  stack.dynamodbRequests.reset();

  for (let round = 0; round < 3; round++) {
    // Each round starts with the view expired: the refresh is what is counted.
    const answers = await Promise.all(
      Array.from({ length: 20 }, (_, index) => api.reserve(sku, `wide-${round}-${index}`, 1, `wide-${round}-${index}`)),
    );
    for (const answer of answers) expect(answer.status).toBe(201);
    await new Promise((resolve) => setTimeout(resolve, 1100));
  }

  // No request path read the 64 shards: the view came from the one stock-vector item, each refresh one
  // GetItem. (The sweeper's reconciliation reads them, once per SKU every 30 s: at most once here.)
  const shardReads = [...stack.dynamodbRequests.batchReads()].filter(([key]) => key.startsWith(`STOCK#${sku}#`));
  expect(Math.max(0, ...shardReads.map(([, reads]) => reads))).toBeLessThanOrEqual(1);
});

test('a stock vector left stale by a lost stream record is repaired by the sweeper’s reconciliation', async () => {
  const sku = 'snapshot-heal';
  await api.putProduct(sku, { name: 'Heal', priceCents: 100, stock: 4, shards: 2, maxPerCustomer: 2 });
  const holds = await Promise.all([api.reserve(sku, 'heal-a', 2, 'heal-a'), api.reserve(sku, 'heal-b', 2, 'heal-b')]);
  await api.call('DELETE', `/reservations/${holds[0]?.body.reservationId}`);
  const client = DynamoDBDocumentClient.from(new DynamoDBClient({ endpoint: stack.endpoints.dynamodb }));
  const vectorKey = { pk: `STOCKVIEW#${sku}` };
  const vector = await eventually(async () => {
    const { Item } = await client.send(new GetCommand({ TableName: stack.tableName, Key: vectorKey }));
    // Three writes to the shards (two holds, one release): the relay has folded all of them.
    expect(Item).toMatchObject({ version: 3, available: expect.any(Array) });
    expect(((Item?.available ?? []) as number[]).reduce((sum, units) => sum + units, 0)).toBe(2);
    return Item as { version: number };
  });
  // The record that returned the units is lost: the vector still says sold out, one version back. A relay
  // batch still on its way (the product's creation, which publishes only while no vector exists, can read
  // the groups before the vector and write after) would repair it as the sweeper does: it is made stale
  // again until it stays so.
  const stale = { ...vector, available: [0, 0], version: vector.version - 1 };
  await eventually(
    async () => {
      await client.send(new PutCommand({ TableName: stack.tableName, Item: stale }));
      await new Promise((resolve) => setTimeout(resolve, 1100));
      const { Item } = await client.send(
        new GetCommand({ TableName: stack.tableName, Key: vectorKey, ConsistentRead: true }),
      );
      expect(Item).toMatchObject({ version: stale.version });
    },
    { timeoutMs: 10_000, intervalMs: 0 },
  );
  expect((await api.reserve(sku, 'heal-c', 1, 'heal-c-1')).status).toBe(409);

  // The sweeper reconciles at most once every 30 s per execution environment: it is invoked until its run
  // reconciles.
  await eventually(
    async () => expect(((await stack.invoke('ExpireHolds')) as SweepSummary).reconciled).toBeGreaterThanOrEqual(1),
    { timeoutMs: 40_000, intervalMs: 1000 },
  );
  await new Promise((resolve) => setTimeout(resolve, 1100));

  expect((await api.reserve(sku, 'heal-c', 1, 'heal-c-2')).status).toBe(201);
  // The disabled schedule never ran (a run of one sweep ends within seconds of the stack's start).
  expect(disabledSchedules.map((id) => stack.traffic().schedules.get(id) ?? 0)).toEqual([0]);
  client.destroy();
});

test('a product of more shards than one transaction holds gets its snapshot, though its shards are written before it', async () => {
  const sku = 'snapshot-wide';
  const created = await api.putProduct(sku, { name: 'Wide', priceCents: 100, stock: 2500, shards: 250 });
  expect(created.status).toBe(201);

  await eventually(
    async () => {
      const { body } = await api.call('GET', `/admin/products/${sku}/channels`, { admin: true });
      for (const channel of body.channels) expect(channel).toMatchObject({ synced: true, available: 2500 });
    },
    { timeoutMs: 20_000 },
  );
  const client = DynamoDBDocumentClient.from(new DynamoDBClient({ endpoint: stack.endpoints.dynamodb }));
  const { Item } = await client.send(new GetCommand({ TableName: stack.tableName, Key: { pk: `STOCKVIEW#${sku}` } }));
  expect(Item?.available).toHaveLength(250);
  client.destroy();
});

test('a wide product whose every shard the relay folded before the product existed is published on its creation', async () => {
  const sku = 'snapshot-late-product';
  const shards = 250;
  const client = DynamoDBDocumentClient.from(new DynamoDBClient({ endpoint: stack.endpoints.dynamodb }));
  // The store's own write path, with its last transaction (the product item, which makes the shards live)
  // held back until the assembly's relay has folded every shard's record: the order the stream makes when
  // the relay is quicker than the product write. No later shard record comes to publish them.
  let releaseProduct: () => void = () => undefined;
  const productHeld = new Promise<void>((resolve) => {
    releaseProduct = resolve;
  });
  const holdingProduct = new Proxy(client, {
    get(target, property, receiver) {
      if (property !== 'send') return Reflect.get(target, property, receiver);
      return async (command: Parameters<typeof client.send>[0]) => {
        const items = command instanceof TransactWriteCommand ? (command.input.TransactItems ?? []) : [];
        if (items.some((item) => item.Put?.Item?.kind === 'product')) await productHeld;
        return target.send(command as TransactWriteCommand);
      };
    },
  });
  const inventory = inventoryOn(new DynamoDbInventoryStore(holdingProduct, stack.tableName), {
    client,
    tableName: stack.tableName,
  });
  const creating = inventory.upsertProduct({
    sku,
    name: 'Late',
    priceCents: 100,
    stock: 2500,
    shards,
    maxPerCustomer: 2,
  });

  const groups = Array.from({ length: Math.ceil(shards / SHARDS_PER_SNAPSHOT_GROUP) }, (_, group) => group);
  try {
    await eventually(
      async () => {
        const folded = await Promise.all(
          groups.map(async (group) => {
            const { Item = {} } = await client.send(
              new GetCommand({ TableName: stack.tableName, Key: keys.snapshot(sku, group) }),
            );
            return Object.keys(Item).filter((name) => name.startsWith('shard')).length;
          }),
        );
        expect(folded.reduce((sum, count) => sum + count, 0)).toBe(shards);
      },
      { timeoutMs: 20_000 },
    );
  } finally {
    // Whatever the wait found, the product write is let go: nothing is left hanging after the test.
    releaseProduct();
  }
  expect(await creating).toMatchObject({ created: true });

  await eventually(
    async () => {
      const { body } = await api.call('GET', `/admin/products/${sku}/channels`, { admin: true });
      for (const channel of body.channels) expect(channel).toMatchObject({ synced: true, available: 2500 });
    },
    { timeoutMs: 20_000 },
  );
  client.destroy();
});
