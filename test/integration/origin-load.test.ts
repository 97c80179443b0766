/**
 * The origin's shed counts (`lambdas/domain/origin-load.ts`, `lambdas/adapters/dynamodb-shed-counts.ts`)
 * on DynamoDB Local: an environment's refusals reach the SKU's count at most once a second, spread over the
 * count's items and kept a day; a write DynamoDB refused keeps its count for the next one, one given up
 * after it was sent does not (it may have been applied), and counts an idle environment kept past 5 s are
 * dropped.
 */
import { ScanCommand } from '@aws-sdk/lib-dynamodb';
import { keyPrefixes, LOAD_COUNT_SHARDS } from '../../contract/inventory-table';
import { DynamoDbShedCounts } from '../../lambdas/adapters/dynamodb-shed-counts';
import {
  MAX_PENDING_SKUS,
  SHED_FLUSH_MS,
  SHED_STALE_MS,
  type ShedCounts,
  ShedReporter,
} from '../../lambdas/domain/origin-load';
import { testTable } from '../support/test-table';

const table = testTable('origin-load');

beforeAll(() => table.provision());

afterAll(() => table.dynamodb.destroy());

function reporterOn(counts: ShedCounts) {
  const clock = { ms: 1_000_000, now: () => clock.ms };
  const errors: unknown[] = [];
  return { reporter: new ShedReporter(counts, clock, (error) => errors.push(error)), clock, errors };
}

test('adds what an environment shed once a second at most, and the total sums every environment’s item', async () => {
  const sku = 'shed-total';
  const counts = [0, 3, 3].map((shard) => new DynamoDbShedCounts(table.client, table.tableName, { shard }));
  const [first, second, third] = counts.map(reporterOn) as [
    ReturnType<typeof reporterOn>,
    ReturnType<typeof reporterOn>,
    ReturnType<typeof reporterOn>,
  ];
  const reader = counts[0] as DynamoDbShedCounts;

  expect(await reader.total(sku)).toBe(0);
  first.reporter.shed(sku);
  await first.reporter.flushIfDue();
  expect(await reader.total(sku)).toBe(1);

  // Within the second: counted, not written.
  first.reporter.shed(sku);
  first.reporter.shed(sku);
  first.clock.ms += SHED_FLUSH_MS - 1;
  await first.reporter.flushIfDue();
  expect(await reader.total(sku)).toBe(1);
  first.clock.ms += 1;
  await first.reporter.flushIfDue();
  expect(await reader.total(sku)).toBe(3);

  // Two more environments, one on the same item as another.
  for (const { reporter } of [second, third]) {
    for (let n = 0; n < 5; n++) reporter.shed(sku);
    reporter.shed('other-sku');
    await reporter.flushIfDue();
  }
  expect(await reader.total(sku)).toBe(13);
  expect(await reader.total('other-sku')).toBe(2);
  expect([first, second, third].flatMap(({ errors }) => errors)).toEqual([]);

  // Every count is under LOAD#, on the item of the environment that shed.
  const { Items } = await table.client.send(new ScanCommand({ TableName: table.tableName }));
  const loadItems = (Items ?? []).filter((item) => String(item.pk).startsWith(keyPrefixes.load));
  expect(loadItems.map((item) => [item.pk, item.shed]).sort()).toEqual([
    [`${keyPrefixes.load}other-sku#3`, 2],
    [`${keyPrefixes.load}${sku}#0`, 3],
    [`${keyPrefixes.load}${sku}#3`, 10],
  ]);
});

test('spreads environments over the count’s items when none is named', () => {
  const shards = new Set(
    Array.from(
      { length: 200 },
      () =>
        (
          new DynamoDbShedCounts(table.client, table.tableName) as unknown as {
            shard: number;
          }
        ).shard,
    ),
  );

  expect([...shards].every((shard) => Number.isInteger(shard) && shard >= 0 && shard < LOAD_COUNT_SHARDS)).toBe(true);
  expect(shards.size).toBe(LOAD_COUNT_SHARDS);
});

test('a write that fails keeps its count for the next one, and says so', async () => {
  const sku = 'shed-unwritable';
  // First a table that does not exist (DynamoDB refuses the write, as it refuses any), then the table.
  const working = new DynamoDbShedCounts(table.client, table.tableName, { shard: 1 });
  let target = new DynamoDbShedCounts(table.client, `${table.tableName}-missing`, { shard: 1 });
  const { reporter, clock, errors } = reporterOn({
    add: (name, count) => target.add(name, count),
    total: (name) => target.total(name),
  });
  reporter.shed(sku);
  reporter.shed(sku);

  await reporter.flushIfDue();

  expect(errors).toHaveLength(1);
  expect(await working.total(sku)).toBe(0);
  target = working;
  reporter.shed(sku);
  clock.ms += SHED_FLUSH_MS;
  await reporter.flushIfDue();
  expect(await working.total(sku)).toBe(3);
  expect(errors).toHaveLength(1);
});

test('counts at most 8 SKUs between writes: made-up SKUs in the path cannot grow the next write', async () => {
  const counts = new DynamoDbShedCounts(table.client, table.tableName, { shard: 5 });
  const { reporter } = reporterOn(counts);
  const skus = Array.from({ length: 20 }, (_, index) => `made-up-${index}`);
  for (const sku of skus) {
    reporter.shed(sku);
    reporter.shed(sku);
  }

  await reporter.flushIfDue();

  const totals = await Promise.all(skus.map((sku) => counts.total(sku)));
  expect(MAX_PENDING_SKUS).toBe(8);
  expect(totals).toEqual([...Array(8).fill(2), ...Array(12).fill(0)]);
});

test('each count item expires a day after its last refusal (the table’s TTL), so made-up SKUs leave nothing behind', async () => {
  const at = Date.parse('2026-12-01T10:00:00Z');
  const counts = new DynamoDbShedCounts(table.client, table.tableName, { shard: 6, now: () => at });

  await counts.add('expiring', 4);

  const { Items } = await table.client.send(new ScanCommand({ TableName: table.tableName }));
  const item = (Items ?? []).find((candidate) => candidate.pk === `${keyPrefixes.load}expiring#6`);
  expect(item).toEqual({ pk: `${keyPrefixes.load}expiring#6`, shed: 4, ttl: at / 1000 + 24 * 3600 });
});

test('a write given up after it was sent (it may have been applied) is not sent again: refusals are not counted twice', async () => {
  const sku = 'shed-slow';
  const unbounded = new DynamoDbShedCounts(table.client, table.tableName, { shard: 7 });
  // 1 ms: no answer from DynamoDB Local comes that fast, so the SDK's call is aborted, retries and all.
  let target = new DynamoDbShedCounts(table.client, table.tableName, { shard: 7, writeTimeoutMs: 1 });
  const sent: number[] = [];
  const { reporter, clock, errors } = reporterOn({
    add: (name, count) => {
      sent.push(count);
      return target.add(name, count);
    },
    total: (name) => target.total(name),
  });
  reporter.shed(sku);
  reporter.shed(sku);

  await reporter.flushIfDue();

  expect(errors).toEqual([expect.objectContaining({ name: 'AbortError' })]);
  target = unbounded;
  reporter.shed(sku);
  clock.ms += SHED_FLUSH_MS;
  await reporter.flushIfDue();
  expect(sent).toEqual([2, 1]);
  expect(errors).toHaveLength(1);
});

test('a read of the count that takes longer than its bound fails, for the controller to steer by the take alone', async () => {
  const slow = new DynamoDbShedCounts(table.client, table.tableName, { readTimeoutMs: 1 });

  await expect(slow.total('shed-total')).rejects.toMatchObject({ name: 'AbortError' });
});

test('drops counts an idle environment kept past 5 s: written late, they would read as shedding now', async () => {
  const sku = 'shed-stale';
  const counts = new DynamoDbShedCounts(table.client, table.tableName, { shard: 4 });
  const { reporter, clock } = reporterOn(counts);
  reporter.shed(sku);
  await reporter.flushIfDue();
  reporter.shed(sku);
  reporter.shed(sku);

  clock.ms += SHED_STALE_MS + 1;
  await reporter.flushIfDue();
  expect(await counts.total(sku)).toBe(1);

  // Counting begins again with the next refusal.
  reporter.shed(sku);
  await reporter.flushIfDue();
  expect(await counts.total(sku)).toBe(2);

  // A refusal after a long idle spell is not dropped with the stale counts kept before it.
  clock.ms += SHED_FLUSH_MS;
  reporter.shed(sku);
  clock.ms += SHED_STALE_MS + 1;
  reporter.shed(sku);
  await reporter.flushIfDue();
  expect(await counts.total(sku)).toBe(3);
});

test('writes nothing when nothing was shed', async () => {
  const before = await table.client.send(new ScanCommand({ TableName: table.tableName, Select: 'COUNT' }));
  const { reporter, clock } = reporterOn(new DynamoDbShedCounts(table.client, table.tableName, { shard: 2 }));

  clock.ms += 10 * SHED_FLUSH_MS;
  await reporter.flushIfDue();

  const after = await table.client.send(new ScanCommand({ TableName: table.tableName, Select: 'COUNT' }));
  expect(after.Count).toBe(before.Count);
});
