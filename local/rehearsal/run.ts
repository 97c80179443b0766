/**
 * A drop rehearsal: a limited SKU, an open-model spike of shoppers and bots,
 * then — once holds have expired and queues drained — a verdict on every
 * promise, with a terminal summary, a JSON line and an HTML report.
 */
import { createWriteStream, mkdirSync, readFileSync, type WriteStream, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { resolveAdminKey } from '../admin-key';
import { ApiClient, type ApiResponse, type Ledger } from '../api-client';
import { type RunningAssembly, startAssemblyStack } from '../assembly/run';
import type { AwsEndpoints } from '../emulators/embedded-aws';
import type { TestIssuer } from '../identity/test-issuer';
import { type LocalStack, startLocalStack } from '../stack';
import { type Behaviour, bot, type DropContext, FARMED_IDENTITIES, Outcomes, Queue, shopper } from './actors';
import { arrivalSchedule, peakRatePerSecond } from './arrivals';
import { seeded } from './random';
import { type Admission, Recorder, type Refusal } from './recorder';
import { type RunSettings, renderReport, type ShopperFeedback } from './report-html';
import {
  admissionGoals,
  edgeDatesOf,
  type Goal,
  operatePause,
  type PauseMeasures,
  type PausePlan,
  type WaitingRoomMeasures,
  waitingRoomMeasures,
  watchRoom,
} from './room';
import { type Check, verdict } from './verdict';

export type { PauseMeasures, WaitingRoomMeasures } from './room';

export interface RehearsalOptions {
  readonly stock: number;
  readonly shoppers: number;
  readonly durationSeconds: number;
  readonly botShare: number;
  readonly holdSeconds: number;
  readonly maxPerCustomer: number;
  readonly shards?: number;
  readonly seed: number;
  readonly reportDir: string;
  /** A deployed (or already running) stack; without it the embedded stack is started. */
  readonly target?: { readonly url: string; readonly adminKey: string };
  /**
   * Rehearse on this synthesized cloud assembly (run by local/assembly); without it, on the hand-wired
   * runtime (the CLI gives the app's own assembly unless told otherwise).
   */
  readonly assemblyDir?: string;
  /** Run the local stack against these AWS endpoints (LocalStack) instead of the embedded emulators. */
  readonly awsEndpoints?: AwsEndpoints;
  readonly drainTimeoutSeconds: number;
  readonly behaviour: Behaviour;
  /** Turn the drop's waiting room on: shoppers queue at the edge first, and bots farm tickets. */
  readonly waitingRoom?: boolean;
  /** The operator pauses the drop this far into the run, and resumes it after a while. */
  readonly pause?: PausePlan;
  /**
   * Shopper identity on (local stacks only): the built-in test issuer stands in for the shop's provider,
   * every shopper and every bot's one real account signs in, and a reservation is for the signed-in account.
   */
  readonly identity?: boolean;
}

/**
 * The waiting-room rehearsal's shoppers mostly pay for what they hold: few holds come back, so the drop
 * sells out for good while later arrivals still wait, and the report can measure how fast they are told.
 */
export const WAITING_ROOM_BEHAVIOUR: Partial<Behaviour> = {
  abandonShare: 0.03,
  releaseShare: 0.02,
  declineShare: 0.05,
};

/** With the waiting room on, the operator pauses mid-spike (40 % into the arrivals, after the start) for 5 s. */
export function defaultPause(durationSeconds: number): PausePlan {
  return { atSeconds: Math.max(PRE_QUEUE_LEAD_MS / 1000 + 1, Math.round(durationSeconds * 0.4)), forSeconds: 5 };
}

/** Each account's bearer token, minted once by the test issuer (an hour's validity outlasts any rehearsal). */
function signInWith(issuer: TestIssuer): (account: string) => Record<string, string> {
  const tokens = new Map<string, string>();
  return (account) => {
    let token = tokens.get(account);
    if (!token) {
      token = issuer.mint(account);
      tokens.set(account, token);
    }
    return { authorization: `Bearer ${token}` };
  };
}

/** With the waiting room on, the crowd starts arriving this long before the drop starts: early arrivals pre-queue. */
const PRE_QUEUE_LEAD_MS = 3000;
/**
 * Time for the room to open at the edge (the switch carried by the table's stream, the relay and the
 * writer into the KeyValueStore) before the crowd comes: about 3.5 s on a quiet machine, over 6 s seen on a
 * loaded one. The drop starts this long plus the lead after the product is made, and the crowd waits for the
 * room; a room opened later than this leaves a shorter lead, which the run reports.
 */
const ROOM_OPENS_WITHIN_MS = 10_000;

export const defaultRehearsal: RehearsalOptions = {
  stock: 300,
  shoppers: 1500,
  durationSeconds: 20,
  botShare: 0.05,
  holdSeconds: 10,
  maxPerCustomer: 2,
  seed: 42,
  reportDir: 'reports',
  drainTimeoutSeconds: 60,
  behaviour: {
    declineShare: 0.1,
    abandonShare: 0.15,
    releaseShare: 0.05,
    doubleCheckoutShare: 0.1,
    requestTimeoutMs: 10_000,
    maxRetries: 3,
    botAttempts: 6,
    feedbackShare: 0.3,
  },
};

export interface RehearsalResult {
  readonly passed: boolean;
  readonly checks: Check[];
  readonly summary: Record<string, unknown>;
  readonly reportPath: string;
}

export interface Progress {
  update(fraction: number, line: string): void;
  done(): void;
  log(line: string): void;
}

export async function rehearse(options: RehearsalOptions, progress: Progress): Promise<RehearsalResult> {
  let stack: Pick<LocalStack, 'url' | 'adminKey' | 'stop' | 'endpoints' | 'identity'> | undefined;
  let pageUrl: string | undefined;
  let functionLog: WriteStream | undefined;
  const endpoints = options.awsEndpoints ? { endpoints: options.awsEndpoints } : {};
  if (!options.target && options.assemblyDir) {
    // The functions' log lines (what CloudWatch Logs would keep) go to a file: the progress line owns the terminal.
    const logPath = join(resolve(options.reportDir), 'functions.log');
    mkdirSync(resolve(options.reportDir), { recursive: true });
    functionLog = createWriteStream(logPath);
    progress.log(`Starting the cloud assembly ${options.assemblyDir} (functions' logs: ${logPath})…`);
    stack = await startAssemblyStack({
      assemblyDir: options.assemblyDir,
      adminKey: resolveAdminKey(),
      port: 0,
      functionLogs: { to: functionLog },
      ...(options.identity ? { identity: true } : {}),
      ...endpoints,
    });
    pageUrl = (stack as RunningAssembly).pageUrl;
  } else if (!options.target) {
    progress.log(
      options.awsEndpoints
        ? 'Starting the local stack on the given AWS endpoints…'
        : 'Starting the embedded stack (DynamoDB Local, fauxqs)…',
    );
    stack = await startLocalStack({ port: 0, ...endpoints, ...(options.identity ? { identity: true } : {}) });
    pageUrl = `${stack.url}/`;
  }
  const url = options.target?.url ?? (stack as LocalStack).url;
  const adminKey = options.target?.adminKey ?? (stack as LocalStack).adminKey;
  const api = new ApiClient(
    url,
    adminKey,
    clientConnections(options.shoppers, options.botShare, openFileLimit(), options.target === undefined),
  );
  try {
    const issuer = stack?.identity;
    if (options.identity && !issuer) throw new Error('shopper identity needs a local stack (its test issuer)');
    return await run(options, api, progress, pageUrl, stack?.endpoints.cloudfrontKeyValueStore, issuer);
  } finally {
    await api.close();
    await stack?.stop();
    functionLog?.end();
  }
}

/** Connections beyond the crowd's: the operator's calls, the stock sampler, the room's watcher. */
const CLIENT_SPARE = 64;
/**
 * Descriptors left to everything else in this process: the SDK's sockets, logs, the functions' pipes, and the
 * gateway's and the test issuer's listening sockets (128 each on Linux: `listenShared`).
 */
const RESERVED_FILES = 1024;
/** The pool when the process's descriptor limit cannot be read. */
const UNKNOWN_LIMIT_CONNECTIONS = 512;
/**
 * At most this many whatever the descriptors: connections to one address and port each take a local port
 * of their own, and Linux gives some 28,000 (`net.ipv4.ip_local_port_range`, 32768–60999 by default).
 */
const MAX_CONNECTIONS = 16_384;

/**
 * Connections the rehearsal's client may have open at once: one for every arrival, and one more for each
 * extra identity a bot farms. Each is a client of its own (a browser, an app) that waits on no other's
 * connection, as CloudFront makes none wait; a pool smaller than the crowd queues requests in the client,
 * and the latency, timeouts and sold-out notice measured then include a wait no shopper has (at 512, a
 * quarter of a default waiting-room run's requests waited). Bounded by the descriptors the process may
 * open: with the stack in this process a connection takes two, the client's socket and the gateway's.
 */
export function clientConnections(
  arrivals: number,
  botShare: number,
  openFiles: number | undefined,
  stackInProcess: boolean,
): number {
  const wanted = arrivals + Math.ceil(arrivals * botShare) * (FARMED_IDENTITIES - 1) + CLIENT_SPARE;
  if (openFiles === undefined) return Math.min(wanted, UNKNOWN_LIMIT_CONNECTIONS);
  const budget = Math.floor((openFiles - RESERVED_FILES) / (stackInProcess ? 2 : 1));
  return Math.max(CLIENT_SPARE, Math.min(wanted, budget, MAX_CONNECTIONS));
}

/**
 * The descriptors this process may open (its soft limit, which Node raises to the hard one as it starts),
 * where the system says (Linux's /proc); undefined elsewhere.
 */
export function openFileLimit(limits = '/proc/self/limits'): number | undefined {
  try {
    const soft = /^Max open files\s+(\S+)/m.exec(readFileSync(limits, 'utf8'))?.[1];
    if (soft === 'unlimited') return Number.MAX_SAFE_INTEGER;
    return soft && /^\d+$/.test(soft) ? Number(soft) : undefined;
  } catch {
    return undefined;
  }
}

async function run(
  options: RehearsalOptions,
  api: ApiClient,
  progress: Progress,
  pageUrl: string | undefined,
  kvsEndpoint: string | undefined,
  issuer: TestIssuer | undefined,
): Promise<RehearsalResult> {
  const runId = `r${options.seed}-${Date.now().toString(36)}`;
  const sku = `drop-${runId}`;
  const startsAt = options.waitingRoom ? Date.now() + ROOM_OPENS_WITHIN_MS + PRE_QUEUE_LEAD_MS : undefined;
  const created = await api.putProduct(sku, {
    ...(startsAt ? { dropStartsAt: new Date(startsAt).toISOString() } : {}),
    name: 'Rehearsal drop',
    priceCents: 19_900,
    stock: options.stock,
    maxPerCustomer: options.maxPerCustomer,
    holdSeconds: options.holdSeconds,
    ...(options.shards ? { shards: options.shards } : {}),
  });
  if (created.status !== 201) throw new Error(`Could not create the drop's product: ${created.status} ${created.text}`);
  const queue = options.waitingRoom ? await openWaitingRoom(api, sku) : undefined;
  if (startsAt) {
    const lead = startsAt - Date.now();
    if (lead > PRE_QUEUE_LEAD_MS) await new Promise((resolve) => setTimeout(resolve, lead - PRE_QUEUE_LEAD_MS));
    else {
      progress.log(
        lead > 0
          ? `The waiting room took long to open at the edge: the crowd comes ${(lead / 1000).toFixed(1)} s ` +
              `before the start, not ${PRE_QUEUE_LEAD_MS / 1000} s, so fewer arrivals pre-queue`
          : `The waiting room opened at the edge ${(-lead / 1000).toFixed(1)} s after the start: no arrival pre-queues`,
      );
    }
  }

  const random = seeded(options.seed);
  const durationMs = options.durationSeconds * 1000;
  const arrivals = arrivalSchedule(options.shoppers, durationMs, random);
  const isBot = arrivals.map(() => random() < options.botShare);
  if (queue && startsAt) {
    // Half the bots come early and farm their tickets before the start (the pre-queue), the rest on schedule.
    const preStartMs = Math.max(0, startsAt - Date.now());
    for (let index = 0; index < arrivals.length; index++) {
      if (isBot[index] && random() < 0.5) arrivals[index] = random() * preStartMs * 0.8;
    }
  }
  const recorder = new Recorder();
  const outcomes = new Outcomes();
  const room = queue ? watchRoom(queue, recorder, sku, kvsEndpoint) : undefined;
  const pausing = options.pause ? operatePause(api, sku, runId, recorder, options.pause) : undefined;
  const context: DropContext = {
    api,
    sku,
    runId,
    seed: options.seed,
    maxPerCustomer: options.maxPerCustomer,
    behaviour: queue ? { ...options.behaviour, ...WAITING_ROOM_BEHAVIOUR } : options.behaviour,
    recorder,
    outcomes,
    ...(queue ? { queue } : {}),
    ...(issuer ? { signIn: signInWith(issuer) } : {}),
  };
  const bots = isBot.filter(Boolean).length;
  progress.log(
    `Drop ${sku}: ${options.stock} units, ${options.shoppers - bots} shoppers and ${bots} bots over ${options.durationSeconds} s ` +
      `(peak ≈ ${Math.round(peakRatePerSecond(options.shoppers, durationMs))} arrivals/s), holds of ${options.holdSeconds} s, seed ${options.seed}`,
  );
  if (pageUrl) progress.log(`Watch it on the drop page: ${pageUrl}?sku=${sku}`);

  let ledger = await api.ledger(sku);
  const sampler = setInterval(async () => {
    try {
      ledger = await api.ledger(sku);
      recorder.sampleStock({ available: ledger.available, held: ledger.held, sold: ledger.sold });
    } catch {
      // A missed sample is a gap in a chart, not a failure.
    }
  }, 500);
  const ticker = setInterval(() => {
    const elapsed = recorder.elapsedSeconds();
    progress.update(
      Math.min(1, elapsed / options.durationSeconds),
      `${elapsed.toFixed(0)}/${options.durationSeconds} s  ${recorder.count()} answers  ` +
        `held ${ledger.held} sold ${ledger.sold} left ${ledger.available}  5xx ${recorder.errors5xx()}`,
    );
  }, 250);

  const journeys = arrivals.map(
    (at, index) =>
      new Promise<void>((done) => {
        setTimeout(() => {
          const actor = isBot[index] ? bot(context, index) : shopper(context, index);
          actor.catch(() => undefined).finally(done);
        }, at);
      }),
  );
  await Promise.all(journeys);
  const spikeSeconds = recorder.elapsedSeconds();
  clearInterval(ticker);
  progress.done();
  if (pausing) {
    // A spike over before the resume: the drop is resumed before the drain, whose holds then settle as usual.
    await pausing.done;
  }

  progress.log(
    `Spike over in ${spikeSeconds.toFixed(1)} s. Draining: holds expiring, orders fulfilling, channels syncing…`,
  );
  const drain = await drainAndRead(api, sku, outcomes, options.drainTimeoutSeconds);
  clearInterval(sampler);
  room?.stop();
  recorder.sampleStock({ available: drain.ledger.available, held: drain.ledger.held, sold: drain.ledger.sold });

  const feedback = await readFeedback(api, sku, outcomes.feedbackSent);
  const errors5xx = recorder.errors5xx();
  const checks = verdict({
    ledger: drain.ledger,
    outcomes,
    maxPerCustomer: options.maxPerCustomer,
    errors5xx,
    channels: drain.channels,
    orderStatuses: drain.orderStatuses,
    drained: drain.drained,
  });
  const all = recorder.percentiles();
  const timeline = recorder.timeline();
  const refusals = { soldOut: 0, limit: 0, throttled: 0, busy: 0, paused: 0, otherRefused: 0 };
  for (const bucket of timeline) for (const key of Object.keys(refusals) as Refusal[]) refusals[key] += bucket[key];
  const firstEmpty = recorder.stock.find((sample) => sample.available === 0);
  const admission = recorder.admission(drain.ledger.sold, await edgeDatesOf(kvsEndpoint, sku));
  const roomMeasures =
    queue && startsAt && room
      ? waitingRoomMeasures(
          queue,
          outcomes,
          recorder,
          startsAt,
          { shoppers: options.shoppers - bots, bots },
          room.samples,
        )
      : undefined;
  const goals = roomMeasures ? admissionGoals(admission, roomMeasures) : undefined;
  const settings = {
    stock: options.stock,
    shoppers: options.shoppers - bots,
    bots,
    durationSeconds: options.durationSeconds,
    seed: options.seed,
    holdSeconds: options.holdSeconds,
    shards: Number(created.body.shards),
    maxPerCustomer: options.maxPerCustomer,
    identity: issuer !== undefined,
  };
  const summary = {
    passed: checks.every((check) => check.passed),
    failures: checks.filter((check) => !check.passed).map((check) => check.promise),
    oversold: Math.max(0, drain.ledger.sold + drain.ledger.held - drain.ledger.supplied),
    ledgerBalanced: checks.find((check) => check.promise === 'ledger balanced')?.passed ?? false,
    errors5xx,
    latencyMs: { p50: all.p50, p95: all.p95, p99: all.p99, p999: all.p999 },
    throughputRps: Number((recorder.count() / spikeSeconds).toFixed(1)),
    sold: drain.ledger.sold,
    stock: options.stock,
    attempts: recorder.count('reserve'),
    held: drain.ledger.held,
    available: drain.ledger.available,
    released: drain.ledger.released,
    expired: drain.ledger.expired,
    orders: outcomes.orders.size,
    shoppers: options.shoppers - bots,
    bots,
    timeouts: recorder.timeouts,
    retries: recorder.retries,
    unanswered: outcomes.unanswered,
    confirmedLate: outcomes.confirmedLate,
    durationSeconds: Number(spikeSeconds.toFixed(1)),
    peakArrivalRps: Math.round(peakRatePerSecond(options.shoppers, durationMs)),
    channelsInSync: checks.find((check) => check.promise === 'channels in sync')?.passed ?? false,
    seed: options.seed,
    sku,
    settings,
    refusals,
    soldOutAtSecond: firstEmpty ? Number(firstEmpty.second.toFixed(1)) : null,
    feedback,
    admission: { ...admission, ...(roomMeasures ? { waitingRoom: roomMeasures, goals } : {}) },
    pause: pausing?.measures(outcomes) ?? null,
    spikeEndedAtSecond: Number(spikeSeconds.toFixed(1)),
  };
  const reportPath = writeReports(options.reportDir, runId, {
    summary,
    checks,
    recorder,
  });
  return { passed: summary.passed, checks, summary: { ...summary, reportPath }, reportPath };
}

interface Drained {
  readonly drained: boolean;
  readonly ledger: Ledger;
  readonly channels: Array<{ channel: string; available: number | null }>;
  readonly orderStatuses: Map<string, string | undefined>;
}

/** Waits until no hold is left, every order is fulfilled and every channel has caught up, or time runs out. */
async function drainAndRead(api: ApiClient, sku: string, outcomes: Outcomes, timeoutSeconds: number): Promise<Drained> {
  const deadline = Date.now() + timeoutSeconds * 1000;
  const orderStatuses = new Map<string, string | undefined>();
  for (;;) {
    const ledger = await api.ledger(sku);
    const channelsAnswer = await api.call('GET', `/admin/products/${sku}/channels`, { admin: true });
    const channels = (channelsAnswer.body.channels ?? []) as Array<{
      channel: string;
      available: number | null;
      synced: boolean;
    }>;
    for (const orderId of outcomes.orders.keys()) {
      if (orderStatuses.get(orderId) === 'FULFILLED') continue;
      orderStatuses.set(orderId, (await api.call('GET', `/orders/${orderId}`)).body.status);
    }
    const settled =
      ledger.held === 0 &&
      channels.every((channel) => channel.synced && channel.available === ledger.available) &&
      [...orderStatuses.values()].every((status) => status === 'FULFILLED');
    if (settled || Date.now() > deadline) return { drained: settled, ledger, channels, orderStatuses };
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
}

/**
 * What the shoppers said, as the admin feedback route counts it: per outcome the answers, the mean
 * rating and how often each reason came up. Undefined when the route does not answer (an older target).
 */
async function readFeedback(api: ApiClient, sku: string, sent: number): Promise<ShopperFeedback | undefined> {
  let answer: ApiResponse<{
    total: number;
    outcomes: Record<string, { answers: number; averageRating: number | null; reasons: Record<string, number> }>;
  }>;
  try {
    answer = await api.call('GET', `/admin/products/${sku}/feedback`, { admin: true });
  } catch {
    return undefined;
  }
  if (answer.status !== 200) return undefined;
  const outcomes = Object.fromEntries(
    Object.entries(answer.body.outcomes)
      .filter(([, counts]) => counts.answers > 0)
      .map(([outcome, counts]) => [
        outcome,
        { answers: counts.answers, averageRating: counts.averageRating, reasons: counts.reasons },
      ]),
  );
  return { sent, counted: answer.body.total, outcomes };
}

function writeReports(
  reportDir: string,
  runId: string,
  results: {
    summary: Record<
      | 'sold'
      | 'stock'
      | 'oversold'
      | 'orders'
      | 'attempts'
      | 'throughputRps'
      | 'errors5xx'
      | 'expired'
      | 'released'
      | 'timeouts'
      | 'retries'
      | 'spikeEndedAtSecond',
      number
    > & {
      settings: RunSettings;
      latencyMs: { p99: number };
      soldOutAtSecond: number | null;
      feedback: ShopperFeedback | undefined;
      admission: Admission & { waitingRoom?: WaitingRoomMeasures; goals?: Goal[] | undefined };
      pause: PauseMeasures | null;
    };
    checks: Check[];
    recorder: Recorder;
  },
): string {
  const directory = resolve(reportDir);
  mkdirSync(directory, { recursive: true });
  const { summary, checks, recorder } = results;
  const html = renderReport({
    title: `dropline drop rehearsal — ${runId}`,
    settings: summary.settings,
    summary: {
      'units sold': `${summary.sold} / ${summary.stock}`,
      'units oversold': summary.oversold,
      orders: summary.orders,
      'reservation attempts': summary.attempts,
      'answers per second': summary.throughputRps,
      'p99 latency (ms)': summary.latencyMs.p99,
      '5xx answers': summary.errors5xx,
      'units expired / released': `${summary.expired} / ${summary.released}`,
      'timeouts / retries': `${summary.timeouts} / ${summary.retries}`,
      'attempts answered at the edge': summary.admission.edgeAnswered,
      // Figures only (one number format in the report): a measure with nothing to measure is left out.
      ...(summary.admission.edgeAnsweredShare === null
        ? {}
        : { 'edge share after the sell-out (%)': Math.round(summary.admission.edgeAnsweredShare * 100) }),
      ...(summary.admission.shoppersAfterSoldOut.edgeAnsweredShare === null
        ? {}
        : {
            "edge share of shoppers' attempts after it (%)": Math.round(
              summary.admission.shoppersAfterSoldOut.edgeAnsweredShare * 100,
            ),
          }),
      ...(summary.admission.originRequestsPerUnitSold === null
        ? {}
        : { 'origin attempts per unit sold': Number(summary.admission.originRequestsPerUnitSold.toFixed(1)) }),
      ...(summary.admission.waitingRoom
        ? {
            'queue: order inversions': summary.admission.waitingRoom.orderInversions,
            'queue: longest wait (s)': summary.admission.waitingRoom.maxQueueWaitSeconds,
            'queue: turns passed': summary.admission.waitingRoom.turnsPassed,
            ...(summary.admission.waitingRoom.soldOutNoticeSeconds === null
              ? {}
              : { 'queue: sold-out notice (s)': summary.admission.waitingRoom.soldOutNoticeSeconds }),
            'bots: share of units / of arrivals (%)': `${Math.round(summary.admission.waitingRoom.botUnitShare * 100)} / ${Math.round(summary.admission.waitingRoom.botArrivalShare * 100)}`,
            'bots: held per bot / shoppers held per shopper': summary.admission.waitingRoom.botHoldRatio ?? '—',
            'bots: tickets farmed': summary.admission.waitingRoom.botTickets,
            'pre-queue: shoppers / bots’ tickets': `${summary.admission.waitingRoom.preQueue.shoppers} / ${summary.admission.waitingRoom.preQueue.botTickets}`,
            'bots: queued again after a passed turn': summary.admission.waitingRoom.botRequeues,
          }
        : {}),
      ...pauseFigures(summary.pause),
    },
    checks,
    markers: {
      soldOutAtSecond: summary.soldOutAtSecond,
      spikeEndedAtSecond: summary.spikeEndedAtSecond,
      soldOutForGoodAtSecond: summary.admission.soldOutForGoodAtSecond,
      pausedAtSecond: summary.pause?.pausedAtSecond ?? null,
      resumedAtSecond: summary.pause?.resumedAtSecond ?? null,
    },
    room: summary.admission.waitingRoom?.series ?? [],
    goals: summary.admission.goals ?? [],
    supply: summary.settings.stock,
    errorCodes: recorder.errorCodes(),
    routes: recorder.routes().map((route) => ({ route, ...recorder.percentiles(route) })),
    statusMix: recorder.statusMix(),
    timeline: recorder.timeline(),
    stock: recorder.stock,
    feedback: summary.feedback,
  });
  const htmlPath = join(directory, `rehearsal-${runId}.html`);
  writeFileSync(htmlPath, html);
  writeFileSync(join(directory, `rehearsal-${runId}.json`), `${JSON.stringify({ ...summary, checks }, null, 2)}\n`);
  writeFileSync(join(directory, 'latest.html'), html);
  return htmlPath;
}

/** Turns the drop's waiting room on and waits until the edge issues its tickets (the writer has carried it). */
async function openWaitingRoom(api: ApiClient, sku: string): Promise<Queue> {
  const on = await api.call('POST', `/admin/drops/${sku}/waiting-room-on`, { admin: true });
  if (on.status !== 200) throw new Error(`Could not turn the waiting room on: ${on.status} ${on.text}`);
  const deadline = Date.now() + 30_000;
  for (;;) {
    const place = await api.call('GET', `/drops/${sku}/queue?customerId=rehearsal-probe`);
    if (typeof place.body.ticket === 'string') return new Queue();
    if (Date.now() > deadline) throw new Error('The edge did not learn of the waiting room within 30 s');
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

/** The pause's figures for the report; a measure with nothing to measure is left out. */
function pauseFigures(pause: PauseMeasures | null): Record<string, string | number> {
  if (!pause) return {};
  const figures: Record<string, string | number | null> = {
    'pause: first DROP_PAUSED after the call (s)': pause.firstPausedAnswerSeconds,
    'pause: first DROP_PAUSED from the edge (s)': pause.edgePausedAfterSeconds,
    'pause: DROP_PAUSED answers / from the edge': `${pause.pausedAnswers} / ${pause.pausedAnswersFromEdge}`,
    'pause: new holds while paused': pause.holdsWhilePaused,
    'pause: last of them after the call (s)': pause.lastHoldAfterPauseSeconds,
    'resume: new holds after it': pause.holdsAfterResume,
    'resume: first new hold after the call (s)': pause.firstHoldAfterResumeSeconds,
  };
  return Object.fromEntries(
    Object.entries(figures).filter((entry): entry is [string, string | number] => entry[1] !== null),
  );
}
