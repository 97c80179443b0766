/**
 * The people at a drop. Shoppers look, reserve (retrying with the same
 * Idempotency-Key when an answer is slow), then check out — some with a card
 * that is declined, some twice in a hurry — or walk away and let the hold
 * expire, or release it. Bots hammer the reservation route past the limit; with a
 * waiting room they farm tickets under made-up identities and storm on refusals.
 * Some shoppers then answer the page's one-question poll from what they lived
 * through: how slow it was, whether it failed, whether the stock they were
 * shown was still there.
 */
import type { FeedbackOutcome, FeedbackReason } from '../../contract/requests';
import { type ApiClient, type ApiResponse, attemptKey, invitesRetry, retryDelayMs } from '../api-client';
import { forActor, type Random } from './random';
import type { AttemptTag, Recorder, RouteName } from './recorder';

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
  /** Holds as the shoppers were told them, and when the answer came. */
  readonly holds = new Map<string, { customerId: string; quantity: number; at: number }>();
  readonly orders = new Map<string, { reservationId: string; customerId: string; quantity: number }>();
  /** Requests whose answer never came (after retries): their effect is unknown to the client. */
  unanswered = 0;
  /** Orders a shopper learned of by asking after the hold, as no checkout was answered for good. */
  confirmedLate = 0;
  /** Answers to the page's poll the shoppers sent. */
  feedbackSent = 0;
}

/** The waiting room as the shoppers lived it, for the report's admission measures. */
export class Queue {
  /**
   * Per human shopper: their ticket's arrival time and order key (as the edge signed them), when they got
   * it, when the answer letting them in arrived, the latest moment they asked and were told to wait, when
   * they were told the drop sold out, and when they gave up waiting.
   */
  readonly humans = new Map<
    string,
    {
      ticketT: number;
      ticketO: number;
      ticketAt: number;
      admittedAt?: number;
      lastWaitAskedAt?: number;
      toldSoldOutAt?: number;
      leftAt?: number;
      /** When they waited: from the ticket to the first admission, and again after a refusal (units held). */
      spans: Array<{ from: number; to?: number }>;
    }
  >();
  /** Tickets bots took, one per made-up identity (ticket farming). */
  botTickets = 0;
  /** Bots' farmed tickets still waiting: not let in, not told the drop is over. */
  botsWaiting = 0;
  /** New tickets a bot's identity took, at the back, once its turn had passed (not counted in botTickets). */
  botRequeues = 0;
  /** Times a waiting shopper was told their turn had passed (and queued again, with a new ticket). */
  turnsPassed = 0;
  /**
   * Tickets taken before the start (the pre-queue, shuffled at the start): shoppers' first tickets, and
   * bots' farmed ones. The edge ranks such a ticket over the minute before the start, so its order key is
   * not its arrival time as an order key after the start is.
   */
  readonly preQueue = { shoppers: 0, botTickets: 0 };
  /** Admissions handed out (shoppers' and bots'), and the highest order key among them. */
  admissions = 0;
  admittedUpTo: number | undefined;

  admitted(order: number): void {
    this.admissions++;
    if (Number.isFinite(order)) this.admittedUpTo = Math.max(this.admittedUpTo ?? order, order);
  }

  stopWaiting(human: { spans: Array<{ from: number; to?: number }> }): void {
    const open = human.spans.at(-1);
    if (open && open.to === undefined) open.to = Date.now();
  }

  /** Back in the queue after being let in: every unit was held, and some may come back. */
  waitAgain(customerId: string): void {
    this.humans.get(customerId)?.spans.push({ from: Date.now() });
  }

  /** Human shoppers waiting at `at` (now by default): holding a ticket, not let in, told or gone then. */
  humansWaiting(at?: number): number {
    let waiting = 0;
    for (const human of this.humans.values()) {
      if (isWaiting(human.spans, at)) waiting++;
    }
    return waiting;
  }
}

export function isWaiting(spans: ReadonlyArray<{ from: number; to?: number }>, at?: number): boolean {
  if (at === undefined) return spans.at(-1)?.to === undefined && spans.length > 0;
  return spans.some((span) => span.from <= at && at < (span.to ?? Number.POSITIVE_INFINITY));
}

/**
 * How soon a waiting shopper asks again when the queue's answer does not say (`pollSeconds`): the page's
 * own default (site/assets/waiting-room.js, `POLL_MS`); at most this long in all.
 */
export const QUEUE_POLL_MS = 2000;
const QUEUE_GIVE_UP_MS = 180_000;
/** How many times a shopper presses Reserve for one attempt when the page's own retries found no verdict. */
const RESERVE_PRESSES = 3;

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
  /**
   * With shopper identity on: the `Authorization` header of an account (a shopper, or a bot's one real
   * account), from the stack's test issuer. Without it, no header: the body's customerId is taken as said.
   */
  readonly signIn?: (account: string) => Record<string, string>;
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
  countsUnanswered = true,
  tag?: AttemptTag,
): Promise<ApiResponse | undefined> {
  let last: ApiResponse | undefined;
  for (let attempt = 0; attempt <= context.behaviour.maxRetries; attempt++) {
    if (attempt > 0) context.recorder.retries++;
    const started = performance.now();
    try {
      const answer = await request();
      last = answer;
      const ms = performance.now() - started;
      const code = recordAnswer(context, route, answer, ms, tag);
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
  if (!last && countsUnanswered) context.outcomes.unanswered++;
  return last;
}

/**
 * Records one answer (whether the edge function gave it, from `x-dropline-edge`, and the attempt's key and
 * admission); returns its error code.
 */
function recordAnswer(
  context: DropContext,
  route: RouteName,
  answer: ApiResponse,
  ms: number,
  attempt?: AttemptTag,
): string | undefined {
  const raw = (answer.body as { error?: { code?: unknown } }).error?.code;
  const code = typeof raw === 'string' ? raw : undefined;
  const edge = answer.headers['x-dropline-edge'] === 'answered';
  context.recorder.record(route, answer.status, ms, code, edge, attempt);
  return code;
}

/** An answer's error code, if it has one. */
function codeOf(answer: ApiResponse): string | undefined {
  const raw = (answer.body as { error?: { code?: unknown } } | undefined)?.error?.code;
  return typeof raw === 'string' ? raw : undefined;
}

/** Sends once, whatever the answer (a bot's way: no Retry-After, no same-key retry), and records it. */
async function once(
  context: DropContext,
  route: RouteName,
  request: () => Promise<ApiResponse>,
  attempt?: AttemptTag,
): Promise<ApiResponse | undefined> {
  const started = performance.now();
  try {
    const answer = await request();
    recordAnswer(context, route, answer, performance.now() - started, attempt);
    return answer;
  } catch {
    context.recorder.timeouts++;
    return undefined;
  }
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
  // Pauses between presses from a stream of their own, so a press leaves every other choice of the seed as it was.
  const presses = forActor(context.seed, 3_000_000 + index);
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
  const waiting: { ticket?: string } = {};
  let held: ApiResponse | undefined;
  const arrived = Date.now();
  for (;;) {
    let admission: string | undefined;
    if (context.queue) {
      const waited = await waitInQueue(context, customerId, experience, waiting);
      if (waited.outcome) {
        await ended(waited.outcome);
        return;
      }
      admission = waited.admission;
    }
    // One key per attempt, reused on every retry and press: a UUIDv7, so a retry after the drop sold out still
    // reaches its hold.
    const key = attemptKey();
    for (let press = 0; press < RESERVE_PRESSES; press++) {
      // No verdict after its retries (no answer, a 5xx, 429 THROTTLED or BUSY: drop.js), the page says
      // "Press Reserve to keep trying: you will not be held twice" and keeps the key; the shopper presses again.
      if (press > 0) await pause(presses, 500, 1500);
      held = await send(
        context,
        'reserve',
        () =>
          api.call('POST', `/products/${sku}/reservations`, {
            body: { customerId, quantity },
            headers: {
              'idempotency-key': key,
              ...(admission ? { 'x-dropline-admission': admission } : {}),
              ...context.signIn?.(customerId),
            },
            timeoutMs,
          }),
        experience,
        false,
        { key, admission: admission ? 'fits' : 'none' },
      );
      if (held && held.status < 500 && !invitesRetry(held)) break;
    }
    // Unanswered once, however many presses went unanswered, and only if the last did too.
    if (!held) context.outcomes.unanswered++;
    if (held?.status === 201) break;
    const code = (held?.body as { error?: { code?: unknown } } | undefined)?.error?.code;
    // Let in, but the admission was refused (the turn ran out, or the token aged): the page says to reload,
    // which asks the queue again with the ticket kept; the queue says whether the turn passed (then the
    // shopper queues again at the back) or lets them in again.
    if (context.queue && code === 'ADMISSION_EXPIRED' && Date.now() - arrived < QUEUE_GIVE_UP_MS) {
      context.queue.waitAgain(customerId);
      continue;
    }
    // Let in, but every unit was held by then: the shopper waits for units to come back, as the waiting room
    // promises. The page stays let in and polls the product (every 0.8–1 s, drop.js): units back while the
    // turn lasts, the shopper presses again; the turn passed, the press is refused `ADMISSION_EXPIRED` and
    // the reload queues them at the back; all sold, the page says so. The rehearsal asks the queue with the
    // ticket kept instead, which tells the same three things (let in, `turnPassed`, SOLD_OUT) at about the
    // same cadence (`pollSeconds`: 1 s near the end), and counts the shopper as waiting.
    if (context.queue && code === 'SOLD_OUT' && Date.now() - arrived < QUEUE_GIVE_UP_MS) {
      context.queue.waitAgain(customerId);
      await new Promise((resolve) => setTimeout(resolve, 1000));
      continue;
    }
    const seen = context.queue?.humans.get(customerId);
    if (seen && code === 'SOLD_OUT') seen.toldSoldOutAt ??= Date.now();
    await ended(code === 'SOLD_OUT' ? 'SOLD_OUT' : 'LEFT');
    return;
  }
  const reservationId = String(held.body.reservationId);
  context.outcomes.holds.set(reservationId, { customerId, quantity, at: Date.now() });

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
  if (!paid && answers.every((answer) => answer === undefined || invitesRetry(answer))) {
    // No checkout was answered for good (each timed out, or its retries were all refused 429/503): the
    // app asks what became of the hold, as a shopper asks whether the payment went through. A checkout
    // that committed after its answer was lost is then the shopper's order, as it is in the ledger.
    const hold = await send(context, 'reservation', () =>
      api.call('GET', `/reservations/${reservationId}`, { timeoutMs }),
    );
    const orderId = hold?.status === 200 && hold.body.status === 'CONFIRMED' ? hold.body.orderId : undefined;
    if (typeof orderId === 'string') {
      paid = true;
      context.outcomes.confirmedLate++;
      context.outcomes.orders.set(orderId, { reservationId, customerId, quantity });
    }
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
  kept: { ticket?: string },
): Promise<{ admission?: string; outcome?: FeedbackOutcome }> {
  const { api, sku, queue } = context;
  const path = `/drops/${sku}/queue?customerId=${encodeURIComponent(customerId)}`;
  const timeoutMs = context.behaviour.requestTimeoutMs;
  const started = Date.now();
  for (;;) {
    const ticket = kept.ticket;
    const askedAt = Date.now();
    const answer = await send(
      context,
      'queue',
      () => api.call('GET', path, { timeoutMs, ...(ticket ? { headers: { 'x-dropline-ticket': ticket } } : {}) }),
      experience,
    );
    const place =
      answer?.status === 200
        ? (answer.body as {
            state?: string;
            admitted?: boolean;
            ticket?: string;
            admission?: string;
            turnPassed?: boolean;
            pollSeconds?: number;
          })
        : undefined;
    if (place?.ticket && !ticket) {
      kept.ticket = place.ticket;
      const claims = ticketClaims(place.ticket);
      if (queue && isPreQueue(claims) && !queue.humans.has(customerId)) queue.preQueue.shoppers++;
      const now = Date.now();
      queue?.humans.set(customerId, { ticketT: claims.t, ticketO: claims.o, ticketAt: now, spans: [{ from: now }] });
    }
    const seen = queue?.humans.get(customerId);
    if (place?.admitted && place.admission) {
      if (seen) {
        seen.admittedAt ??= Date.now();
        queue?.stopWaiting(seen);
      }
      queue?.admitted(seen?.ticketO ?? Number.NaN);
      return { admission: place.admission };
    }
    // Let in a window of open drop ago and refused since (every unit held): the turn went on to the next in
    // line, and units that come back go to them. As the page does, the shopper queues again at the back: a
    // new ticket, a new arrival.
    if (place?.turnPassed) {
      if (seen) queue?.stopWaiting(seen);
      if (queue) queue.turnsPassed++;
      kept.ticket = undefined;
    }
    // Told to wait on order alone (the drop open, before their first admission): every unit held is a wait
    // for everyone, not an order.
    if (seen && seen.admittedAt === undefined && place?.state === 'OPEN' && !place.admitted && !place.turnPassed) {
      seen.lastWaitAskedAt = askedAt;
    }
    if (place?.state === 'SOLD_OUT' || place?.state === 'CLOSED') {
      if (seen) {
        seen.toldSoldOutAt = Date.now();
        queue?.stopWaiting(seen);
      }
      return { outcome: 'SOLD_OUT' };
    }
    // A poll that found no answer is polled again, as the page does (waiting-room.js); only time ends the wait.
    if (Date.now() - started > QUEUE_GIVE_UP_MS) {
      if (seen) {
        seen.leftAt = Date.now();
        queue?.stopWaiting(seen);
      }
      return { outcome: 'LEFT' };
    }
    await new Promise((resolve) => setTimeout(resolve, queuePollMs(place?.pollSeconds)));
  }
}

/** How soon the page asks the queue again after this answer (site/assets/waiting-room.js, `pollMs`). */
export function queuePollMs(pollSeconds: unknown): number {
  return typeof pollSeconds === 'number' && pollSeconds >= 1 && pollSeconds <= 10 ? pollSeconds * 1000 : QUEUE_POLL_MS;
}

/** A ticket from before the start: ranked in the pre-queue, its order key is not its arrival time. */
function isPreQueue(claims: { t: number; o: number }): boolean {
  return Number.isFinite(claims.o) && Number.isFinite(claims.t) && claims.o !== claims.t;
}

/** A ticket's arrival time and order key, as the edge signed them (its claims are readable, only not forgeable). */
function ticketClaims(ticket: string): { t: number; o: number } {
  try {
    const claims = JSON.parse(Buffer.from(ticket.split('.')[0] ?? '', 'base64url').toString('utf8')) as {
      t?: unknown;
      o?: unknown;
    };
    return {
      t: typeof claims.t === 'number' ? claims.t : Number.NaN,
      o: typeof claims.o === 'number' ? claims.o : Number.NaN,
    };
  } catch {
    return { t: Number.NaN, o: Number.NaN };
  }
}

/** Made-up identities each bot takes a ticket under (ticket farming): the local stack verifies none. */
export const FARMED_IDENTITIES = 4;
/**
 * How long a bot keeps storming after the queue told it the drop is over: scalpers do not take "sold out"
 * for an answer at once (units came back before). The edge's share of attempts after the sell-out depends
 * on it: the edge answers none in its first seconds (the news travels, and a key minted within 2 s of the
 * drop's last change may be a retry the origin must see).
 */
const BOT_DISBELIEF_MS = 10_000;
/**
 * A bot gives up only when told the drop is over (and `BOT_DISBELIEF_MS` after), or when a shopper would:
 * `QUEUE_GIVE_UP_MS` after it came. A scalper does not tire before a shopper does while units remain.
 */
const BOT_LIFE_MS = QUEUE_GIVE_UP_MS;
/** A retry storm: on a refusal, again at once (no Retry-After), this many times in a row, then a breath. */
const STORM_BURST = 2;

/**
 * A bot: rapid attempts for the maximum quantity, never pays. Without a waiting room: one of a few
 * identities, storming the reservation route. With one: it farms tickets (one per made-up identity, at
 * once), polls them, storms the reservation route with and without admissions, and keeps at it past
 * refusals, and for a while past the sell-out (units may come back), for as long as a shopper waits.
 */
export async function bot(context: DropContext, index: number): Promise<void> {
  const random = forActor(context.seed, 1_000_000 + index);
  if (context.queue) return farmingBot(context, context.queue, index, random);
  const customerId = `${context.runId}-bot-${index % 7}`;
  for (let attempt = 0; attempt < context.behaviour.botAttempts; attempt++) {
    const key = `${context.runId}-bot-${index}-${attempt}`;
    const answer = await send(
      context,
      'reserve',
      () =>
        context.api.call('POST', `/products/${context.sku}/reservations`, {
          body: { customerId, quantity: context.maxPerCustomer },
          headers: { 'idempotency-key': key, ...context.signIn?.(customerId) },
          timeoutMs: context.behaviour.requestTimeoutMs,
        }),
      undefined,
      true,
      { key, bot: true },
    );
    if (answer?.status === 201) {
      context.outcomes.holds.set(String(answer.body.reservationId), {
        customerId,
        quantity: context.maxPerCustomer,
        at: Date.now(),
      });
    }
    await pause(random, 0, 30);
  }
}

interface FarmedIdentity {
  readonly customerId: string;
  ticket?: string;
  order: number;
  /** Let in and used, or told the drop is over: nothing more to ask the queue. */
  done: boolean;
  admission?: string;
  held: boolean;
}

async function farmingBot(context: DropContext, queue: Queue, index: number, random: Random): Promise<void> {
  const { api, sku } = context;
  const arrived = Date.now();
  // Its one real account (the only one a sign-in vouches for, with identity on), and made-up ones.
  const account = `${context.runId}-bot-${index}`;
  const identities: FarmedIdentity[] = Array.from({ length: FARMED_IDENTITIES }, (_, k) => ({
    customerId: k === 0 ? account : `${account}-${k}`,
    order: Number.NaN,
    done: false,
    held: false,
  }));
  const path = (identity: FarmedIdentity) =>
    `/drops/${sku}/queue?customerId=${encodeURIComponent(identity.customerId)}`;
  await Promise.all(
    identities.map(async (identity) => {
      const answer = await once(context, 'queue', () => api.call('GET', path(identity)));
      const ticket = answer?.status === 200 ? (answer.body as { ticket?: unknown }).ticket : undefined;
      if (typeof ticket !== 'string') {
        identity.done = true;
        return;
      }
      const claims = ticketClaims(ticket);
      identity.ticket = ticket;
      identity.order = claims.o;
      queue.botTickets++;
      if (isPreQueue(claims)) queue.preQueue.botTickets++;
      queue.botsWaiting++;
    }),
  );
  const finish = (identity: FarmedIdentity) => {
    if (identity.done) return;
    identity.done = true;
    queue.botsWaiting--;
  };
  // Its turn passed (the edge refused the admission, or the queue said so): a new ticket, at the back, as a
  // bot that reads the answers would take.
  const requeue = (identity: FarmedIdentity) => {
    // One that holds a unit has nothing to queue again for.
    if (identity.held) return;
    identity.admission = undefined;
    identity.ticket = undefined;
    if (!identity.done) return;
    identity.done = false;
    queue.botsWaiting++;
  };
  let turn = 0;
  let toldOverAt: number | undefined;
  const keepsAtIt = () =>
    Date.now() - arrived < BOT_LIFE_MS &&
    (toldOverAt === undefined || Date.now() - toldOverAt < BOT_DISBELIEF_MS) &&
    identities.some((identity) => !identity.held);
  while (keepsAtIt()) {
    // One farmed ticket asked about per round (round robin), as four pages polling would.
    const waiting = identities.filter((identity) => !identity.done);
    const asked = waiting[turn++ % Math.max(1, waiting.length)] ?? identities[turn % identities.length];
    if (asked && !asked.ticket && !asked.held) {
      const answer = await once(context, 'queue', () => api.call('GET', path(asked)));
      const place = answer?.status === 200 ? (answer.body as { state?: string; ticket?: unknown }) : undefined;
      if (place?.state === 'SOLD_OUT' || place?.state === 'CLOSED') {
        finish(asked);
        toldOverAt ??= Date.now();
      } else if (typeof place?.ticket === 'string') {
        asked.ticket = place.ticket;
        asked.order = ticketClaims(place.ticket).o;
        queue.botRequeues++;
      }
    } else if (asked?.ticket) {
      const ticket = asked.ticket;
      const answer = await once(context, 'queue', () =>
        api.call('GET', path(asked), { headers: { 'x-dropline-ticket': ticket } }),
      );
      const place =
        answer?.status === 200
          ? (answer.body as { state?: string; admission?: string; turnPassed?: boolean })
          : undefined;
      // The drop's end first: a passed ticket is still told SOLD_OUT or CLOSED, and that ends the waiting.
      if (place?.state === 'SOLD_OUT' || place?.state === 'CLOSED') {
        finish(asked);
        toldOverAt ??= Date.now();
      } else if (place?.turnPassed) {
        requeue(asked);
      } else if (place?.admission) {
        asked.admission = place.admission;
        queue.admitted(asked.order);
        finish(asked);
      }
    }
    // The storm: the identity asked about this round and every one let in try to reserve (with the admission
    // if there is one), and on a refusal try again at once.
    const storming = identities.filter((candidate) => !candidate.held && (candidate.admission || candidate === asked));
    for (const identity of storming) {
      for (let burst = 0; burst < STORM_BURST; burst++) {
        const admission = identity.admission;
        const key = attemptKey();
        const answer = await once(
          context,
          'reserve',
          () =>
            api.call('POST', `/products/${sku}/reservations`, {
              body: { customerId: identity.customerId, quantity: context.maxPerCustomer },
              // Signed in as its one account, whichever identity the ticket was farmed under.
              headers: {
                'idempotency-key': key,
                ...(admission ? { 'x-dropline-admission': admission } : {}),
                ...context.signIn?.(account),
              },
              timeoutMs: context.behaviour.requestTimeoutMs,
            }),
          // What the edge can tell of the admission: one farmed under a made-up customer shows as such only
          // beside the bearer token of the account it is signed in as.
          {
            key,
            bot: true,
            admission: !admission
              ? 'none'
              : context.signIn && identity.customerId !== account
                ? 'other-customer'
                : 'fits',
          },
        );
        if (answer?.status === 201) {
          identity.held = true;
          context.outcomes.holds.set(String(answer.body.reservationId), {
            customerId: identity.customerId,
            quantity: context.maxPerCustomer,
            at: Date.now(),
          });
          break;
        }
        if (admission && answer?.status === 403 && codeOf(answer) === 'ADMISSION_EXPIRED') {
          requeue(identity);
          break;
        }
        await pause(random, 0, 30);
      }
    }
    await pause(random, 500, 1000);
  }
  for (const identity of identities) finish(identity);
}
