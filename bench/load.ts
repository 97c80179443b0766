/** Closed-loop load at a fixed concurrency, with an HDR histogram of latencies. */
import { createHistogram } from 'node:perf_hooks';

export interface LoadResult {
  readonly operations: number;
  readonly seconds: number;
  readonly rps: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
}

/** Runs `operation(i)` for i < count with `concurrency` in flight; times each one. */
export async function closedLoop(
  count: number,
  concurrency: number,
  operation: (index: number) => Promise<unknown>,
  onProgress?: (done: number) => void,
): Promise<LoadResult> {
  const histogram = createHistogram({ lowest: 1, highest: 60_000_000, figures: 3 });
  let next = 0;
  let done = 0;
  const started = performance.now();
  const worker = async () => {
    for (let index = next++; index < count; index = next++) {
      const t0 = performance.now();
      await operation(index);
      histogram.record(Math.max(1, Math.round((performance.now() - t0) * 1000)));
      done++;
      if (done % 100 === 0) onProgress?.(done);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  const seconds = (performance.now() - started) / 1000;
  return {
    operations: count,
    seconds,
    rps: count / seconds,
    p50Ms: histogram.percentile(50) / 1000,
    p99Ms: histogram.percentile(99) / 1000,
  };
}

export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1
    ? (sorted[middle] as number)
    : ((sorted[middle - 1] as number) + (sorted[middle] as number)) / 2;
}
