/**
 * What a rehearsal measures: HDR latency histograms per route, the status
 * mix, and per-second timelines of throughput, latency and stock.
 */
import { createHistogram, type RecordableHistogram } from 'node:perf_hooks';

export type RouteName = 'product' | 'reserve' | 'checkout' | 'release' | 'order';

export interface Percentiles {
  readonly p50: number;
  readonly p95: number;
  readonly p99: number;
  readonly p999: number;
  readonly count: number;
}

export interface SecondBucket {
  readonly second: number;
  readonly requests: number;
  readonly ok: number;
  readonly refused: number;
  readonly errors5xx: number;
  readonly p50: number;
  readonly p99: number;
}

export interface StockSample {
  readonly second: number;
  readonly available: number;
  readonly held: number;
  readonly sold: number;
}

const histogram = () => createHistogram({ lowest: 1, highest: 120_000_000, figures: 3 });

export class Recorder {
  private readonly started = performance.now();
  private readonly byRoute = new Map<RouteName, RecordableHistogram>();
  private readonly all = histogram();
  private readonly statuses = new Map<string, number>();
  private readonly seconds = new Map<
    number,
    { requests: number; ok: number; refused: number; errors5xx: number; latency: RecordableHistogram }
  >();
  readonly stock: StockSample[] = [];
  timeouts = 0;
  retries = 0;

  elapsedSeconds(): number {
    return (performance.now() - this.started) / 1000;
  }

  record(route: RouteName, status: number, ms: number): void {
    const micros = Math.max(1, Math.round(ms * 1000));
    let routeHistogram = this.byRoute.get(route);
    if (!routeHistogram) {
      routeHistogram = histogram();
      this.byRoute.set(route, routeHistogram);
    }
    routeHistogram.record(micros);
    this.all.record(micros);
    const key = `${route} ${status}`;
    this.statuses.set(key, (this.statuses.get(key) ?? 0) + 1);
    const second = Math.floor(this.elapsedSeconds());
    let bucket = this.seconds.get(second);
    if (!bucket) {
      bucket = { requests: 0, ok: 0, refused: 0, errors5xx: 0, latency: histogram() };
      this.seconds.set(second, bucket);
    }
    bucket.requests++;
    if (status >= 500) bucket.errors5xx++;
    else if (status >= 400) bucket.refused++;
    else bucket.ok++;
    bucket.latency.record(micros);
  }

  sampleStock(sample: Omit<StockSample, 'second'>): void {
    this.stock.push({ second: Number(this.elapsedSeconds().toFixed(2)), ...sample });
  }

  count(route?: RouteName, statusPredicate: (status: number) => boolean = () => true): number {
    let total = 0;
    for (const [key, n] of this.statuses) {
      const [name, status] = key.split(' ');
      if ((route === undefined || name === route) && statusPredicate(Number(status))) total += n;
    }
    return total;
  }

  statusMix(): Record<string, number> {
    return Object.fromEntries([...this.statuses].sort(([a], [b]) => a.localeCompare(b)));
  }

  percentiles(route?: RouteName): Percentiles {
    const source = route ? this.byRoute.get(route) : this.all;
    if (!source || source.count === 0) return { p50: 0, p95: 0, p99: 0, p999: 0, count: 0 };
    const ms = (p: number) => Number((source.percentile(p) / 1000).toFixed(2));
    return { p50: ms(50), p95: ms(95), p99: ms(99), p999: ms(99.9), count: source.count };
  }

  routes(): RouteName[] {
    return [...this.byRoute.keys()];
  }

  timeline(): SecondBucket[] {
    return [...this.seconds.entries()]
      .sort(([a], [b]) => a - b)
      .map(([second, bucket]) => ({
        second,
        requests: bucket.requests,
        ok: bucket.ok,
        refused: bucket.refused,
        errors5xx: bucket.errors5xx,
        p50: Number((bucket.latency.percentile(50) / 1000).toFixed(2)),
        p99: Number((bucket.latency.percentile(99) / 1000).toFixed(2)),
      }));
  }
}
