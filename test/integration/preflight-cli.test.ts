/**
 * `dropline preflight` as an operator runs it: the review's plan names the quota raises it needs and
 * exits 1; with those quotas declared in context it passes; a plan of 100,000 holds a second on one
 * SKU fits every partition once its quotas are granted, one past them is refused; a bad plan exits 2
 * naming the field.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const bin = join(import.meta.dirname, '../../bin/dropline.js');
const dir = mkdtempSync(join(tmpdir(), 'dropline-preflight-'));
const reviewPlan = {
  drops: [{ sku: 'SNKR-001', startsAt: '2027-03-01T17:00:00Z', expectedPeakRps: 20000, units: 5000 }],
};

function planFile(name: string, plan: unknown): string {
  const path = join(dir, name);
  writeFileSync(path, typeof plan === 'string' ? plan : JSON.stringify(plan));
  return path;
}

function preflight(...args: string[]) {
  const run = spawnSync(process.execPath, [bin, 'preflight', ...args], {
    env: { ...process.env, NODE_OPTIONS: '' },
    encoding: 'utf8',
    timeout: 60_000,
  });
  return { code: run.status, stdout: run.stdout, stderr: run.stderr };
}

test("names each quota the review's plan needs raised, and exits 1", () => {
  const { code, stdout, stderr } = preflight(
    '--plan',
    planFile('review.json', reviewPlan),
    '--at',
    '2027-01-01T00:00:00Z',
  );
  expect(code).toBe(1);
  expect(stderr).toMatch(/AWS Lambda: Concurrent executions \(-c accountConcurrency\)/);
  expect(stderr).toMatch(/Amazon DynamoDB: Table-level write throughput limit \(-c tableMaxWriteUnits\)/);
  expect(stderr).toMatch(/Amazon API Gateway: Throttle rate \(-c apiAccountRps\): needs 31,000/);
  expect(stderr).not.toMatch(/read throughput/);
  for (const part of [
    'shards',
    'reservation path',
    'checkout path',
    'warm throughput',
    'API throttles',
    'cost estimate',
  ]) {
    expect(stdout).toContain(part);
  }
  expect(stdout).toMatch(/SQS FIFO/);
  expect(stdout).toMatch(/SNS FIFO/);
  expect(stdout).toMatch(/price not verified/);
});

test('passes once context declares what the plan needs', () => {
  const { code, stdout } = preflight(
    '--plan',
    planFile('review.json', reviewPlan),
    '--at',
    '2027-01-01T00:00:00Z',
    '--json',
  );
  const needed = Object.fromEntries(
    (JSON.parse(stdout).quotas as Array<{ contextKey: string; needed: number }>).map((q) => [q.contextKey, q.needed]),
  );
  const granted = Object.entries(needed).map(([key, value]) => `${key}=${value}`);
  const again = preflight(
    '--plan',
    planFile('review.json', reviewPlan),
    '--at',
    '2027-01-01T00:00:00Z',
    ...granted.flatMap((pair) => ['-c', pair]),
  );
  expect(code).toBe(1);
  expect(again.stderr).toBe('');
  expect(again.code).toBe(0);
});

test('keeps past drops: an over drop still counts for warm throughput', () => {
  const { stdout } = preflight('--plan', planFile('review.json', reviewPlan), '--at', '2028-01-01T00:00:00Z');
  expect(stdout).toMatch(/over: counts only for warm throughput/);
  expect(stdout).toMatch(/warm throughput +40,000 WRU\/s/);
});

test.each([
  ['an unknown field', { drops: [{ ...reviewPlan.drops[0], colour: 'red' }] }, /drops\.0.*colour|colour.*drops\.0/],
  ['a malformed date', { drops: [{ ...reviewPlan.drops[0], startsAt: '1 March' }] }, /drops\.0\.startsAt/],
  ['zero units', { drops: [{ ...reviewPlan.drops[0], units: 0 }] }, /drops\.0\.units/],
  ['text that is not JSON', '{"drops": [', /is not JSON/],
])('refuses a plan with %s, exit 2, naming it', (_, plan, field) => {
  const { code, stderr, stdout } = preflight('--plan', planFile('bad.json', plan));
  expect(code).toBe(2);
  expect(stderr).toMatch(field);
  expect(stdout).toBe('');
});

test('refuses context that is not a whole number, naming the key', () => {
  const { code, stderr } = preflight('--plan', planFile('review.json', reviewPlan), '-c', 'accountConcurrency=lots');
  expect(code).toBe(2);
  expect(stderr).toMatch(/accountConcurrency/);
});

test('puts 100,000 holds a second on one SKU within every partition, once the quotas it names are granted', () => {
  const hundredK = {
    drops: [{ sku: 'SNKR-100K', startsAt: '2027-06-01T17:00:00Z', expectedPeakRps: 100_000, units: 50_000 }],
  };
  const granted = [
    'accountConcurrency=40000',
    'tableMaxWriteUnits=1000000',
    'tableMaxReadUnits=300000',
    'apiAccountRps=160000',
    'apiAccountBurst=80000',
  ];
  const { code, stdout, stderr } = preflight(
    '--plan',
    planFile('100k.json', hundredK),
    '--at',
    '2027-05-01T00:00:00Z',
    ...granted.flatMap((pair) => ['-c', pair]),
  );
  expect(stderr).toBe('');
  expect(code).toBe(0);
  expect(stdout).toMatch(/shards +10,000 /);
  expect(stdout).toMatch(/holds\/s +100,000 /);
  expect(stdout).toMatch(
    /stock view .* \d+ stock-vector replica\(s\) of 30 KB, published by the sweeper once a second/,
  );
  expect(stdout).toMatch(/ok +stock-vector replica RCU\/s +[\d,]+ \/ 3,000/);
  expect(stdout).not.toMatch(/OVER/);
});

test('refuses a plan that takes an item past its partition, exit 1, naming the item', () => {
  const tooHot = {
    drops: [{ sku: 'TOO-HOT', startsAt: '2027-06-01T17:00:00Z', expectedPeakRps: 200_000, units: 50_000 }],
  };
  const { code, stdout, stderr } = preflight(
    '--plan',
    planFile('too-hot.json', tooHot),
    '--at',
    '2027-05-01T00:00:00Z',
  );
  expect(code).toBe(1);
  expect(stdout).toMatch(/OVER +product replica RCU\/s/);
  expect(stderr).toMatch(/TOO-HOT: each product replica takes [\d]+ RCU\/s, over the 3000 one partition serves/);
});
