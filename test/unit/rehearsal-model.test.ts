import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { jest } from '@jest/globals';
import { ApiClient, attemptKey } from '../../local/api-client';
import { Outcomes, QUEUE_POLL_MS, Queue, queuePollMs, shopper, shopperFeedback } from '../../local/rehearsal/actors';
import { arrivalSchedule, relativeRate } from '../../local/rehearsal/arrivals';
import { seeded } from '../../local/rehearsal/random';
import { Recorder } from '../../local/rehearsal/recorder';
import { waitingRoomMeasures } from '../../local/rehearsal/room';
import { clientConnections, openFileLimit } from '../../local/rehearsal/run';
import { verdict } from '../../local/rehearsal/verdict';

test('arrivals ramp up, spike and decay, within the run, reproducibly', () => {
  const times = arrivalSchedule(10_000, 20_000, seeded(1));
  const inWindow = (from: number, to: number) => times.filter((t) => t >= from && t < to).length;

  expect(times).toHaveLength(10_000);
  expect(times).toEqual([...times].sort((a, b) => a - b));
  expect(times[0]).toBeGreaterThanOrEqual(0);
  expect(times.at(-1)).toBeLessThanOrEqual(20_000);
  expect(inWindow(5_000, 10_000)).toBeGreaterThan(inWindow(0, 5_000));
  expect(inWindow(5_000, 10_000)).toBeGreaterThan(inWindow(15_000, 20_000));
  expect(arrivalSchedule(100, 1000, seeded(9))).toEqual(arrivalSchedule(100, 1000, seeded(9)));
  expect(relativeRate(0.3)).toBe(1);
});

test('the verdict names the promise a run broke', () => {
  const outcomes = new Outcomes();
  outcomes.orders.set('o1', { reservationId: 'r1', customerId: 'c1', quantity: 3 });
  const checks = verdict({
    ledger: { sku: 's', supplied: 2, available: 0, held: 0, sold: 3, released: 0, expired: 0 },
    outcomes,
    maxPerCustomer: 2,
    errors5xx: 1,
    channels: [{ channel: 'warehouse', available: 1 }],
    orderStatuses: new Map([['o1', 'PLACED']]),
    drained: true,
  });
  const broken = checks.filter((check) => !check.passed).map((check) => check.promise);
  expect(broken).toEqual([
    'no oversell',
    'ledger balanced',
    'orders fulfilled',
    'per-customer limits',
    'channels in sync',
    'no 5xx under load',
  ]);
});

test('a shopper rates the drop from what they lived through', () => {
  const smooth = { slowestMs: 120, lastMs: 80, failed: false, throttled: 0, seenAvailable: 12 };
  expect(shopperFeedback('PAID', smooth)).toEqual({ outcome: 'PAID', rating: 5, latencyMs: 80, seenAvailable: 12 });

  // Slow past 3 s, an error on the way, and sold out although the page showed units: every star it costs.
  const rough = { slowestMs: 3500, lastMs: 900, failed: true, throttled: 4, seenAvailable: 3 };
  expect(shopperFeedback('SOLD_OUT', rough)).toEqual({
    outcome: 'SOLD_OUT',
    rating: 1,
    reasons: ['SLOW', 'ERROR', 'STOCK_WRONG', 'UNFAIR'],
    latencyMs: 900,
    seenAvailable: 3,
  });

  // Sold out after a page that already showed none: not a stock complaint.
  const honest = { slowestMs: 1500, lastMs: 40, failed: false, throttled: 0, seenAvailable: 0 };
  expect(shopperFeedback('SOLD_OUT', honest)).toEqual({
    outcome: 'SOLD_OUT',
    rating: 3,
    reasons: ['SLOW'],
    latencyMs: 40,
    seenAvailable: 0,
  });
});

test('a shopper whose checkout committed but was never answered for good learns the order by asking after the hold', async () => {
  // A scripted API on loopback: the first checkout commits and answers too late for the app's timeout,
  // every retry is refused 429 THROTTLED, and the hold then reads CONFIRMED with its order.
  let checkouts = 0;
  const server = createServer((request, response) => {
    const json = (status: number, body: unknown, headers: Record<string, string> = {}) => {
      response.writeHead(status, { 'content-type': 'application/json', ...headers });
      response.end(JSON.stringify(body));
    };
    request.resume();
    const route = `${request.method} ${request.url}`;
    if (route === 'GET /products/late') return json(200, { sku: 'late', available: 5 });
    if (route === 'POST /products/late/reservations') return json(201, { reservationId: 'r-late', quantity: 1 });
    if (route === 'POST /reservations/r-late/checkout') {
      checkouts++;
      if (checkouts === 1) return void setTimeout(() => json(201, { orderId: 'o-late' }), 400);
      return json(429, { error: { code: 'THROTTLED', message: 'no' } }, { 'retry-after': '0' });
    }
    if (route === 'GET /reservations/r-late')
      return json(200, { reservationId: 'r-late', status: 'CONFIRMED', orderId: 'o-late' });
    if (route === 'GET /orders/o-late') return json(200, { orderId: 'o-late' });
    return json(404, { error: { code: 'ROUTE_NOT_FOUND', message: route } });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const api = new ApiClient(`http://127.0.0.1:${(server.address() as AddressInfo).port}`, 'k', 4);
  const outcomes = new Outcomes();
  try {
    await shopper(
      {
        api,
        sku: 'late',
        runId: 'late',
        seed: 1,
        maxPerCustomer: 1,
        behaviour: {
          declineShare: 0,
          abandonShare: 0,
          releaseShare: 0,
          doubleCheckoutShare: 0,
          requestTimeoutMs: 150,
          maxRetries: 2,
          botAttempts: 0,
          feedbackShare: 0,
        },
        recorder: new Recorder(),
        outcomes,
      },
      0,
    );
  } finally {
    await api.close();
    await new Promise((resolve) => server.close(resolve));
  }

  expect(checkouts).toBe(3);
  expect([...outcomes.orders.keys()]).toEqual(['o-late']);
  expect(outcomes.confirmedLate).toBe(1);
});

/** A scripted API on loopback, answering `answer(route, headers)`; closed by the returned function. */
async function scriptedApi(
  answer: (route: string, headers: Record<string, string | string[] | undefined>) => Scripted | 'silence',
) {
  const server = createServer((request, response) => {
    request.resume();
    const scripted = answer(`${request.method} ${request.url}`, request.headers);
    // No answer at all: the client's timeout ends the request.
    if (scripted === 'silence') return;
    const { status, body, headers = {} } = scripted;
    response.writeHead(status, { 'content-type': 'application/json', ...headers });
    response.end(JSON.stringify(body));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const api = new ApiClient(`http://127.0.0.1:${(server.address() as AddressInfo).port}`, 'k', 4);
  return {
    api,
    close: async () => {
      await api.close();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}
interface Scripted {
  status: number;
  body: unknown;
  headers?: Record<string, string>;
}
const throttled: Scripted = {
  status: 429,
  body: { error: { code: 'THROTTLED', message: 'no' } },
  headers: { 'retry-after': '0' },
};
const behaviour = {
  declineShare: 0,
  abandonShare: 0,
  releaseShare: 0,
  doubleCheckoutShare: 0,
  requestTimeoutMs: 2_000,
  maxRetries: 2,
  botAttempts: 0,
  feedbackShare: 0,
};

test('a shopper whose reservation found no verdict presses Reserve again with the same key, at most three times, and after a 5xx', async () => {
  const scripted = async (answers: Scripted[]) => {
    const keys: string[] = [];
    const { api, close } = await scriptedApi((route, headers) => {
      if (route === 'GET /products/busy') return { status: 200, body: { sku: 'busy', available: 5 } };
      if (route === 'POST /products/busy/reservations') {
        keys.push(String(headers['idempotency-key']));
        return answers[keys.length - 1] ?? throttled;
      }
      if (route === 'POST /reservations/r-busy/checkout') return { status: 201, body: { orderId: 'o-busy' } };
      return { status: 200, body: {} };
    });
    const outcomes = new Outcomes();
    try {
      await shopper(
        { api, sku: 'busy', runId: 'busy', seed: 1, maxPerCustomer: 1, behaviour, recorder: new Recorder(), outcomes },
        0,
      );
    } finally {
      await close();
    }
    return { keys, outcomes };
  };
  const held: Scripted = { status: 201, body: { reservationId: 'r-busy', quantity: 1 } };

  // The page, its retries spent on 429s, says "Press Reserve to keep trying: you will not be held twice":
  // three attempts (two retries) on the first press, two on the second, one key.
  const pressed = await scripted([throttled, throttled, throttled, throttled, held]);
  expect(pressed.keys).toHaveLength(5);
  expect(new Set(pressed.keys).size).toBe(1);
  expect([...pressed.outcomes.holds.keys()]).toEqual(['r-busy']);
  expect([...pressed.outcomes.orders.keys()]).toEqual(['o-busy']);

  // Throttled every time: three presses of three attempts, one key, and a shopper who leaves with no hold.
  const refused = await scripted([]);
  expect(refused.keys).toHaveLength(9);
  expect(new Set(refused.keys).size).toBe(1);
  expect(refused.outcomes.holds.size).toBe(0);
  expect(refused.outcomes.unanswered).toBe(0);

  // A 502 is no verdict on the page either: the next press gets the hold.
  const broken = await scripted([{ status: 502, body: { message: 'Internal server error' } }, held]);
  expect(broken.keys).toHaveLength(2);
  expect([...broken.outcomes.orders.keys()]).toEqual(['o-busy']);
}, 30_000);

test('a shopper whose admission was refused (ADMISSION_EXPIRED) asks the queue with the ticket kept: let in again, or told the turn passed and queued again at the back', async () => {
  const refusedThenAsk = async (passed: boolean) => {
    const ticket = (order: number) =>
      `${Buffer.from(JSON.stringify({ t: order, o: order })).toString('base64url')}.signature`;
    const admissions: string[] = [];
    const asked: string[] = [];
    let tickets = 0;
    const { api, close } = await scriptedApi((route, headers) => {
      if (route === 'GET /products/room') return { status: 200, body: { sku: 'room', available: 5 } };
      if (route.startsWith('GET /drops/room/queue')) {
        const kept = headers['x-dropline-ticket'];
        asked.push(kept === undefined ? 'no ticket' : String(kept));
        // The kept ticket's turn has passed; without one, a new ticket, let in at once.
        if (kept !== undefined && passed) {
          return { status: 200, body: { state: 'OPEN', admitted: false, turnPassed: true } };
        }
        // Its turn not passed (the token had only aged): let in again on the same ticket.
        if (kept !== undefined) return { status: 200, body: { state: 'OPEN', admitted: true, admission: 'again' } };
        tickets++;
        return {
          status: 200,
          body: { state: 'OPEN', admitted: true, ticket: ticket(tickets), admission: `admission-${tickets}` },
        };
      }
      if (route === 'POST /products/room/reservations') {
        admissions.push(String(headers['x-dropline-admission']));
        return admissions.length === 1
          ? { status: 403, body: { error: { code: 'ADMISSION_EXPIRED', message: 'your turn passed' } } }
          : { status: 201, body: { reservationId: 'r-room', quantity: 1 } };
      }
      if (route === 'POST /reservations/r-room/checkout') return { status: 201, body: { orderId: 'o-room' } };
      return { status: 200, body: {} };
    });
    const outcomes = new Outcomes();
    const queue = new Queue();
    try {
      await shopper(
        {
          api,
          queue,
          sku: 'room',
          runId: 'room',
          seed: 1,
          maxPerCustomer: 1,
          behaviour,
          recorder: new Recorder(),
          outcomes,
        },
        0,
      );
    } finally {
      await close();
    }

    return { asked, admissions, turnsPassed: queue.turnsPassed, orders: [...outcomes.orders.keys()], ticket };
  };

  const gone = await refusedThenAsk(true);
  expect(gone.asked).toEqual(['no ticket', gone.ticket(1), 'no ticket']);
  expect(gone.admissions).toEqual(['admission-1', 'admission-2']);
  expect(gone.turnsPassed).toBe(1);
  expect(gone.orders).toEqual(['o-room']);

  const aged = await refusedThenAsk(false);
  expect(aged.asked).toEqual(['no ticket', aged.ticket(1)]);
  expect(aged.admissions).toEqual(['admission-1', 'again']);
  expect(aged.turnsPassed).toBe(0);
  expect(aged.orders).toEqual(['o-room']);
}, 20_000);

test('a waiting shopper whose poll found no answer polls again, as the page does, rather than leaving', async () => {
  let polls = 0;
  const { api, close } = await scriptedApi((route) => {
    if (route === 'GET /products/quiet') return { status: 200, body: { sku: 'quiet', available: 5 } };
    if (route.startsWith('GET /drops/quiet/queue')) {
      polls++;
      // The first poll and its two retries go unanswered; the next is let in.
      if (polls <= 3) return 'silence';
      return { status: 200, body: { state: 'OPEN', admitted: true, ticket: 'e30.sig', admission: 'in' } };
    }
    if (route === 'POST /products/quiet/reservations') {
      return { status: 201, body: { reservationId: 'r-quiet', quantity: 1 } };
    }
    if (route === 'POST /reservations/r-quiet/checkout') return { status: 201, body: { orderId: 'o-quiet' } };
    return { status: 200, body: {} };
  });
  const outcomes = new Outcomes();
  try {
    await shopper(
      {
        api,
        queue: new Queue(),
        sku: 'quiet',
        runId: 'quiet',
        seed: 1,
        maxPerCustomer: 1,
        behaviour: { ...behaviour, requestTimeoutMs: 300 },
        recorder: new Recorder(),
        outcomes,
      },
      0,
    );
  } finally {
    await close();
  }

  expect(polls).toBe(4);
  expect([...outcomes.orders.keys()]).toEqual(['o-quiet']);
}, 20_000);

test('the attempts that reached the origin after the sell-out are told apart by the edge’s own rule', () => {
  const minted = (ms: number) => ({ key: attemptKey(ms) });
  const recorder = new Recorder();
  recorder.sampleStock({ available: 1, held: 0, sold: 9 });
  const soldOutAt = recorder.startedAt;
  recorder.sampleStock({ available: 0, held: 0, sold: 10 });
  // The edge's store took the sell-out 1.5 s after it: its retry window ends 2 s later still.
  const since = soldOutAt + 1500;
  // A retry of a key from before the sell-out, and a key that says nothing of its age: only the origin knows.
  recorder.record('reserve', 409, 5, 'SOLD_OUT', false, minted(soldOutAt - 500));
  recorder.record('reserve', 409, 5, 'SOLD_OUT', false, { key: 'order-7-attempt-1' });
  // Keys minted while the news travelled, and within the skew after it.
  recorder.record('reserve', 409, 5, 'SOLD_OUT', false, minted(soldOutAt + 1000));
  recorder.record('reserve', 409, 5, 'SOLD_OUT', false, minted(since + 1900));
  // A key the edge answers itself; and one it should have answered, but the origin did.
  recorder.record('reserve', 409, 1, 'SOLD_OUT', true, minted(since + 2000));
  recorder.record('reserve', 409, 5, 'SOLD_OUT', false, minted(since + 2000));
  // One the edge function failed to answer (CloudFront's 503, no contract body), and an origin 503 that
  // should never have been the origin's.
  recorder.record('reserve', 503, 101, undefined, false, minted(since + 2000));
  recorder.record('reserve', 503, 5, 'UNAVAILABLE', false, minted(since + 2000));

  const admission = recorder.admission(10, { since });
  expect(admission.attemptsAfterSoldOut).toBe(8);
  expect(admission.edgeAnsweredShare).toBeCloseTo(1 / 8, 3);
  expect(admission.originAfterSoldOut).toEqual({
    edgeSinceAfterSoldOutSeconds: expect.closeTo(1.5, 1),
    retriesFromBefore: 1,
    newWithinRetryWindow: 2,
    unknownAgeKeys: 1,
    edgeFailures: 1,
    other: 2,
  });
  // Where the store cannot be read, the window is taken from the sell-out itself.
  expect(recorder.admission(10).originAfterSoldOut).toMatchObject({
    edgeSinceAfterSoldOutSeconds: null,
    newWithinRetryWindow: 1,
    other: 3,
  });
  // So is a since from before the sell-out: an earlier change's, the sell-out not yet applied.
  expect(recorder.admission(10, { since: soldOutAt - 10_000 }).originAfterSoldOut).toMatchObject({
    edgeSinceAfterSoldOutSeconds: null,
    other: 3,
  });
});

// A sample's time was rounded to the hundredth, up as well as down: one taken 5.6 ms in read 10 ms, after
// the attempts answered just behind it, which then did not count as after the sell-out (seen on a slow run).
test('an attempt answered right after the sample that dated the sell-out counts as after it', () => {
  jest.useFakeTimers({ doNotFake: ['nextTick', 'setImmediate'] });
  try {
    const recorder = new Recorder();
    jest.advanceTimersByTime(5.6);
    recorder.sampleStock({ available: 1, held: 0, sold: 9 });
    recorder.sampleStock({ available: 0, held: 0, sold: 10 });
    recorder.record('reserve', 409, 1, 'SOLD_OUT', true, { key: 'b', bot: true });
    expect(recorder.admission(10).attemptsAfterSoldOut).toBe(1);
  } finally {
    jest.useRealTimers();
  }
});

test('the share the edge answered after the sell-out is also given for the shoppers’ attempts alone', () => {
  const recorder = new Recorder();
  recorder.sampleStock({ available: 1, held: 0, sold: 9 });
  recorder.sampleStock({ available: 0, held: 0, sold: 10 });
  // A bot's storm the edge answered, and a shopper's attempt with a fitting admission the origin answered.
  for (let i = 0; i < 9; i++) recorder.record('reserve', 409, 1, 'SOLD_OUT', true, { key: `b${i}`, bot: true });
  recorder.record('reserve', 409, 5, 'SOLD_OUT', false, { key: 's', admission: 'fits' });

  const admission = recorder.admission(10);
  expect(admission.attemptsAfterSoldOut).toBe(10);
  expect(admission.edgeAnsweredShare).toBeCloseTo(0.9, 3);
  expect(admission.shoppersAfterSoldOut).toEqual({ attempts: 1, edgeAnsweredShare: 0 });
  // None of them a shopper's: not measured, not a share of nothing.
  const bots = new Recorder();
  bots.sampleStock({ available: 0, held: 0, sold: 10 });
  bots.record('reserve', 409, 1, 'SOLD_OUT', true, { key: 'b', bot: true });
  expect(bots.admission(10).shoppersAfterSoldOut).toEqual({ attempts: 0, edgeAnsweredShare: null });
});

test('after the sell-out, an attempt the edge answers as new (no admission, or another customer’s, its key minted after the room went on) counts as other when the origin answered it', () => {
  const recorder = new Recorder();
  recorder.sampleStock({ available: 1, held: 0, sold: 9 });
  const soldOutAt = recorder.startedAt;
  recorder.sampleStock({ available: 0, held: 0, sold: 10 });
  const since = soldOutAt + 500;
  const roomSince = soldOutAt - 60_000;
  // Sent 2.5 s after the edge's store took the sell-out, with a key from within its retry window.
  const now = jest.spyOn(Date, 'now').mockReturnValue(since + 2_505);
  try {
    const key = attemptKey(since - 100);
    // Its admission fits: a possible retry, the origin's to answer.
    recorder.record('reserve', 409, 5, 'SOLD_OUT', false, { key, admission: 'fits' });
    // None, or one farmed under another customer: the edge's to answer, answered by the origin.
    recorder.record('reserve', 403, 5, 'ADMISSION_REQUIRED', false, { key, admission: 'none' });
    recorder.record('reserve', 403, 5, 'CUSTOMER_MISMATCH', false, { key, admission: 'other-customer' });
    // And one the edge did answer, and one its function failed on (CloudFront's 503, no contract body).
    recorder.record('reserve', 409, 1, 'SOLD_OUT', true, { key, admission: 'none' });
    recorder.record('reserve', 503, 101, undefined, false, { key, admission: 'none' });
    // A key minted before the room went on (+skew): its first send needed no admission; the origin's.
    recorder.record('reserve', 409, 5, 'SOLD_OUT', false, { key: attemptKey(roomSince + 1_000), admission: 'none' });
  } finally {
    now.mockRestore();
  }

  expect(recorder.admission(10, { since, roomSince }).originAfterSoldOut).toMatchObject({
    retriesFromBefore: 1,
    newWithinRetryWindow: 1,
    edgeFailures: 1,
    other: 2,
  });
  // Without the room's date, nothing is the edge's to answer that way.
  expect(recorder.admission(10, { since }).originAfterSoldOut).toMatchObject({ newWithinRetryWindow: 4, other: 0 });
});

test('an attempt sent before the edge’s store took the sell-out is the origin’s, whatever its admission', () => {
  const recorder = new Recorder();
  recorder.sampleStock({ available: 1, held: 0, sold: 9 });
  const soldOutAt = recorder.startedAt;
  recorder.sampleStock({ available: 0, held: 0, sold: 10 });
  const since = soldOutAt + 500;
  // Sent a second after the writer dated it (answered 0.5 s later): the value may not have been written yet.
  const now = jest.spyOn(Date, 'now').mockReturnValue(since + 1_500);
  try {
    recorder.record('reserve', 403, 500, 'ADMISSION_REQUIRED', false, {
      key: attemptKey(since - 100),
      admission: 'none',
    });
  } finally {
    now.mockRestore();
  }

  expect(recorder.admission(10, { since, roomSince: soldOutAt - 60_000 }).originAfterSoldOut).toMatchObject({
    newWithinRetryWindow: 1,
    other: 0,
  });
});

test('a shopper waiting at the sell-out who then held one of the last units is owed no sold-out notice', () => {
  const recorder = new Recorder();
  const queue = new Queue();
  const outcomes = new Outcomes();
  const before = recorder.startedAt - 1000;
  // Both stopped waiting a second after the sell-out: one let in, one told.
  const later = recorder.startedAt + 1000;
  const waiting = () => ({ ticketT: before, ticketO: before, ticketAt: before, spans: [{ from: before, to: later }] });
  queue.humans.set('lucky', waiting());
  queue.humans.set('told', waiting());
  // The last sample that still showed a unit, then none: the sell-out is taken at the first.
  recorder.sampleStock({ available: 1, held: 0, sold: 9 });
  recorder.sampleStock({ available: 0, held: 0, sold: 10 });
  // One was let in and held that last unit; the other was told.
  outcomes.holds.set('r-last', { customerId: 'lucky', quantity: 1, at: later });
  const told = queue.humans.get('told');
  if (told) told.toldSoldOutAt = later;

  const measures = waitingRoomMeasures(queue, outcomes, recorder, before, { shoppers: 2, bots: 0 }, []);
  expect([measures.waitingAtSoldOut, measures.toldSoldOut]).toEqual([1, 1]);
  expect(measures.soldOutNoticeSeconds).not.toBeNull();
});

test('a bot that held counts once, whichever identity it farmed held, against the shoppers that held', () => {
  const recorder = new Recorder();
  const outcomes = new Outcomes();
  const hold = (customerId: string, quantity: number) =>
    outcomes.holds.set(`r-${outcomes.holds.size}`, { customerId, quantity, at: recorder.startedAt });
  // 10 shoppers and 4 bots came. 5 shoppers held (one of them twice), 1 unit each but one with 2: 7 units.
  for (const shopper of ['s-1', 's-2', 's-3', 's-4', 's-5', 's-1']) hold(`run-${shopper}`, 1);
  hold('run-s-2', 1);
  // 2 bots held 2 units each: one under its account, one under two of its made-up identities.
  hold('run-bot-0', 2);
  hold('run-bot-3-1', 2);
  hold('run-bot-3-2', 2);

  const measures = waitingRoomMeasures(new Queue(), outcomes, recorder, 0, { shoppers: 10, bots: 4 }, []);
  // A bot held half the time, a shopper half the time: treated alike, though bots took 6 of the 13 units.
  expect(measures.botHoldRatio).toBe(1);
  expect(measures.botUnitShare).toBeCloseTo(6 / 13, 3);
  expect(measures.botArrivalShare).toBeCloseTo(4 / 14, 3);
  expect(measures.botUnitsUnderMadeUpIdentities).toBe(4);
  // No shopper held: nothing to compare with.
  const none = new Outcomes();
  none.holds.set('r', { customerId: 'run-bot-1', quantity: 2, at: recorder.startedAt });
  expect(waitingRoomMeasures(new Queue(), none, recorder, 0, { shoppers: 10, bots: 4 }, []).botHoldRatio).toBeNull();
});

// The rehearsal's shoppers wait between polls as the page does, or the notice it measures is not the page's.
test("a waiting shopper asks the queue again on the page's cadence, the answer's pollSeconds or the page's default", async () => {
  const pageModule = pathToFileURL(join(import.meta.dirname, '..', '..', 'site', 'assets', 'waiting-room.js')).href;
  const page = (await import(pageModule)) as {
    POLL_MS: number;
    pollMs(state: unknown): number;
    watchWaitingRoom(sku: string, options: Record<string, unknown>): Promise<void>;
  };
  const answers = [1, 2, 10, 0, 0.5, 11, -1, Number.NaN, Number.POSITIVE_INFINITY, '1', null, undefined];

  expect(QUEUE_POLL_MS).toBe(page.POLL_MS);
  for (const pollSeconds of answers)
    expect([pollSeconds, queuePollMs(pollSeconds)]).toEqual([pollSeconds, page.pollMs({ pollSeconds })]);
  expect(page.pollMs(undefined)).toBe(QUEUE_POLL_MS);
  expect(queuePollMs(1)).toBe(1000);

  // The same answers to the page and to a rehearsal shopper: every unit held (1 s), open (2 s), open with no
  // pollSeconds (the default), then let in. Each waits what the answer says between polls.
  const ticket = `${Buffer.from(JSON.stringify({ t: 1, o: 1 })).toString('base64url')}.signature`;
  const places = [
    { state: 'WAITING_FOR_RETURNS', admitted: false, ticket, mayReturn: 1, pollSeconds: 1 },
    { state: 'OPEN', admitted: false, ticket, pollSeconds: 2 },
    { state: 'OPEN', admitted: false, ticket },
    { state: 'OPEN', admitted: true, ticket, admission: 'in', pollSeconds: 2 },
  ];
  const expected = [1000, 2000, 2000];
  // The waits between polls, told from the other timers by their lengths. The shopper's one other whole-second
  // wait (let in, then SOLD_OUT) does not run here: the reservation is answered DROP_CLOSED.
  const pollWaits = async (run: () => Promise<void>) => {
    const timers = jest.spyOn(globalThis, 'setTimeout');
    try {
      await run();
      return timers.mock.calls.map((call) => call[1]).filter((ms) => ms === 1000 || ms === 2000);
    } finally {
      timers.mockRestore();
    }
  };

  let pagePolls = 0;
  const realFetch = globalThis.fetch;
  globalThis.fetch = (async () => {
    const place = places[Math.min(pagePolls++, places.length - 1)];
    return new Response(JSON.stringify(place), { status: 200, headers: { 'content-type': 'application/json' } });
  }) as typeof fetch;
  const remembered: Record<string, unknown> = {};
  const memory = { load: () => remembered, save: (values: object) => Object.assign(remembered, values) };
  try {
    const waits = await pollWaits(() =>
      page.watchWaitingRoom('cadence', { customerId: 'c', memory, show() {}, hide() {} }),
    );
    expect([pagePolls, waits]).toEqual([4, expected]);
  } finally {
    globalThis.fetch = realFetch;
  }

  let shopperPolls = 0;
  const { api, close } = await scriptedApi((route) => {
    if (route === 'GET /products/cadence') return { status: 200, body: { sku: 'cadence', available: 5 } };
    if (route.startsWith('GET /drops/cadence/queue')) {
      return { status: 200, body: places[Math.min(shopperPolls++, places.length - 1)] };
    }
    // Let in, the operator has closed the drop by the time they reserve: the shopper leaves there.
    if (route === 'POST /products/cadence/reservations') {
      return { status: 409, body: { error: { code: 'DROP_CLOSED', message: 'closed' } } };
    }
    return { status: 200, body: {} };
  });
  try {
    const waits = await pollWaits(() =>
      shopper(
        {
          api,
          queue: new Queue(),
          sku: 'cadence',
          runId: 'cadence',
          seed: 1,
          maxPerCustomer: 1,
          behaviour: { ...behaviour, requestTimeoutMs: 300 },
          recorder: new Recorder(),
          outcomes: new Outcomes(),
        },
        0,
      ),
    );
    expect([shopperPolls, waits]).toEqual([4, expected]);
  } finally {
    await close();
  }
}, 30_000);

test('the client opens a connection for every arrival and every identity a bot farms, within the descriptors the process may open', () => {
  // 1,500 arrivals, 75 of them bots farming 4 identities each, and 64 spare.
  expect(clientConnections(1500, 0.05, 20_000, true)).toBe(1500 + 75 * 3 + 64);
  // The stack in this process: two descriptors a connection, 1,024 left to the rest.
  expect(clientConnections(1500, 0.05, 4000, true)).toBe(1488);
  // Against a deployed target only the client's socket counts.
  expect(clientConnections(5000, 0, 4000, false)).toBe(2976);
  expect(clientConnections(1500, 0.05, undefined, true)).toBe(512);
  expect(clientConnections(1500, 0.05, 1024, true)).toBe(64);
  // A crowd of 200,000 against a remote target with descriptors to spare: bounded by the local ports.
  expect(clientConnections(200_000, 0.05, 1_048_576, false)).toBe(16_384);

  const dir = mkdtempSync(join(tmpdir(), 'limits-'));
  const limits = (soft: string) => {
    const file = join(dir, soft);
    writeFileSync(
      file,
      `Limit                     Soft Limit           Hard Limit           Units     \nMax open files            ${soft}                20000                files     \n`,
    );
    return file;
  };
  expect(openFileLimit(limits('4096'))).toBe(4096);
  expect(openFileLimit(limits('unlimited'))).toBe(Number.MAX_SAFE_INTEGER);
  expect(openFileLimit(join(dir, 'none'))).toBeUndefined();
  rmSync(dir, { recursive: true });
});

// With fewer connections than requests in flight the client queues the rest, a wait no shopper has.
test("the rehearsal's client has every arrival's request at the gateway at once", async () => {
  const arrivals = 700;
  const held: Array<() => void> = [];
  const server = createServer((_request, response) => {
    held.push(() => response.end('{}'));
    // Nothing is answered until every arrival's request is open at once.
    if (held.length === arrivals) for (const answer of held) answer();
  });
  await new Promise<void>((resolve) => server.listen({ port: 0, host: '127.0.0.1', backlog: 1024 }, resolve));
  const api = new ApiClient(
    `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    'key',
    clientConnections(arrivals, 0, 20_000, true),
  );
  try {
    const answers = await Promise.all(
      Array.from({ length: arrivals }, (_, index) =>
        api.call('GET', `/drops/sku/queue?customerId=c-${index}`, { timeoutMs: 15_000 }).then(
          (answer) => answer.status,
          () => 'no answer',
        ),
      ),
    );
    expect(answers.filter((status) => status === 200)).toHaveLength(arrivals);
  } finally {
    await api.close();
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
}, 30_000);
