/**
 * The waiting room and the operator's controls, as the rehearsal watches them: a sample a second of the
 * queue (shoppers waiting, admissions, the boundary), a pause and resume of the drop mid-spike through the
 * admin route, and the admission measures with the goals of issue 14 met or missed.
 */
import '@aws-sdk/signature-v4a';
import { CloudFrontKeyValueStoreClient, GetKeyCommand } from '@aws-sdk/client-cloudfront-keyvaluestore';
import { edgeStateKey, LOCAL_EDGE_STORE_ARN, roomKey } from '../../contract/drops';
import { type ApiClient, attemptKey } from '../api-client';
import { isWaiting, type Outcomes, type Queue } from './actors';
import type { Admission, EdgeDates, Recorder } from './recorder';

/** One second of the waiting room. Seconds are since the run's first arrival, as every chart's. */
export interface RoomSample {
  readonly second: number;
  /** Human shoppers holding a ticket and waiting (not let in, not told the drop is over, not gone). */
  readonly waiting: number;
  /** Bots' farmed tickets still waiting. */
  readonly botTicketsWaiting: number;
  /** Admissions handed out since the previous sample, per second. */
  readonly admittedPerSecond: number;
  /**
   * The admission boundary as the edge's KeyValueStore holds it (`room:<sku>`), as the arrival second it
   * admits up to; null where the store cannot be read (a deployed target) or holds none yet. Tickets taken
   * before the start are ranked over the minute before it, so the boundary is negative until it passes them.
   */
  readonly boundarySecond: number | null;
  /** The highest order key admitted so far, as the queue's answers show it: the boundary seen from outside. */
  readonly admittedUpToSecond: number | null;
}

/** A client of the local KeyValueStore, which checks no signature (the SDK needs something to sign with). */
function kvsClient(endpoint: string): CloudFrontKeyValueStoreClient {
  return new CloudFrontKeyValueStoreClient({
    endpointProvider: () => ({ url: new URL(endpoint) }),
    region: 'us-east-1',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
  });
}

/** The edge's KeyValueStore, read as an operator's tool would: only where the rehearsal started the stack. */
function roomReader(endpoint: string | undefined): ((sku: string) => Promise<number | undefined>) | undefined {
  if (!endpoint) return undefined;
  const client = kvsClient(endpoint);
  return async (sku) => {
    const answer = await client.send(new GetKeyCommand({ KvsARN: LOCAL_EDGE_STORE_ARN, Key: roomKey(sku) }));
    const room = JSON.parse(answer.Value ?? '{}') as { boundary?: unknown };
    return typeof room.boundary === 'number' ? room.boundary : undefined;
  };
}

/**
 * The edge's `since` for the SKU (ms: when its writer last changed what the edge refuses on) and its
 * `roomSince` (when the waiting room went on), as an operator's tool would read them from the local
 * KeyValueStore; each undefined where it cannot be read.
 */
export async function edgeDatesOf(kvsEndpoint: string | undefined, sku: string): Promise<EdgeDates> {
  if (!kvsEndpoint) return {};
  const client = kvsClient(kvsEndpoint);
  try {
    const answer = await client.send(new GetKeyCommand({ KvsARN: LOCAL_EDGE_STORE_ARN, Key: edgeStateKey(sku) }));
    const { since, roomSince } = JSON.parse(answer.Value ?? '{}') as { since?: unknown; roomSince?: unknown };
    return {
      ...(typeof since === 'number' ? { since } : {}),
      ...(typeof roomSince === 'number' ? { roomSince } : {}),
    };
  } catch {
    return {};
  } finally {
    client.destroy();
  }
}

/** Samples the waiting room every second until stopped. */
export function watchRoom(
  queue: Queue,
  recorder: Recorder,
  sku: string,
  kvsEndpoint: string | undefined,
): { readonly samples: RoomSample[]; stop(): void } {
  const samples: RoomSample[] = [];
  const readBoundary = roomReader(kvsEndpoint);
  const toSecond = (ms: number) => Number(((ms - recorder.startedAt) / 1000).toFixed(2));
  let last = { at: Date.now(), admissions: queue.admissions };
  const timer = setInterval(async () => {
    const now = Date.now();
    let boundary: number | undefined;
    try {
      boundary = await readBoundary?.(sku);
    } catch {
      // Not written yet, or a missed read: a gap in the chart.
    }
    const seconds = Math.max(0.001, (now - last.at) / 1000);
    samples.push({
      second: toSecond(now),
      waiting: queue.humansWaiting(),
      botTicketsWaiting: queue.botsWaiting,
      admittedPerSecond: Number(((queue.admissions - last.admissions) / seconds).toFixed(1)),
      boundarySecond: boundary === undefined ? null : toSecond(boundary),
      admittedUpToSecond: queue.admittedUpTo === undefined ? null : toSecond(queue.admittedUpTo),
    });
    last = { at: now, admissions: queue.admissions };
  }, 1000);
  return { samples, stop: () => clearInterval(timer) };
}

/** The operator's pause and resume, and what the shoppers and the edge made of them. */
export interface PauseMeasures {
  /** When the pause and the resume were called, seconds into the run. */
  readonly pausedAtSecond: number;
  readonly resumedAtSecond: number | null;
  /** How long the admin route took to answer the pause. */
  readonly pauseCallSeconds: number | null;
  /** From the pause call until the first 503 DROP_PAUSED, from anyone (the origin's or the edge's)… */
  readonly firstPausedAnswerSeconds: number | null;
  /** …and until the first one the edge function gave itself (the API never reached). */
  readonly edgePausedAfterSeconds: number | null;
  /** DROP_PAUSED answers during the pause, and how many of them the edge gave. */
  readonly pausedAnswers: number;
  readonly pausedAnswersFromEdge: number;
  /** New holds answered between the pause call and the resume call, and the latest of them. */
  readonly holdsWhilePaused: number;
  readonly lastHoldAfterPauseSeconds: number | null;
  /** New holds after the resume call, and how soon the first came. */
  readonly holdsAfterResume: number;
  readonly firstHoldAfterResumeSeconds: number | null;
}

export interface PausePlan {
  /** Seconds after the first arrival. */
  readonly atSeconds: number;
  readonly forSeconds: number;
}

/**
 * Pauses the drop `atSeconds` into the run through the admin route, and resumes it `forSeconds` later.
 * While paused, an operator's probe tries a reservation every 250 ms (a new UUIDv7 key, no admission, a
 * customer of its own, so it can never hold a unit) until the edge itself answers DROP_PAUSED: the
 * shoppers' own attempts may be few then (a paused room admits nobody).
 */
export function operatePause(api: ApiClient, sku: string, runId: string, recorder: Recorder, plan: PausePlan) {
  const probes: Array<{ at: number; code: string | undefined; edge: boolean }> = [];
  const calls: { paused?: number; pauseAnswered?: number; resumed?: number } = {};
  const call = async (action: 'pause' | 'resume') => {
    const at = Date.now();
    const answer = await api.call('POST', `/admin/drops/${sku}/${action}`, { admin: true });
    if (answer.status !== 200) throw new Error(`${action} answered ${answer.status}: ${answer.text}`);
    return at;
  };
  const done = (async () => {
    await sleep(recorder.startedAt + plan.atSeconds * 1000 - Date.now());
    calls.paused = await call('pause');
    calls.pauseAnswered = Date.now();
    // Paused for as long as planned from when the route said so (under load its answer can take a while).
    const resumeAt = calls.pauseAnswered + plan.forSeconds * 1000;
    while (Date.now() < resumeAt - 250 && !probes.some((probe) => probe.edge && probe.code === 'DROP_PAUSED')) {
      try {
        const answer = await api.call('POST', `/products/${sku}/reservations`, {
          body: { customerId: `${runId}-operator-probe`, quantity: 1 },
          headers: { 'idempotency-key': attemptKey() },
          timeoutMs: 5000,
        });
        const code = (answer.body as { error?: { code?: unknown } }).error?.code;
        probes.push({
          at: Date.now(),
          code: typeof code === 'string' ? code : undefined,
          edge: answer.headers['x-dropline-edge'] === 'answered',
        });
      } catch {
        // A lost probe is no answer.
      }
      await sleep(250);
    }
    await sleep(resumeAt - Date.now());
    calls.resumed = await call('resume');
  })();
  return {
    done,
    measures(outcomes: Outcomes): PauseMeasures | undefined {
      const { paused, resumed } = calls;
      if (paused === undefined) return undefined;
      const seconds = (ms: number) => Number(((ms - recorder.startedAt) / 1000).toFixed(2));
      const after = (ms: number | undefined) => (ms === undefined ? null : Number(((ms - paused) / 1000).toFixed(2)));
      const end = resumed ?? Number.POSITIVE_INFINITY;
      const answers = [
        ...recorder.reservations().map((answer) => ({ at: answer.at, code: answer.code, edge: answer.edge })),
        ...probes,
      ]
        .filter((answer) => answer.code === 'DROP_PAUSED' && answer.at >= paused)
        .sort((a, b) => a.at - b.at);
      const holds = [...outcomes.holds.values()].map((hold) => hold.at);
      const whilePaused = holds.filter((at) => at >= paused && at < end);
      const afterResume = resumed === undefined ? [] : holds.filter((at) => at >= resumed).sort((a, b) => a - b);
      return {
        pausedAtSecond: seconds(paused),
        resumedAtSecond: resumed === undefined ? null : seconds(resumed),
        pauseCallSeconds: after(calls.pauseAnswered),
        firstPausedAnswerSeconds: after(answers[0]?.at),
        edgePausedAfterSeconds: after(answers.find((answer) => answer.edge)?.at),
        pausedAnswers: answers.filter((answer) => answer.at < end).length,
        pausedAnswersFromEdge: answers.filter((answer) => answer.at < end && answer.edge).length,
        holdsWhilePaused: whilePaused.length,
        lastHoldAfterPauseSeconds: whilePaused.length === 0 ? null : after(Math.max(...whilePaused)),
        holdsAfterResume: afterResume.length,
        firstHoldAfterResumeSeconds:
          resumed === undefined || afterResume[0] === undefined
            ? null
            : Number(((afterResume[0] - resumed) / 1000).toFixed(2)),
      };
    },
  };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, Math.max(0, ms)));

export interface WaitingRoomMeasures {
  /**
   * Pairs of human shoppers with tickets from after the start where the later ticket was let in before the
   * earlier one was told to wait: the later's admission arrived before the earlier's question was even
   * asked, so the edge decided them out of ticket order (polling jitter cannot make one).
   */
  readonly orderInversions: number;
  readonly maxQueueWaitSeconds: number;
  /**
   * From the sell-out for good (nothing available, nothing held) until the last shopper who was waiting
   * then was told; null when the drop did not sell out for good, or nobody was waiting when it did.
   */
  readonly soldOutNoticeSeconds: number | null;
  /** From the sell-out for good until the edge function itself first answered an attempt SOLD_OUT. */
  readonly edgeSoldOutAfterSeconds: number | null;
  /** From the sell-out for good until the last reservation attempt answered after it (how long any storm outlasted it). */
  readonly lastAttemptAfterSoldOutSeconds: number | null;
  /**
   * Shoppers waiting when the drop sold out for good (but for those who then held one of its last units), and
   * how many of them were told SOLD_OUT.
   */
  readonly waitingAtSoldOut: number;
  readonly toldSoldOut: number;
  /** Units held by bots (any of their made-up identities) of all units held; bots of all arrivals. */
  readonly botUnitShare: number;
  /** Units bots held under identities they made up (a farmed ticket's): none when shoppers must sign in. */
  readonly botUnitsUnderMadeUpIdentities: number;
  readonly botArrivalShare: number;
  /**
   * The share of bots that held at least once, against the share of shoppers that did (any identity a bot farmed
   * counts as the bot). Over 1, bots fared better per arrival; it also weighs when each came: half the bots come
   * before the start, and the pre-queue's places all come before any later arrival's, so a queue that treats a bot
   * as one more shopper can give them more than 1. The unit share above also weighs what each takes (a bot the
   * maximum, a shopper less on average). Null when no shopper held, or no bot came.
   */
  readonly botHoldRatio: number | null;
  readonly humansQueued: number;
  readonly humansAdmitted: number;
  /**
   * Tickets taken before the start, ranked in the pre-queue: shoppers' first tickets and bots' farmed
   * ones. Every one of them comes before any ticket taken after the start.
   */
  readonly preQueue: { readonly shoppers: number; readonly botTickets: number };
  /**
   * Times a waiting shopper was told their turn had passed (the boundary passed their ticket a window
   * earlier, and they hold nothing): they queued again with a new ticket, which replaces the old one in the
   * measures above (a shopper is counted once, by their latest ticket).
   */
  readonly turnsPassed: number;
  /** Admissions handed out, shoppers' and bots': a shopper let in again after a refusal counts again. */
  readonly admissions: number;
  readonly botTickets: number;
  /** New tickets bots' identities took at the back after their turn passed (not in botTickets). */
  readonly botRequeues: number;
  /** The queue a second at a time, for the charts. */
  readonly series: readonly RoomSample[];
}

export function waitingRoomMeasures(
  queue: Queue,
  outcomes: Outcomes,
  recorder: Recorder,
  startsAt: number,
  arrivals: { readonly shoppers: number; readonly bots: number },
  series: readonly RoomSample[],
): WaitingRoomMeasures {
  const humans = [...queue.humans.values()];
  const afterStart = humans.filter((human) => human.ticketT >= startsAt).sort((a, b) => a.ticketT - b.ticketT);
  let orderInversions = 0;
  for (let later = 0; later < afterStart.length; later++) {
    const admitted = afterStart[later]?.admittedAt;
    if (admitted === undefined) continue;
    for (let earlier = 0; earlier < later; earlier++) {
      const told = afterStart[earlier];
      if (told && told.ticketT < (afterStart[later]?.ticketT ?? 0) && (told.lastWaitAskedAt ?? 0) > admitted) {
        orderInversions++;
      }
    }
  }
  const waits = humans.flatMap((human) => (human.admittedAt === undefined ? [] : [human.admittedAt - human.ticketAt]));
  const soldOutSecond = recorder.soldOutForGoodAtSecond();
  const soldOutAt = soldOutSecond === undefined ? undefined : recorder.startedAt + soldOutSecond * 1000;
  // Waiting at the sell-out: in the queue then (before a first admission, or back after a refusal). Arrivals
  // after it are told at once, which says nothing of how fast the news reached those already waiting. The
  // sell-out is taken at the last stock sample that still showed a unit, so a shopper waiting then may yet
  // have been let in and held one of the last units: no notice was owed them.
  const heldAfter = new Set(
    [...outcomes.holds.values()]
      .filter((hold) => soldOutAt !== undefined && hold.at >= soldOutAt)
      .map((hold) => hold.customerId),
  );
  const waitingThen =
    soldOutAt === undefined
      ? []
      : [...queue.humans].flatMap(([customerId, human]) =>
          isWaiting(human.spans, soldOutAt) && !heldAfter.has(customerId) ? [human] : [],
        );
  const told = waitingThen.flatMap((human) => (human.toldSoldOutAt === undefined ? [] : [human.toldSoldOutAt]));
  const edgeSoldOut =
    soldOutAt === undefined
      ? undefined
      : recorder.reservations().find((answer) => answer.edge && answer.code === 'SOLD_OUT' && answer.at >= soldOutAt);
  const lastAttempt = soldOutAt === undefined ? undefined : recorder.reservations().at(-1);
  const units = [...outcomes.holds.values()];
  const total = units.reduce((sum, hold) => sum + hold.quantity, 0);
  const byBots = units
    .filter((hold) => hold.customerId.includes('-bot-'))
    .reduce((sum, hold) => sum + hold.quantity, 0);
  return {
    orderInversions,
    maxQueueWaitSeconds: Number((Math.max(0, ...waits) / 1000).toFixed(1)),
    soldOutNoticeSeconds:
      soldOutAt === undefined || told.length === 0
        ? null
        : Number((Math.max(0, Math.max(...told) - soldOutAt) / 1000).toFixed(1)),
    edgeSoldOutAfterSeconds:
      soldOutAt === undefined || edgeSoldOut === undefined
        ? null
        : Number(((edgeSoldOut.at - soldOutAt) / 1000).toFixed(1)),
    lastAttemptAfterSoldOutSeconds:
      soldOutAt === undefined || lastAttempt === undefined || lastAttempt.at < soldOutAt
        ? null
        : Number(((lastAttempt.at - soldOutAt) / 1000).toFixed(1)),
    waitingAtSoldOut: waitingThen.length,
    toldSoldOut: told.length,
    botUnitShare: total === 0 ? 0 : Number((byBots / total).toFixed(3)),
    botUnitsUnderMadeUpIdentities: units
      .filter((hold) => /-bot-\d+-\d+$/.test(hold.customerId))
      .reduce((sum, hold) => sum + hold.quantity, 0),
    botArrivalShare: Number((arrivals.bots / Math.max(1, arrivals.shoppers + arrivals.bots)).toFixed(3)),
    botHoldRatio: holdRatio(units, arrivals),
    humansQueued: humans.length,
    humansAdmitted: waits.length,
    preQueue: { ...queue.preQueue },
    turnsPassed: queue.turnsPassed,
    admissions: queue.admissions,
    botTickets: queue.botTickets,
    botRequeues: queue.botRequeues,
    series,
  };
}

/** Bots that held, per bot, over shoppers that held, per shopper (see `botHoldRatio`). */
function holdRatio(
  holds: ReadonlyArray<{ readonly customerId: string }>,
  arrivals: { readonly shoppers: number; readonly bots: number },
): number | null {
  const holders = new Set(holds.map((hold) => hold.customerId.replace(/(-bot-\d+)-\d+$/, '$1')));
  const bots = [...holders].filter((customerId) => customerId.includes('-bot-')).length;
  const shoppers = holders.size - bots;
  if (shoppers === 0 || arrivals.bots === 0 || arrivals.shoppers === 0) return null;
  return Number((bots / arrivals.bots / (shoppers / arrivals.shoppers)).toFixed(2));
}

/** A goal of issue 14's "Measured": met, or missed with the figure that missed it. */
export interface Goal {
  readonly goal: string;
  readonly met: boolean;
  readonly detail: string;
}

export function admissionGoals(admission: Admission, room: WaitingRoomMeasures): Goal[] {
  const { edgeAnsweredShare, attemptsAfterSoldOut, originAfterSoldOut: origin, shoppersAfterSoldOut } = admission;
  const percent = (share: number) => `${Math.round(share * 100)} %`;
  const shoppers =
    shoppersAfterSoldOut.edgeAnsweredShare === null
      ? "none of them shoppers'"
      : `${percent(shoppersAfterSoldOut.edgeAnsweredShare)} of the ${shoppersAfterSoldOut.attempts} that were shoppers'`;
  return [
    {
      goal: 'edge answers ≥ 90 % of attempts after the sell-out',
      met: edgeAnsweredShare !== null && edgeAnsweredShare >= 0.9,
      detail:
        edgeAnsweredShare === null
          ? 'not measured: no attempt after a sell-out for good'
          : `${percent(edgeAnsweredShare)} of ${attemptsAfterSoldOut} attempts (${shoppers}), the last ${room.lastAttemptAfterSoldOutSeconds ?? '—'} s after the sell-out; the edge's first SOLD_OUT ${room.edgeSoldOutAfterSeconds ?? '—'} s after it. To the origin: ${origin.retriesFromBefore} with keys from before the sell-out, ${origin.newWithinRetryWindow} minted within the edge's retry window (its news came ${origin.edgeSinceAfterSoldOutSeconds ?? '—'} s after the sell-out, + 2 s of skew), ${origin.unknownAgeKeys} with keys of unknown age, ${origin.edgeFailures} failed at the edge, ${origin.other} other`,
    },
    {
      goal: 'sold-out notice ≤ 3 s',
      // Every shopper waiting then must have been told: the last told says nothing of those never told.
      met:
        room.soldOutNoticeSeconds !== null &&
        room.soldOutNoticeSeconds <= 3 &&
        room.toldSoldOut === room.waitingAtSoldOut,
      detail:
        room.soldOutNoticeSeconds === null
          ? `not measured: ${room.waitingAtSoldOut} shoppers waiting at a sell-out for good, ${room.toldSoldOut} told`
          : `${room.soldOutNoticeSeconds} s until the last of ${room.toldSoldOut} waiting shoppers was told (${room.waitingAtSoldOut} waiting then${room.toldSoldOut < room.waitingAtSoldOut ? `; ${room.waitingAtSoldOut - room.toldSoldOut} never told` : ''})`,
    },
    {
      goal: 'no order inversions',
      met: room.orderInversions === 0,
      detail: `${room.orderInversions} pairs of shoppers let in out of ticket order`,
    },
    {
      goal: 'bots’ share of units ≤ their share of arrivals',
      met: room.botUnitShare <= room.botArrivalShare,
      detail: `${percent(room.botUnitShare)} of units held, ${percent(room.botArrivalShare)} of arrivals; a bot held ${room.botHoldRatio ?? '—'}× as often as a shopper`,
    },
  ];
}
