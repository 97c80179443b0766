/**
 * The people at a drop. Shoppers look, reserve (retrying with the same
 * Idempotency-Key when an answer is slow), then check out — some with a card
 * that is declined, some twice in a hurry — or walk away and let the hold
 * expire, or release it. Bots hammer the reservation route past the limit.
 * Some shoppers then answer the page's one-question poll from what they lived
 * through: how slow it was, whether it failed, whether the stock they were
 * shown was still there.
 */
import type { FeedbackOutcome, FeedbackReason } from '../../contract/requests';
import { type ApiClient, type ApiResponse, attemptKey, invitesRetry, retryDelayMs } from '../api-client';
import { forActor, type Random } from './random';
import type { Recorder, RouteName } from './recorder';

export interface Behaviour {
  /** Share of holds whose first payment is declined (half of those retry with another card). */
  readonly declineShare: number;
  /** Share of holds left to expire. */
  readonly abandonShare: number;
  /** Share of holds released explicitly. */
  readonly releaseShare: number;
  /** Share of checkouts sent twice at once (a double click). */
  readonly doubleCheckoutShare: number;
  readonly requestTimeoutMs: number;
  readonly maxRetries: number;
  readonly botAttempts: number;
  /** Share of shoppers who answer the poll after their outcome (bots never do). */
  readonly feedbackShare: number;
}

/** What one shopper lived through, for their answer to the poll. */
interface Experience {
  slowestMs: number;
  lastMs: number;
  failed: boolean;
  throttled: number;
  seenAvailable: number | undefined;
}

/** What the shoppers were told: the rehearsal's side of the ledger. */
export class Outcomes {
  readonly holds = new Map<string, { customerId: string; quantity: number }>();
  readonly orders = new Map<string, { reservationId: string; customerId: string; quantity: number }>();
  /** Requests whose answer never came (after retries): their effect is unknown to the client. */
  unanswered = 0;
  /** Answers to the page's poll the shoppers sent. */
  feedbackSent = 0;
}

/** The waiting room as the shoppers lived it, for the report's admission measures. */
export class Queue {
  /**
   * Per human shopper: their ticket's arrival time (as the edge signed it), when they got it, when the
   * answer letting them in arrived, the latest moment they asked and were told to wait, and when they
   * were told the drop sold out.
   */
  readonly humans = new Map<
    string,
    { ticketT: number; ticketAt: number; admittedAt?: number; lastWaitAskedAt?: number; toldSoldOutAt?: number }
  >();
  /** Tickets bots took (each a new arrival at the back, under one of their few identities). */
  botTickets = 0;
}

/** How often a waiting shopper asks again (the page polls every 2 s); at most this long in all. */
const QUEUE_POLL_MS = 1000;
const QUEUE_GIVE_UP_MS = 180_000;

export interface DropContext {
  readonly api: ApiClient;
  /** With the drop's waiting room on: shoppers queue first and reserve with their admission. */
  readonly queue?: Queue;
  readonly sku: string;
  readonly runId: string;
  readonly seed: number;
  readonly maxPerCustomer: number;
  readonly behaviour: Behaviour;
  readonly recorder: Recorder;
  readonly outcomes: Outcomes;
}

/**
 * Sends with a timeout and records the answer. A timed-out request, or one
 * whose answer invites a retry (THROTTLED, BUSY, 503, 504), is retried (same
 * Idempotency-Key) after the `Retry-After` it was given, up to the limit —
 * what a well-behaved app does.
 */
async function send(
  context: DropContext,
  route: RouteName,
  request: () => Promise<ApiResponse>,
  experience?: Experience,
): Promise<ApiResponse | undefined> {
  let last: ApiResponse | undefined;
  for (let attempt = 0; attempt <= context.behaviour.maxRetries; attempt++) {
    if (attempt > 0) context.recorder.retries++;
    const started = performance.now();
    try {
      const answer = await request();
      last = answer;
      const code = (answer.body as { error?: { code?: unknown } }).error?.code;
      const ms = performance.now() - started;
      const fromEdge = answer.headers['x-dropline-edge'] === 'answered';
      context.recorder.record(route, answer.status, ms, typeof code === 'string' ? code : undefined, fromEdge);
      if (experience) {
        experience.slowestMs = Math.max(experience.slowestMs, ms);
        experience.lastMs = ms;
        if (answer.status >= 500) experience.failed = true;
        if (code === 'THROTTLED') experience.throttled++;
      }
      if (!invitesRetry(answer)) return answer;
      await new Promise((resolve) => setTimeout(resolve, retryDelayMs(answer)));
    } catch {
      context.recorder.timeouts++;
      if (experience) experience.failed = true;
      last = undefined;
    }
  }
  if (!last) context.outcomes.unanswered++;
  return last;
}

/**
 * A shopper's answer to the poll, from their own experience: five stars, less for waiting (over 1 s,
 * over 3 s), for errors, for not getting the item, for a page that showed stock that was gone.
 */
export function shopperFeedback(outcome: FeedbackOutcome, experience: Experience) {
  const stale = outcome === 'SOLD_OUT' && (experience.seenAvailable ?? 0) > 0;
  const reasons: FeedbackReason[] = [
    ...(experience.slowestMs > 1000 ? (['SLOW'] as const) : []),
    ...(experience.failed ? (['ERROR'] as const) : []),
    ...(stale ? (['STOCK_WRONG'] as const) : []),
    ...(experience.throttled >= 3 && outcome !== 'PAID' ? (['UNFAIR'] as const) : []),
  ];
  const rating =
    5 -
    (experience.slowestMs > 1000 ? 1 : 0) -
    (experience.slowestMs > 3000 ? 1 : 0) -
    (experience.failed ? 2 : 0) -
    (outcome === 'SOLD_OUT' || outcome === 'DECLINED' ? 1 : 0) -
    (stale ? 1 : 0);
  return {
    outcome,
    rating: Math.max(1, rating),
    ...(reasons.length > 0 ? { reasons } : {}),
    latencyMs: Math.round(experience.lastMs),
    ...(experience.seenAvailable === undefined ? {} : { seenAvailable: experience.seenAvailable }),
  };
}

const pause = (random: Random, minMs: number, maxMs: number) =>
  new Promise((resolve) => setTimeout(resolve, minMs + random() * (maxMs - minMs)));

export async function shopper(context: DropContext, index: number): Promise<void> {
  const random = forActor(context.seed, index);
  const { api, sku, behaviour } = context;
  const customerId = `${context.runId}-shopper-${index}`;
  const timeoutMs = behaviour.requestTimeoutMs;
  const experience: Experience = { slowestMs: 0, lastMs: 0, failed: false, throttled: 0, seenAvailable: undefined };
  // Drawn from a stream of its own, so the poll leaves every other choice of the seed as it was.
  const answersPoll = forActor(context.seed, 2_000_000 + index)() < behaviour.feedbackShare;
  const ended = async (outcome: FeedbackOutcome) => {
    if (!answersPoll) return;
    const body = { customerId, ...shopperFeedback(outcome, experience) };
    await send(context, 'feedback', () => api.call('POST', `/products/${sku}/feedback`, { body, timeoutMs }));
    context.outcomes.feedbackSent++;
  };

  const product = await send(context, 'product', () => api.call('GET', `/products/${sku}`, { timeoutMs }), experience);
  if (typeof product?.body.available === 'number') experience.seenAvailable = product.body.available;
  const quantity = Math.min(context.maxPerCustomer, random() < 0.75 ? 1 : 2);
  let admission: string | undefined;
  if (context.queue) {
    const waited = await waitInQueue(context, customerId, experience);
    if (waited.outcome) {
      await ended(waited.outcome);
      return;
    }
    admission = waited.admission;
  }
  // One key per click, reused on every retry: a UUIDv7, so a retry after the drop sold out still reaches its hold.
  const key = attemptKey();
  const held = await send(
    context,
    'reserve',
    () =>
      api.call('POST', `/products/${sku}/reservations`, {
        body: { customerId, quantity },
        headers: { 'idempotency-key': key, ...(admission ? { 'x-dropline-admission': admission } : {}) },
        timeoutMs,
      }),
    experience,
  );
  if (held?.status !== 201) {
    const code = (held?.body as { error?: { code?: unknown } } | undefined)?.error?.code;
    await ended(code === 'SOLD_OUT' ? 'SOLD_OUT' : 'LEFT');
    return;
  }
  const reservationId = String(held.body.reservationId);
  context.outcomes.holds.set(reservationId, { customerId, quantity });

  await pause(random, 50, 400);
  const fate = random();
  const { declineShare, abandonShare, releaseShare } = behaviour;
  if (fate < abandonShare) {
    await ended('HELD');
    return;
  }
  if (fate < abandonShare + releaseShare) {
    await send(
      context,
      'release',
      () => api.call('DELETE', `/reservations/${reservationId}`, { timeoutMs }),
      experience,
    );
    await ended('LEFT');
    return;
  }
  const checkout = (paymentToken: string) =>
    send(
      context,
      'checkout',
      () => api.call('POST', `/reservations/${reservationId}/checkout`, { body: { paymentToken }, timeoutMs }),
      experience,
    );
  if (fate < abandonShare + releaseShare + declineShare) {
    await checkout('tok_decline');
    if (random() < 0.5) {
      await ended('DECLINED');
      return;
    }
    await pause(random, 50, 300);
  }
  const answers = await Promise.all(
    random() < behaviour.doubleCheckoutShare ? [checkout('tok_visa'), checkout('tok_visa')] : [checkout('tok_visa')],
  );
  let paid = false;
  for (const answer of answers) {
    if (answer?.status !== 201) continue;
    paid = true;
    const orderId = String(answer.body.orderId);
    context.outcomes.orders.set(orderId, { reservationId, customerId, quantity });
    if (random() < 0.3) await send(context, 'order', () => api.call('GET', `/orders/${orderId}`, { timeoutMs }));
  }
  await ended(paid ? 'PAID' : 'LEFT');
}

/**
 * A waiting shopper: takes a ticket, keeps it, and asks again until let in (the admission) or told the drop
 * is over (the outcome to answer the poll with).
 */
async function waitInQueue(
  context: DropContext,
  customerId: string,
  experience: Experience,
): Promise<{ admission?: string; outcome?: FeedbackOutcome }> {
  const { api, sku, queue } = context;
  const path = `/drops/${sku}/queue?customerId=${encodeURIComponent(customerId)}`;
  const timeoutMs = context.behaviour.requestTimeoutMs;
  const started = Date.now();
  let ticket: string | undefined;
  for (;;) {
    const askedAt = Date.now();
    const answer = await send(
      context,
      'queue',
      () => api.call('GET', path, { timeoutMs, ...(ticket ? { headers: { 'x-dropline-ticket': ticket } } : {}) }),
      experience,
    );
    const place =
      answer?.status === 200
        ? (answer.body as { state?: string; admitted?: boolean; ticket?: string; admission?: string })
        : undefined;
    if (place?.ticket && !ticket) {
      ticket = place.ticket;
      queue?.humans.set(customerId, { ticketT: ticketTime(ticket), ticketAt: Date.now() });
    }
    const seen = queue?.humans.get(customerId);
    if (place?.admitted && place.admission) {
      if (seen) seen.admittedAt = Date.now();
      return { admission: place.admission };
    }
    // Told to wait on order alone (the drop open): every unit held is a wait for everyone, not an order.
    if (seen && place?.state === 'OPEN' && !place.admitted) seen.lastWaitAskedAt = askedAt;
    if (place?.state === 'SOLD_OUT' || place?.state === 'CLOSED') {
      if (seen) seen.toldSoldOutAt = Date.now();
      return { outcome: 'SOLD_OUT' };
    }
    if (!answer || Date.now() - started > QUEUE_GIVE_UP_MS) return { outcome: 'LEFT' };
    await new Promise((resolve) => setTimeout(resolve, QUEUE_POLL_MS));
  }
}

/** A ticket's arrival time, as the edge signed it (its claims are readable, only not forgeable). */
function ticketTime(ticket: string): number {
  try {
    const claims = JSON.parse(Buffer.from(ticket.split('.')[0] ?? '', 'base64url').toString('utf8')) as { t?: unknown };
    return typeof claims.t === 'number' ? claims.t : Number.NaN;
  } catch {
    return Number.NaN;
  }
}

/**
 * A bot: one of a few identities, rapid attempts for the maximum quantity, never pays. With a waiting room
 * it farms tickets (a new one each time, as if arriving again) and storms the reservation route without
 * an admission.
 */
export async function bot(context: DropContext, index: number): Promise<void> {
  const random = forActor(context.seed, 1_000_000 + index);
  const customerId = `${context.runId}-bot-${index % 7}`;
  if (context.queue) {
    const path = `/drops/${context.sku}/queue?customerId=${encodeURIComponent(customerId)}`;
    for (let farmed = 0; farmed < 3; farmed++) {
      const answer = await send(context, 'queue', () => context.api.call('GET', path));
      if (answer?.status === 200) context.queue.botTickets++;
    }
  }
  for (let attempt = 0; attempt < context.behaviour.botAttempts; attempt++) {
    const key = `${context.runId}-bot-${index}-${attempt}`;
    const answer = await send(context, 'reserve', () =>
      context.api.reserve(context.sku, customerId, context.maxPerCustomer, key, context.behaviour.requestTimeoutMs),
    );
    if (answer?.status === 201) {
      context.outcomes.holds.set(String(answer.body.reservationId), { customerId, quantity: context.maxPerCustomer });
    }
    await pause(random, 0, 30);
  }
}
