/**
 * The benchmark still runs and still tells the truth, on a tiny load (its
 * figures at this size are not benchmarks: only the deterministic ones are
 * asserted — no writes after sell-out, no oversell, the naive baselines).
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';

test('npm run bench prints its figures as one JSON object on the last line', () => {
  const root = join(import.meta.dirname, '../..');
  const result = spawnSync(
    process.execPath,
    [
      join(root, 'node_modules/tsx/dist/cli.mjs'),
      'bench/run.ts',
      '--json',
      '--rounds=1',
      '--attempts=60',
      '--concurrency=4',
      '--spike-stock=40',
      '--spike-attempts=120',
    ],
    { cwd: root, encoding: 'utf8', env: { ...process.env, NODE_OPTIONS: '' }, timeout: 290_000 },
  );
  expect(result.stderr).not.toContain('bench failed');
  expect(result.status).toBe(0);

  const figures = JSON.parse(result.stdout.trim().split('\n').at(-1) ?? '{}');
  expect(figures).toMatchObject({
    writesPerRejectedAttempt: 0,
    naiveWritesPerRejectedAttempt: 1,
    singleItemWriteShare: 1,
    droplineOversold: 0,
    shards: 8,
    goals: { writesPerRejectedAttempt: true, droplineOversold: true, maxHandlerBundleKiB: true },
  });
  expect(figures.naiveOversold).toBeGreaterThan(0);
  for (const name of [
    'reservePathVsRawTransact',
    'reserveP99VsRawP99',
    'hottestItemWriteShare',
    'reserveInitVsEmptyInit',
    'reserveCpuSdkTracingVsService',
    'reserveRateSdkTracingVsService',
  ]) {
    expect(Number.isFinite(figures[name])).toBe(true);
  }
}, 300_000);
