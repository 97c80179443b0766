/** The feedback use case's rules, on an in-memory store: one answer per customer and outcome, counts that move with it. */
import type { FeedbackOutcome } from '../../contract/requests';
import { BusyError } from '../../lambdas/domain/errors';
import {
  countsDelta,
  Feedback,
  type FeedbackAnswer,
  type FeedbackCounts,
  type FeedbackStore,
} from '../../lambdas/domain/feedback';

class InMemoryFeedbackStore implements FeedbackStore {
  readonly answers = new Map<string, FeedbackAnswer>();
  readonly totals: Record<string, number> = {};

  async answer(sku: string, customerId: string, outcome: FeedbackOutcome) {
    return this.answers.get(`${sku}/${customerId}/${outcome}`);
  }

  async record(previous: FeedbackAnswer | undefined, next: FeedbackAnswer, delta: FeedbackCounts) {
    const key = `${next.sku}/${next.customerId}/${next.outcome}`;
    if (this.answers.get(key)?.revision !== previous?.revision) return false;
    this.answers.set(key, next);
    for (const [name, value] of Object.entries(delta)) this.totals[name] = (this.totals[name] ?? 0) + value;
    return true;
  }

  async counts() {
    return { ...this.totals };
  }
}

function setUp(available = 10) {
  const store = new InMemoryFeedbackStore();
  const clock = { at: Date.parse('2026-05-01T09:00:00Z'), now: () => clock.at };
  const feedback = new Feedback({
    store,
    available: async () => available,
    requireProduct: async () => undefined,
    clock,
    cooldownMs: 2000,
  });
  return { store, clock, feedback };
}

const base = { sku: 'tee', customerId: 'ann', outcome: 'PAID' as const };

test('a replacement moves the counts from the old answer to the new one, leaving the total alone', async () => {
  const { clock, feedback } = setUp();
  await feedback.answer({ ...base, rating: 2, reasons: ['SLOW'] });
  clock.at += 2000;

  const { replaced } = await feedback.answer({ ...base, rating: 5 });

  const summary = await feedback.summary('tee');
  expect(replaced).toBe(true);
  expect(summary.total).toBe(1);
  expect(summary.outcomes.PAID).toMatchObject({ answers: 1, ratings: { '2': 0, '5': 1 }, reasons: { SLOW: 0 } });
});

test('a second answer inside the cool-down is refused BUSY, with the seconds left, and changes nothing', async () => {
  const { store, clock, feedback } = setUp();
  await feedback.answer({ ...base, rating: 2 });
  clock.at += 500;

  const refused = feedback.answer({ ...base, rating: 5 });

  await expect(refused).rejects.toBeInstanceOf(BusyError);
  await expect(refused).rejects.toMatchObject({ retryAfterSeconds: 2 });
  expect(store.totals['PAID.rating.2']).toBe(1);
  expect(store.totals['PAID.rating.5']).toBeUndefined();
});

test('a reason named twice counts once', async () => {
  const { feedback } = setUp();

  const { answer } = await feedback.answer({ ...base, rating: 3, reasons: ['ERROR', 'ERROR'] });

  expect(answer.reasons).toEqual(['ERROR']);
  expect((await feedback.summary('tee')).outcomes.PAID.reasons.ERROR).toBe(1);
});

test('"the stock looked wrong" is measured against the availability when the answer came', async () => {
  const { feedback } = setUp(10);

  await feedback.answer({ ...base, outcome: 'SOLD_OUT', rating: 1, reasons: ['STOCK_WRONG'], seenAvailable: 4 });

  expect((await feedback.summary('tee')).stockLookedWrong).toEqual({
    reports: 1,
    pageDiffered: 1,
    averageGap: 6,
    averageChannelLagMs: null,
  });
});

test("'the stock looked wrong' is set against the storefront channel's lag when each answer came", async () => {
  const lags = [800, 120, 100];
  const feedback = new Feedback({
    store: new InMemoryFeedbackStore(),
    available: async () => 3,
    requireProduct: async () => undefined,
    channelLagMs: async () => lags.shift(),
    clock: { now: () => Date.parse('2026-12-01T10:00:00Z') },
    cooldownMs: 2000,
  });

  await feedback.answer({ ...base, customerId: 'a', outcome: 'SOLD_OUT', rating: 1, reasons: ['STOCK_WRONG'] });
  await feedback.answer({ ...base, customerId: 'b', rating: 5 });
  await feedback.answer({ ...base, customerId: 'c', rating: 4 });

  const summary = await feedback.summary('tee');
  expect(summary.stockLookedWrong.averageChannelLagMs).toBe(800);
  expect(summary.averageChannelLagMs).toBe(340);
});

test('an identical replacement moves nothing', () => {
  const answer: FeedbackAnswer = {
    ...base,
    rating: 4,
    reasons: ['OTHER'],
    availableAtAnswer: 3,
    answeredAt: '2026-05-01T09:00:00.000Z',
    revision: 1,
  };

  expect(countsDelta(answer, { ...answer, revision: 2 })).toEqual({});
});
