/**
 * What a rehearsal measures: HDR latency histograms per route, the status
 * mix, and per-second timelines of throughput, latency and stock.
 */
import { createHistogram, type RecordableHistogram } from 'node:perf_hooks';
import { ADMISSION_SKEW_MS } from '../../contract/drops';
import { attemptKeyMintedAt } from '../api-client';

export type RouteName = 'product' | 'queue' | 'reserve' | 'checkout' | 'release' | 'reservation' | 'order' | 'feedback';

export interface Percentiles {
  readonly p50: number;
  readonly p95: number;
  readonly p99: number;
  readonly p999: number;
  readonly count: number;
}

/**
 * What a refusal meant to the shopper: the report counts each apart. A paused drop's `503 DROP_PAUSED` is
 * the operator's answer, not a failure under load: it is counted here, not with the 5xx.
 */
export type Refusal = 'soldOut' | 'limit' | 'throttled' | 'busy' | 'paused' | 'otherRefused';

const REFUSAL_BY_CODE: Readonly<Record<string, Refusal>> = {
  SOLD_OUT: 'soldOut',
  LIMIT_EXCEEDED: 'limit',
  THROTTLED: 'throttled',
  BUSY: 'busy',
  DROP_PAUSED: 'paused',
};

/** The contract's answer to a paused drop: a 503 that is no error of the system's. */
export const isPausedAnswer = (status: number, code: string | undefined) => status === 503 && code === 'DROP_PAUSED';

export const refusalOf = (code: string | undefined): Refusal => REFUSAL_BY_CODE[code ?? ''] ?? 'otherRefused';

export interface SecondBucket extends Readonly<Record<Refusal, number>> {
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

export interface Admission {
  readonly edgeAnswered: number;
  readonly soldOutForGoodAtSecond: number | null;
  readonly attemptsAfterSoldOut: number;
  /** Of the attempts answered after the drop sold out for good, the share the edge answered. */
  readonly edgeAnsweredShare: number | null;
  /** The same for the shoppers' attempts alone (the bots' storm left out). */
  readonly shoppersAfterSoldOut: { readonly attempts: number; readonly edgeAnsweredShare: number | null };
  readonly originRequestsPerUnitSold: number | null;
  /**
   * The attempts after the sell-out that reached the origin, by why the edge let them through. The edge
   * (edge/admission.js) passes on a UUIDv7 key minted before its `since` (when its store took the sell-out)
   * plus 2 s of clock skew, as a possible retry of an attempt that made a hold, and any key that is not a
   * UUIDv7; it answers the rest itself.
   */
  readonly originAfterSoldOut: OriginAfterSoldOut;
}

export interface OriginAfterSoldOut {
  /**
   * The edge's `since` as its KeyValueStore holds it at the end of the run, in seconds after the sell-out:
   * how long the news took to reach the edge. Null where the store cannot be read (a deployed target); the
   * classes below then take the sell-out itself for it.
   */
  readonly edgeSinceAfterSoldOutSeconds: number | null;
  /** Keys minted before the sell-out: retries and second presses of attempts made before it. */
  readonly retriesFromBefore: number;
  /** Keys minted after the sell-out but before the edge's `since` + 2 s: the news on its way, and the skew allowed. */
  readonly newWithinRetryWindow: number;
  /** Keys that are not UUIDv7: nothing tells their age. */
  readonly unknownAgeKeys: number;
  /**
   * Keys the edge's own rule answers, that got a 5xx without the contract's error body instead: CloudFront's
   * answer to an edge function that failed (its time limit).
   */
  readonly edgeFailures: number;
  /**
   * Keys the edge's own rule answers, answered by the origin: none locally, unless the edge misread its
   * store. Where `since` cannot be read (a deployed target) the window is taken from the sell-out itself, and
   * this holds the new attempts the edge passed on before its news arrived too.
   */
  readonly other: number;
}

/** One answer to a reservation attempt: seconds into the run, wall-clock ms, status, error code, from the edge. */
export interface ReserveAnswer {
  readonly second: number;
  readonly at: number;
  readonly status: number;
  readonly code: string | undefined;
  readonly edge: boolean;
  /** When it was sent (wall-clock ms). */
  readonly sentAt: number;
  /** When the attempt's Idempotency-Key was minted, if it was a UUIDv7. */
  readonly keyMintedAt?: number;
  /** The admission the attempt showed, as the edge can judge it (with the waiting room on). */
  readonly admission?: AdmissionShown;
  /** Sent by a bot. */
  readonly bot?: true;
}

/**
 * What admission an attempt showed, as the edge judges it: one for its drop and (shopper identity on) its
 * signed-in customer, none, or one for another customer than the signed-in one.
 */
export type AdmissionShown = 'fits' | 'none' | 'other-customer';

/** A reservation attempt's key, and the admission it showed. */
export interface AttemptTag {
  readonly key: string;
  readonly admission?: AdmissionShown;
  readonly bot?: boolean;
}

/** What the edge's KeyValueStore says of the drop at the end of a run (ms), where it can be read. */
export interface EdgeDates {
  readonly since?: number;
  readonly roomSince?: number;
}

/** How long after the writer dates a value it is in the local store, at the latest (the rehearsal's bound). */
const WRITTEN_WITHIN_MS = 2_000;

const histogram = () => createHistogram({ lowest: 1, highest: 120_000_000, figures: 3 });

export class Recorder {
  private readonly started = performance.now();
  /** The same moment as `started`, as wall-clock time (ms since the epoch). */
  readonly startedAt = Date.now();
  private readonly byRoute = new Map<RouteName, RecordableHistogram>();
  private readonly all = histogram();
  private readonly statuses = new Map<string, number>();
  private readonly codes = new Map<string, number>();
  private readonly seconds = new Map<
    number,
    { requests: number; ok: number; refused: number; errors5xx: number; latency: RecordableHistogram } & Record<
      Refusal,
      number
    >
  >();
  readonly stock: StockSample[] = [];
  /** When each reservation attempt was answered, how, and whether the edge function answered it. */
  private readonly reserveAnswers: ReserveAnswer[] = [];
  timeouts = 0;
  retries = 0;

  elapsedSeconds(): number {
    return (performance.now() - this.started) / 1000;
  }

  /**
   * One answer; `code` is the error code of a 4xx/5xx body, if it had one; `edge` whether the edge
   * function answered it (`x-dropline-edge: answered`) instead of the API.
   */
  record(route: RouteName, status: number, ms: number, code?: string, edge = false, attempt?: AttemptTag): void {
    if (route === 'reserve') {
      const keyMintedAt = attempt === undefined ? undefined : attemptKeyMintedAt(attempt.key);
      const admission = attempt?.admission;
      const at = Date.now();
      this.reserveAnswers.push({
        second: this.elapsedSeconds(),
        at,
        sentAt: at - ms,
        status,
        code,
        edge,
        ...(keyMintedAt === undefined ? {} : { keyMintedAt }),
        ...(admission === undefined ? {} : { admission }),
        ...(attempt?.bot ? { bot: true as const } : {}),
      });
    }
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
      bucket = {
        requests: 0,
        ok: 0,
        refused: 0,
        errors5xx: 0,
        soldOut: 0,
        limit: 0,
        throttled: 0,
        busy: 0,
        paused: 0,
        otherRefused: 0,
        latency: histogram(),
      };
      this.seconds.set(second, bucket);
    }
    bucket.requests++;
    if (status >= 400) {
      const label = `${status} ${code ?? 'no code'}`;
      this.codes.set(label, (this.codes.get(label) ?? 0) + 1);
    }
    if (status >= 500 && !isPausedAnswer(status, code)) bucket.errors5xx++;
    else if (status >= 400) {
      bucket.refused++;
      bucket[refusalOf(code)]++;
    } else bucket.ok++;
    bucket.latency.record(micros);
  }

  /**
   * What the edge took off the origin: reservation attempts it answered, and its share of those answered
   * after the drop sold out for good (nothing available, nothing held, by the stock samples); attempts that
   * reached the origin per unit sold, and why those after the sell-out did, by the edge's `since` (ms) when
   * it can be read.
   */
  admission(sold: number, edge: EdgeDates = {}): Admission {
    const edgeSince = edge.since;
    const soldOutAt = this.soldOutForGoodAtSecond();
    const after = soldOutAt === undefined ? [] : this.reserveAnswers.filter((answer) => answer.second >= soldOutAt);
    const edgeAnswered = this.reserveAnswers.filter((answer) => answer.edge).length;
    const soldOutMs = soldOutAt === undefined ? 0 : this.startedAt + soldOutAt * 1000;
    // The edge's rule (edge/admission.js `mayBeRetry`): a key minted before since + the skew may be a retry.
    // A since from before the sell-out is an earlier change's: the writer had not applied the sell-out.
    const since = edgeSince !== undefined && edgeSince >= soldOutMs ? edgeSince : undefined;
    const windowEnds = (since ?? soldOutMs) + ADMISSION_SKEW_MS;
    // And its answer to a possible retry after the sell-out (once it knows it) that shows no admission, or one
    // for another customer, with its key minted after the room went on (`cannotHoldAny`).
    const roomOnFrom = edge.roomSince === undefined ? undefined : edge.roomSince + ADMISSION_SKEW_MS;
    // Sent well after the writer dated the news (2 s: its write follows the date, after any conflict with
    // the store's other writer), so the edge read it.
    const answerableAsNew = (answer: ReserveAnswer) =>
      since !== undefined &&
      answer.sentAt >= since + WRITTEN_WITHIN_MS &&
      roomOnFrom !== undefined &&
      (answer.keyMintedAt as number) >= roomOnFrom &&
      (answer.admission === 'none' || answer.admission === 'other-customer');
    const origin = { retriesFromBefore: 0, newWithinRetryWindow: 0, unknownAgeKeys: 0, edgeFailures: 0, other: 0 };
    for (const answer of after) {
      if (answer.edge) continue;
      // CloudFront's own answer to a function that failed: a 5xx without the contract's error body.
      const failedAtEdge = answer.status >= 500 && answer.code === undefined;
      if (answer.keyMintedAt === undefined) origin.unknownAgeKeys++;
      else if (answerableAsNew(answer)) origin[failedAtEdge ? 'edgeFailures' : 'other']++;
      else if (answer.keyMintedAt < soldOutMs) origin.retriesFromBefore++;
      else if (answer.keyMintedAt < windowEnds) origin.newWithinRetryWindow++;
      else if (failedAtEdge) origin.edgeFailures++;
      else origin.other++;
    }
    const shoppers = after.filter((answer) => !answer.bot);
    const edgeSinceAfterSoldOutSeconds =
      since === undefined || soldOutAt === undefined ? null : Number(((since - soldOutMs) / 1000).toFixed(2));
    return {
      edgeAnswered,
      soldOutForGoodAtSecond: soldOutAt ?? null,
      attemptsAfterSoldOut: after.length,
      edgeAnsweredShare: edgeShare(after),
      shoppersAfterSoldOut: { attempts: shoppers.length, edgeAnsweredShare: edgeShare(shoppers) },
      originRequestsPerUnitSold:
        sold === 0 ? null : Number(((this.reserveAnswers.length - edgeAnswered) / sold).toFixed(2)),
      originAfterSoldOut: { edgeSinceAfterSoldOutSeconds, ...origin },
    };
  }

  /**
   * When the drop sold out for good (nothing available, nothing held; only a restock brings units back), in
   * seconds into the run: the last stock sample that still showed a unit, before the first that showed none.
   * The sell-out happened somewhere between the two; taking the earlier makes every measure from it (the
   * notice's delay, the edge's share after it) err against the goals, never for them.
   */
  soldOutForGoodAtSecond(): number | undefined {
    const first = this.stock.findIndex((sample) => sample.available === 0 && sample.held === 0);
    if (first === -1) return undefined;
    return (this.stock[first - 1] ?? this.stock[first])?.second;
  }

  /** Every reservation attempt's answer, in the order they came. */
  reservations(): readonly ReserveAnswer[] {
    return this.reserveAnswers;
  }

  sampleStock(sample: Omit<StockSample, 'second'>): void {
    // Down to the hundredth, never up: a sample dated later than it was taken would leave the attempts
    // answered just after it out of what came after the sell-out it dates.
    this.stock.push({ second: Math.floor(this.elapsedSeconds() * 100) / 100, ...sample });
  }

  /** Answers 5xx that were failures: every 5xx but a paused drop's 503 DROP_PAUSED. */
  errors5xx(): number {
    const paused = this.codes.get('503 DROP_PAUSED') ?? 0;
    return this.count(undefined, (status) => status >= 500) - paused;
  }

  count(route?: RouteName, statusPredicate: (status: number) => boolean = () => true): number {
    let total = 0;
    for (const [key, n] of this.statuses) {
      const [name, status] = key.split(' ');
      if ((route === undefined || name === route) && statusPredicate(Number(status))) total += n;
    }
    return total;
  }

  /** Refusals and errors by status and code (`409 SOLD_OUT`), most frequent first. */
  errorCodes(): Array<{ status: number; code: string; count: number }> {
    return [...this.codes]
      .map(([label, count]) => {
        const [status, ...code] = label.split(' ');
        return { status: Number(status), code: code.join(' '), count };
      })
      .sort((a, b) => b.count - a.count);
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
        soldOut: bucket.soldOut,
        limit: bucket.limit,
        throttled: bucket.throttled,
        busy: bucket.busy,
        paused: bucket.paused,
        otherRefused: bucket.otherRefused,
        p50: Number((bucket.latency.percentile(50) / 1000).toFixed(2)),
        p99: Number((bucket.latency.percentile(99) / 1000).toFixed(2)),
      }));
  }
}

/** The share of these attempts the edge answered; null for none. */
function edgeShare(answers: readonly ReserveAnswer[]): number | null {
  if (answers.length === 0) return null;
  return Number((answers.filter((answer) => answer.edge).length / answers.length).toFixed(3));
}
