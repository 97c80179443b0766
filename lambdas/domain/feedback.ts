/**
 * Shoppers' answers to the drop page's one-question poll, and what they add
 * up to. One answer per customer and outcome: a second one replaces the
 * first (and moves the counts with it), no more often than the cool-down
 * allows, so a flood from one customer changes nothing. Each answer is kept
 * beside the availability the shop had when it came, so "the stock looked
 * wrong" can be set against what the stock was.
 */
import type { FeedbackOutcome, FeedbackReason } from '../../contract/requests';
import { FEEDBACK_OUTCOMES, FEEDBACK_REASONS } from '../../contract/requests';
import { BusyError } from './errors';
import type { Clock } from './ports';

/** One change a customer may make to an answer in this long: more is a flood, answered 429. */
export const FEEDBACK_COOLDOWN_MS = 2000;

export interface FeedbackInput {
  readonly sku: string;
  readonly customerId: string;
  readonly outcome: FeedbackOutcome;
  readonly rating: number;
  readonly reasons?: readonly FeedbackReason[];
  readonly comment?: string;
  readonly latencyMs?: number;
  readonly seenAvailable?: number;
}

export interface FeedbackAnswer extends FeedbackInput {
  readonly reasons: readonly FeedbackReason[];
  /** The availability the shop had when the answer came. */
  readonly availableAtAnswer: number;
  /**
   * How long the storefront channel (the read model the page polls) took to apply the snapshot it showed
   * when the answer came: the channel lag at that moment. Absent when the channel had no view yet.
   */
  readonly channelLagMsAtAnswer?: number;
  readonly answeredAt: string;
  /** 1 for the first answer, one more for each replacement. */
  readonly revision: number;
}

/** Counters by name (`answers`, `HELD.rating.5`, `HELD.reason.SLOW`, …), as the store adds them up. */
export type FeedbackCounts = Readonly<Record<string, number>>;

export interface FeedbackStore {
  answer(sku: string, customerId: string, outcome: FeedbackOutcome): Promise<FeedbackAnswer | undefined>;
  /**
   * Writes `next` and adds `delta` to the SKU's counts, in one transaction, if
   * the stored answer is still `previous` (none when undefined); false when
   * another write moved it first.
   */
  record(previous: FeedbackAnswer | undefined, next: FeedbackAnswer, delta: FeedbackCounts): Promise<boolean>;
  /** The SKU's counts, summed over their items. */
  counts(sku: string): Promise<FeedbackCounts>;
}

export interface FeedbackDeps {
  readonly store: FeedbackStore;
  /** The availability the shop shows now (the storefront's read); throws NotFoundError for no such product. */
  readonly available: (sku: string) => Promise<number>;
  /** Throws NotFoundError when there is no such product. */
  readonly requireProduct: (sku: string) => Promise<unknown>;
  /** The storefront channel's lag now (publication to application of the snapshot it shows), if it has a view. */
  readonly channelLagMs?: (sku: string) => Promise<number | undefined>;
  readonly clock: Clock;
  /** Least time between two answers of one customer about one outcome. */
  readonly cooldownMs: number;
}

export interface OutcomeSummary {
  readonly answers: number;
  readonly ratings: Readonly<Record<'1' | '2' | '3' | '4' | '5', number>>;
  readonly averageRating: number | null;
  readonly reasons: Readonly<Record<FeedbackReason, number>>;
  readonly averageLatencyMs: number | null;
}

export interface FeedbackSummary {
  readonly sku: string;
  readonly total: number;
  readonly outcomes: Readonly<Record<FeedbackOutcome, OutcomeSummary>>;
  /** "The stock looked wrong", set against the stock when it was said. */
  readonly stockLookedWrong: {
    readonly reports: number;
    /** Reports whose page showed another number than the shop had (a stale page, or a lagging read). */
    readonly pageDiffered: number;
    /** Mean |shown − actual| over the reports that said what their page showed. */
    readonly averageGap: number | null;
    /** Mean storefront channel lag (ms) when these reports came, against `averageChannelLagMs` over all answers. */
    readonly averageChannelLagMs: number | null;
  };
  /** Mean storefront channel lag (ms) when any answer came: the baseline for the reports above. */
  readonly averageChannelLagMs: number | null;
}

export class Feedback {
  constructor(private readonly deps: FeedbackDeps) {}

  /** Records an answer; `replaced` when it took the place of the customer's earlier one about the same outcome. */
  async answer(input: FeedbackInput): Promise<{ answer: FeedbackAnswer; replaced: boolean }> {
    const { store, available, clock, cooldownMs } = this.deps;
    const previous = await store.answer(input.sku, input.customerId, input.outcome);
    const now = clock.now();
    if (previous) {
      const waitMs = Date.parse(previous.answeredAt) + cooldownMs - now;
      if (waitMs > 0) throw new BusyError(Math.ceil(waitMs / 1000));
    }
    const lag = await this.deps.channelLagMs?.(input.sku);
    const next: FeedbackAnswer = {
      ...input,
      reasons: [...new Set(input.reasons ?? [])],
      availableAtAnswer: await available(input.sku),
      ...(lag === undefined ? {} : { channelLagMsAtAnswer: Math.max(0, Math.round(lag)) }),
      answeredAt: new Date(now).toISOString(),
      revision: (previous?.revision ?? 0) + 1,
    };
    if (!(await store.record(previous, next, countsDelta(previous, next)))) throw new BusyError(1);
    return { answer: next, replaced: previous !== undefined };
  }

  async summary(sku: string): Promise<FeedbackSummary> {
    await this.deps.requireProduct(sku);
    return summarise(sku, await this.deps.store.counts(sku));
  }
}

/** What one answer adds to the counts. */
export function countsOf(answer: FeedbackAnswer): FeedbackCounts {
  const { outcome, rating, reasons, latencyMs, seenAvailable, availableAtAnswer, channelLagMsAtAnswer } = answer;
  const counts: Record<string, number> = {
    answers: 1,
    [`${outcome}.answers`]: 1,
    [`${outcome}.rating.${rating}`]: 1,
    [`${outcome}.ratingSum`]: rating,
  };
  for (const reason of reasons) counts[`${outcome}.reason.${reason}`] = 1;
  if (latencyMs !== undefined) {
    counts[`${outcome}.latencyAnswers`] = 1;
    counts[`${outcome}.latencySum`] = latencyMs;
  }
  if (channelLagMsAtAnswer !== undefined) {
    counts.withLag = 1;
    counts.lagSum = channelLagMsAtAnswer;
  }
  if (reasons.includes('STOCK_WRONG')) {
    counts['stockWrong.reports'] = 1;
    if (channelLagMsAtAnswer !== undefined) {
      counts['stockWrong.withLag'] = 1;
      counts['stockWrong.lagSum'] = channelLagMsAtAnswer;
    }
    if (seenAvailable !== undefined) {
      const gap = Math.abs(seenAvailable - availableAtAnswer);
      counts['stockWrong.withSeen'] = 1;
      counts['stockWrong.gapSum'] = gap;
      if (gap > 0) counts['stockWrong.pageDiffered'] = 1;
    }
  }
  return counts;
}

/** `next`'s counts less `previous`'s: what a replacement moves. Zero entries are left out. */
export function countsDelta(previous: FeedbackAnswer | undefined, next: FeedbackAnswer): FeedbackCounts {
  const delta: Record<string, number> = { ...countsOf(next) };
  for (const [name, value] of Object.entries(previous ? countsOf(previous) : {})) {
    delta[name] = (delta[name] ?? 0) - value;
  }
  return Object.fromEntries(Object.entries(delta).filter(([, value]) => value !== 0));
}

export function summarise(sku: string, counts: FeedbackCounts): FeedbackSummary {
  const count = (name: string) => counts[name] ?? 0;
  const mean = (sum: number, of: number) => (of > 0 ? Math.round((sum / of) * 100) / 100 : null);
  const outcomes = Object.fromEntries(
    FEEDBACK_OUTCOMES.map((outcome) => {
      const answers = count(`${outcome}.answers`);
      const summary: OutcomeSummary = {
        answers,
        ratings: {
          '1': count(`${outcome}.rating.1`),
          '2': count(`${outcome}.rating.2`),
          '3': count(`${outcome}.rating.3`),
          '4': count(`${outcome}.rating.4`),
          '5': count(`${outcome}.rating.5`),
        },
        averageRating: mean(count(`${outcome}.ratingSum`), answers),
        reasons: Object.fromEntries(
          FEEDBACK_REASONS.map((reason) => [reason, count(`${outcome}.reason.${reason}`)]),
        ) as Record<FeedbackReason, number>,
        averageLatencyMs: mean(count(`${outcome}.latencySum`), count(`${outcome}.latencyAnswers`)),
      };
      return [outcome, summary];
    }),
  ) as Record<FeedbackOutcome, OutcomeSummary>;
  return {
    sku,
    total: count('answers'),
    outcomes,
    stockLookedWrong: {
      reports: count('stockWrong.reports'),
      pageDiffered: count('stockWrong.pageDiffered'),
      averageGap: mean(count('stockWrong.gapSum'), count('stockWrong.withSeen')),
      averageChannelLagMs: mean(count('stockWrong.lagSum'), count('stockWrong.withLag')),
    },
    averageChannelLagMs: mean(count('lagSum'), count('withLag')),
  };
}
