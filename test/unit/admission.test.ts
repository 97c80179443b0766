/**
 * The waiting room's admission controller (`lambdas/domain/admission.ts`: the boundary's law, the signing
 * keys' rotation, the tick) and the origin's admission check (`lambdas/adapters/admission-tokens.ts`).
 */
import { randomBytes } from 'node:crypto';
import {
  type CloudFrontKeyValueStoreClient,
  GetKeyCommand,
  ResourceNotFoundException,
} from '@aws-sdk/client-cloudfront-keyvaluestore';
import { ADMISSION_TOKEN_MS, PRE_QUEUE_MS } from '../../contract/drops';
import type { AdmissionKeys, EdgeDropState, EdgeRoom } from '../../contract/edge-values';
import { KeyValueStoreAdmissions, sign } from '../../lambdas/adapters/admission-tokens';
import {
  AdmissionController,
  type AdmissionControllerDeps,
  FEEDBACK_MS,
  KEY_PUBLISH_AHEAD_MS,
  KEY_ROTATION_MS,
  nextRoom,
} from '../../lambdas/domain/admission';
import type { EdgeKeyValues } from '../../lambdas/domain/edge-state';

const STARTS_AT = Date.parse('2026-12-01T10:00:00.000Z');
const SECOND = 1_000;
const CAPACITY = 50;

function drop(overrides: Partial<EdgeDropState> = {}): EdgeDropState {
  return {
    v: 1,
    state: 'OPEN',
    startsAt: new Date(STARTS_AT).toISOString(),
    room: true,
    available: 100,
    held: 0,
    since: 1,
    revision: 1,
    stockVersion: 1,
    ...overrides,
  };
}

/** The room as the controller left it a second before `now`. */
function room(now: number, overrides: Partial<EdgeRoom> = {}): EdgeRoom {
  return { v: 1, boundary: now - 30 * SECOND, speed: 0, rate: 0, at: now - SECOND, ...overrides };
}

describe('nextRoom, the admission boundary one tick on', () => {
  const now = STARTS_AT + 5 * 60 * SECOND;

  it('holds the boundary at the pre-queue start, standing still, before the start', () => {
    const before = STARTS_AT - 10 * SECOND;

    const next = nextRoom(room(before, { boundary: before, speed: 4_000 }), drop(), before, CAPACITY);

    expect(next).toMatchObject({ boundary: STARTS_AT - PRE_QUEUE_MS, speed: 0, at: before, available: 100 });
  });

  it.each([
    ['paused', drop({ state: 'PAUSED' })],
    ['closed', drop({ state: 'CLOSED' })],
    ['open with every unit held', drop({ available: 0, held: 4 })],
  ])('keeps the boundary where it was, speed 0, while the drop is %s', (_what, state) => {
    const boundary = now - 12_345;

    const next = nextRoom(room(now, { boundary, speed: 3_000, available: state.available }), state, now, CAPACITY);

    expect(next).toMatchObject({ boundary, speed: 0, at: now, available: state.available });
  });

  it.each([
    ['sold out for good (nothing available or held)', drop({ available: 0, held: 0 })],
    ['sold out for good while closed', drop({ state: 'CLOSED', available: 0, held: 0 })],
  ])('changes nothing when %s', (_what, state) => {
    expect(nextRoom(room(now, { speed: 3_000 }), state, now, CAPACITY)).toBeUndefined();
  });

  it('moves in real time while the stock is not known yet (available −1), so the first holds can come', () => {
    const boundary = STARTS_AT - PRE_QUEUE_MS;
    const last = room(now, { boundary, speed: 0, at: now - 2 * SECOND });

    const next = nextRoom(last, drop({ available: -1, held: -1 }), now, CAPACITY);

    expect(next).toMatchObject({ boundary: boundary + 2_000, speed: 1_000, at: now });
  });

  it('starts moving at the start speed (1,000 key-ms a second) from standing', () => {
    const boundary = STARTS_AT - PRE_QUEUE_MS;

    const next = nextRoom(room(now, { boundary, available: 100 }), drop(), now, CAPACITY);

    expect(next).toEqual({
      v: 1,
      boundary: boundary + 1_000,
      speed: 1_000,
      rate: 0,
      at: now,
      available: 100,
      mark: boundary + 1_000,
      markOpenMs: 0,
      spedUpAt: now,
    });
  });

  it('speeds up by half each tick before the first unit is taken (it may be crossing an empty pre-queue), then no faster than the whole pre-queue a second', () => {
    let current = room(STARTS_AT, { boundary: STARTS_AT - PRE_QUEUE_MS, available: 100, at: STARTS_AT - SECOND });
    const speeds: number[] = [];
    for (let tick = 0; tick < 12; tick++) {
      const at = current.at + SECOND;
      current = nextRoom(current, drop({ taken: 0 }), at, CAPACITY) as EdgeRoom;
      speeds.push(current.speed);
    }

    expect(speeds.slice(0, 5)).toEqual([1_000, 1_500, 2_250, 3_375, 5_063]);
    expect(Math.max(...speeds)).toBe(PRE_QUEUE_MS);
    expect(speeds.at(-1)).toBe(PRE_QUEUE_MS);
  });

  it('resumes after a pause at the speed it had when paused, not from the start speed; the pause shows no speed', () => {
    // Moving at 5 s of order keys a second, 100 units left, 40 taken: then paused for three ticks.
    let current = room(now, { boundary: now - 40 * SECOND, speed: 5_000, available: 100, taken: 40 }) as EdgeRoom;
    const pausedRooms: EdgeRoom[] = [];
    for (let tick = 1; tick <= 3; tick++) {
      current = nextRoom(current, drop({ state: 'PAUSED', taken: 40 }), now + tick * SECOND, CAPACITY) as EdgeRoom;
      pausedRooms.push(current);
    }
    const resumed = nextRoom(current, drop({ taken: 40 }), now + 4 * SECOND, CAPACITY) as EdgeRoom;
    const again = nextRoom(resumed, drop({ taken: 45 }), now + 5 * SECOND, CAPACITY) as EdgeRoom;

    for (const paused of pausedRooms) expect(paused).toMatchObject({ speed: 0, resumeSpeed: 5_000 });
    expect(resumed).toMatchObject({ speed: 5_000, boundary: now - 40 * SECOND + 5_000, spedUpAt: now + 4 * SECOND });
    expect(resumed).not.toHaveProperty('resumeSpeed');
    expect(again).not.toHaveProperty('resumeSpeed');
  });

  it('starts from the start speed after the standstill of every unit held: the few that come back are admitted from there', () => {
    const moving = room(now, { boundary: now - 40 * SECOND, speed: 5_000, available: 0, taken: 100 });
    const standing = nextRoom(moving, drop({ available: 0, held: 10, taken: 100 }), now, CAPACITY) as EdgeRoom;
    const returned = nextRoom(standing, drop({ available: 3, held: 7, taken: 100 }), now + SECOND, CAPACITY);

    expect(standing).toMatchObject({ speed: 0 });
    expect(standing).not.toHaveProperty('resumeSpeed');
    expect(returned).toMatchObject({ speed: 1_000 });
  });

  it.each([
    // Held at the newest arrival: its speed says nothing of the pace (it may have run up to the fastest).
    ['its boundary was held at now', { boundary: now - SECOND, speed: 60_000 }],
    // No unit taken yet: the speed was never fed back (it may have been crossing an empty pre-queue).
    ['no unit had been taken', { taken: 0 }],
    // Slowed by the origin's shedding: resumed as from any standstill, not slower.
    ['it was slower than the start speed', { speed: 50 }],
  ])('keeps no speed for the resume when %s', (_what, overrides) => {
    const moving = room(now, { boundary: now - 40 * SECOND, speed: 5_000, available: 100, taken: 40, ...overrides });

    const paused = nextRoom(moving, drop({ state: 'PAUSED', taken: 40 }), now, CAPACITY) as EdgeRoom;
    const resumed = nextRoom(paused, drop({ taken: 40 }), now + SECOND, CAPACITY);

    expect(paused).not.toHaveProperty('resumeSpeed');
    expect(resumed).toMatchObject({ speed: 1_000 });
  });

  it('forgets a kept speed the room was not written since (left while sold out for good, or the room off)', () => {
    const stale = room(now, { boundary: now - 40 * SECOND, speed: 0, resumeSpeed: 5_000, at: now - 60 * SECOND });

    expect(nextRoom(stale, drop({ taken: 40 }), now, CAPACITY)).toMatchObject({ speed: 1_000 });
  });

  it('keeps no speed for a drop moved to start later while paused', () => {
    const later = STARTS_AT + 10 * 60 * SECOND;
    const moving = room(now, { boundary: now - 40 * SECOND, speed: 5_000, available: 100, taken: 40 });

    const paused = nextRoom(
      moving,
      drop({ state: 'PAUSED', taken: 40, startsAt: new Date(later).toISOString() }),
      now,
      CAPACITY,
    );

    expect(paused).toMatchObject({ speed: 0, boundary: later - PRE_QUEUE_MS });
    expect(paused).not.toHaveProperty('resumeSpeed');
  });

  it('once units have been taken, speeds up by half at most once in 3 s (what a speed-up lets in shows by then) while too little is taken', () => {
    expect(FEEDBACK_MS).toBe(3 * SECOND);
    // 20 units taken before; a target of 10 a second, and no more taken from here on.
    let current = room(STARTS_AT, {
      boundary: STARTS_AT - PRE_QUEUE_MS,
      available: 100,
      taken: 20,
      at: STARTS_AT - SECOND,
    });
    const speeds: number[] = [];
    for (let tick = 0; tick < 36; tick++) {
      const at = current.at + SECOND;
      current = nextRoom(current, drop({ taken: 20 }), at, CAPACITY) as EdgeRoom;
      speeds.push(current.speed);
    }

    expect(speeds.slice(0, 13)).toEqual([
      1_000, 1_000, 1_000, 1_500, 1_500, 1_500, 2_250, 2_250, 2_250, 3_375, 3_375, 3_375, 5_063,
    ]);
    expect(Math.max(...speeds)).toBe(PRE_QUEUE_MS);
    expect(speeds.at(-1)).toBe(PRE_QUEUE_MS);
  });

  it('slows down at once, however recently it sped up', () => {
    // Sped up a second ago; target 10 a second, rate 30.
    const next = nextRoom(
      room(now, { speed: 3_000, rate: 30, available: 130, spedUpAt: now - SECOND }),
      drop(),
      now,
      CAPACITY,
    );

    expect(next).toMatchObject({ speed: 2_000, spedUpAt: now - SECOND });
  });

  it('speeds up again once 3 s have passed since the last speed-up, not before', () => {
    // Target 10 a second; nothing taken.
    const at = (ago: number) => room(now, { speed: 3_000, rate: 0, available: 100, taken: 5, spedUpAt: now - ago });

    expect(nextRoom(at(FEEDBACK_MS - 1), drop({ taken: 5 }), now, CAPACITY)).toMatchObject({ speed: 3_000 });
    expect(nextRoom(at(FEEDBACK_MS), drop({ taken: 5 }), now, CAPACITY)).toMatchObject({
      speed: 4_500,
      spedUpAt: now,
    });
  });

  it('keeps the speed while the measured rate is within 20 % of the target', () => {
    // Target: min(capacity 50, 100 available / 10 s) = 10 a second; 10 taken in the second, smoothed with 10.
    const next = nextRoom(room(now, { speed: 3_000, rate: 10, available: 110 }), drop(), now, CAPACITY);

    expect(next).toMatchObject({ speed: 3_000, rate: 10 });
  });

  it('slows by a third when the rate is above 1.2 × the target', () => {
    // Target 10 a second; 30 taken in the second, smoothed with 30: rate 30.
    const next = nextRoom(room(now, { speed: 3_000, rate: 30, available: 130 }), drop(), now, CAPACITY);

    expect(next).toMatchObject({ speed: 2_000, rate: 30 });
  });

  it('aims at the planned capacity when the stock could take more', () => {
    // Target: min(capacity 5, 1,000 / 10) = 5 a second; a rate of 7 is above 6.
    const next = nextRoom(room(now, { speed: 3_000, rate: 7, available: 1_007 }), drop({ available: 1_000 }), now, 5);

    expect(next?.speed).toBe(2_000);
  });

  it('slows to no less than 50 key-ms a second', () => {
    const next = nextRoom(room(now, { speed: 60, rate: 30, available: 130 }), drop(), now, CAPACITY);

    expect(next?.speed).toBe(50);
  });

  it('moves the boundary by speed × the seconds since the last tick', () => {
    const boundary = now - 60 * SECOND;

    const next = nextRoom(
      room(now, { boundary, speed: 2_000, rate: 10, at: now - 2_500, available: 125 }),
      drop(),
      now,
      CAPACITY,
    );

    expect(next?.boundary).toBe(boundary + 2_000 * 2.5);
  });

  it('never moves the boundary past now', () => {
    const next = nextRoom(
      room(now, { boundary: now - 500, speed: PRE_QUEUE_MS, available: 100 }),
      drop(),
      now,
      CAPACITY,
    );

    expect(next?.boundary).toBe(now);
  });

  it('smooths the rate: half the newest measurement, half the last rate', () => {
    // 10 units in 2 s: 5 a second, with the last rate 4 → 4.5.
    const next = nextRoom(room(now, { rate: 4, at: now - 2 * SECOND, available: 110 }), drop(), now, CAPACITY);

    expect(next?.rate).toBe(4.5);
  });

  it.each([
    ['unchanged', 100],
    ['rising', 105],
  ])(
    'measures the holds placed while holds lapse back (available %s), and slows where the net fall would speed up',
    (_what, available) => {
      // Target 10 a second. 30 units held in the second as at least as many came back: taken 500 → 530.
      const last = room(now, { speed: 3_000, rate: 4, available: 100, taken: 500 });
      const lapsing = drop({ available, held: 20, taken: 530 });

      const gross = nextRoom(last, lapsing, now, CAPACITY);
      const net = nextRoom({ ...last, taken: undefined }, { ...lapsing, taken: -1 }, now, CAPACITY);

      // (30 + 4) / 2 = 17 > 12: a third slower. The net fall reads 0, (0 + 4) / 2 = 2 < 8: half faster.
      expect(gross).toMatchObject({ rate: 17, speed: 2_000, taken: 530 });
      expect(net).toMatchObject({ rate: 2, speed: 4_500 });
    },
  );

  it.each([
    ['a restock of 500 alone', 600, 500, 5],
    ['a restock of 500 in the second 10 units were held', 590, 510, 10],
  ])('measures only the holds placed through %s', (_what, available, taken, rate) => {
    // The last rate 10: a measurement of 0 smooths to 5, of 10 to 10.
    const last = room(now, { speed: 3_000, rate: 10, available: 100, taken: 500 });

    const next = nextRoom(last, drop({ available, taken }), now, CAPACITY);

    expect(next?.rate).toBe(rate);
  });

  it('reads a fall of taken (a writer started over) as nothing taken', () => {
    const next = nextRoom(room(now, { rate: 8, available: 100, taken: 500 }), drop({ taken: 20 }), now, CAPACITY);

    expect(next).toMatchObject({ rate: 4, taken: 20 });
  });

  it.each([
    ['the drop says taken is unknown (−1)', { taken: 500 }, { taken: -1 }],
    ['the drop value predates taken', { taken: 500 }, {}],
    ['the last tick did not know it', {}, { taken: 530 }],
  ])('falls back to the net fall of available when %s', (_what, before, after) => {
    // 10 fewer available in the second, with the last rate 10: 10.
    const next = nextRoom(room(now, { rate: 10, available: 110, ...before }), drop(after), now, CAPACITY);

    expect(next?.rate).toBe(10);
  });

  it('keeps the drop’s taken for the next tick only when it is known, standing still or moving', () => {
    const paused = nextRoom(room(now, { taken: 500 }), drop({ state: 'PAUSED', taken: 510 }), now, CAPACITY);
    const unknown = nextRoom(room(now, { taken: 500 }), drop({ taken: -1 }), now, CAPACITY);

    expect(paused).toMatchObject({ speed: 0, taken: 510 });
    expect(unknown).not.toHaveProperty('taken');
  });

  it('measures nothing taken when the last availability is unknown, and nothing when units came back', () => {
    const unknown = nextRoom(room(now, { rate: 8 }), drop(), now, CAPACITY);
    const returned = nextRoom(room(now, { rate: 8, available: 90 }), drop(), now, CAPACITY);

    expect([unknown?.rate, returned?.rate]).toEqual([4, 4]);
  });
});

describe('nextRoom, the origin shedding attempts for load', () => {
  const now = STARTS_AT + 5 * 60 * SECOND;
  const WINDOW = 60_000;
  const readAgo = now - SECOND;
  // Too little taken for the target (10 a second): without the origin's load, a speed-up is due.
  const starved = (overrides: Partial<EdgeRoom> = {}) =>
    room(now, { speed: 3_000, rate: 0, available: 100, taken: 5, spedUpAt: now - 10 * SECOND, ...overrides });
  const tick = (last: EdgeRoom, at: number, shed?: number, state = drop({ taken: 5 })) =>
    nextRoom(last, state, at, CAPACITY, WINDOW, shed) as EdgeRoom;

  it('speeds up as before while the origin sheds nothing', () => {
    expect(tick(starved({ shed: 40, shedAt: readAgo }), now, 40)).toMatchObject({
      speed: 4_500,
      shed: 40,
      shedAt: now,
      shedRate: 0,
    });
  });

  it('slows by a third instead of speeding up while it sheds, however little is taken', () => {
    // 12 refused since the last read a second ago, against nothing taken.
    expect(tick(starved({ shed: 40, shedAt: readAgo }), now, 52)).toMatchObject({
      speed: 2_000,
      shed: 52,
      shedRate: 12,
      spedUpAt: now - 10 * SECOND,
    });
  });

  it('slows every tick while the shedding lasts, to no less than 50 key-ms a second, and speeds up the tick it stops', () => {
    let current = starved({ shed: 0, shedAt: readAgo });
    const speeds: number[] = [];
    for (let second = 0; second < 12; second++) {
      current = tick(current, now + second * SECOND, (second + 1) * 20);
      speeds.push(current.speed);
    }
    current = tick(current, now + 12 * SECOND, 240);

    expect(speeds.slice(0, 3)).toEqual([2_000, 1_333, 889]);
    expect(speeds.at(-1)).toBe(50);
    expect(Math.max(...speeds)).toBe(2_000);
    expect(current).toMatchObject({ shedRate: 0, speed: 75, spedUpAt: now + 12 * SECOND });
  });

  it('reads a few refusals beside many units taken as no shedding: under a tenth of what the origin serves', () => {
    // 20 taken a second (target 50 with 1,000 available) and 2 refused in the second: 2 < 0.1 × 22.
    const last = room(now, { speed: 3_000, rate: 20, available: 1_000, taken: 100, shed: 10, shedAt: readAgo });

    const next = tick(last, now, 12, drop({ available: 980, taken: 120 }));

    expect(next).toMatchObject({ speed: 4_500, rate: 20, shedRate: 2 });
  });

  it('reads less than one refusal a second as no shedding', () => {
    // 1 refused over the 2 s since the last read.
    expect(tick(starved({ shed: 3, shedAt: now - 2 * SECOND }), now, 4)).toMatchObject({
      speed: 4_500,
      shedRate: 0.5,
    });
  });

  it('measures the refusals over the time since the count was last read, not since the last tick', () => {
    // The read a second ago failed; the one before was 3 s ago: 30 refused over 3 s.
    const last = starved({ shed: 40, shedAt: now - 3 * SECOND });

    expect(tick(last, now, 70)).toMatchObject({ shed: 70, shedAt: now, shedRate: 10 });
  });

  it('with the count unread this tick, keeps the last count and when it was read, and lets the take steer', () => {
    const last = starved({ shed: 40, shedAt: readAgo, shedRate: 12 });

    const next = tick(last, now);

    expect(next).toMatchObject({ speed: 4_500, shed: 40, shedAt: readAgo });
    expect(next).not.toHaveProperty('shedRate');
  });

  it('takes a count that fell (its items expired) as nothing shed', () => {
    expect(tick(starved({ shed: 400, shedAt: readAgo }), now, 3)).toMatchObject({
      shed: 3,
      shedRate: 0,
      speed: 4_500,
    });
  });

  it('starts counting at the first count it reads, measuring nothing shed before it', () => {
    const next = tick(starved(), now, 500);

    expect(next).toMatchObject({ shed: 500, shedAt: now, speed: 4_500 });
    expect(next).not.toHaveProperty('shedRate');
  });

  it('keeps measuring while standing still, and starts moving again at its slowest while the origin sheds', () => {
    const paused = tick(starved({ shed: 40, shedAt: readAgo }), now, 46, drop({ state: 'PAUSED', taken: 5 }));
    const resumed = tick(paused, now + SECOND, 60);
    const calm = tick(paused, now + SECOND, 46);

    expect(paused).toMatchObject({ speed: 0, shed: 46, shedRate: 6 });
    expect(resumed).toMatchObject({ speed: 50, shedRate: 14 });
    // Calm, it moves again at the speed it had when paused.
    expect(calm).toMatchObject({ speed: 3_000, shedRate: 0 });
  });

  it('moves at its slowest while the stock is not known yet and the origin sheds, in real time otherwise', () => {
    const unknown = drop({ available: -1, held: -1 });
    const last = room(now, { boundary: now - 60 * SECOND, speed: 1_000, shed: 10, shedAt: readAgo });

    expect(tick(last, now, 30, unknown)).toMatchObject({ speed: 50, shed: 30, shedRate: 20 });
    expect(tick(last, now, 10, unknown)).toMatchObject({ speed: 1_000, shed: 10, shedRate: 0 });
  });
});

describe('nextRoom, the floor: a window of open drop after the boundary passed them, turns pass', () => {
  const WINDOW = 30 * SECOND;
  const start = STARTS_AT + 10 * SECOND;

  /** Ticks a second apart from `from` for `seconds`, the drop as `dropAt` says at each tick. */
  function run(from: EdgeRoom, seconds: number, dropAt: (at: number) => EdgeDropState = () => drop()): EdgeRoom {
    let current = from;
    for (let tick = 1; tick <= seconds; tick++) {
      const at = from.at + tick * SECOND;
      current = nextRoom(current, dropAt(at), at, CAPACITY, WINDOW) as EdgeRoom;
    }
    return current;
  }

  it('has no floor before the start, nor a mark: a drop moved later begins again', () => {
    const before = STARTS_AT - 10 * SECOND;
    const last = room(before, {
      boundary: before,
      floor: before - 5,
      floorAt: before - 1,
      mark: before,
      markOpenMs: 9,
    });

    const next = nextRoom(last, drop(), before, CAPACITY, WINDOW);

    expect(next).not.toHaveProperty('floor');
    expect(next).not.toHaveProperty('mark');
  });

  it('marks the boundary at the first open tick, and sets no floor until a window of open time has run', () => {
    const first = nextRoom(room(start, { at: start - SECOND, available: 100 }), drop(), start, CAPACITY, WINDOW);
    const later = run(first as EdgeRoom, 29);

    expect(first).toMatchObject({ mark: first?.boundary, markOpenMs: 0 });
    expect(later).toMatchObject({ mark: first?.boundary, markOpenMs: 29 * SECOND });
    expect(later).not.toHaveProperty('floor');
  });

  it('moves the floor to the mark once the window has run, and marks the boundary then', () => {
    const first = nextRoom(room(start, { at: start - SECOND, available: 100 }), drop(), start, CAPACITY, WINDOW);

    const next = run(first as EdgeRoom, 30);

    expect(next).toMatchObject({ floor: first?.boundary, floorAt: start + 30 * SECOND, markOpenMs: 0 });
    expect(next.mark).toBe(next.boundary);
    expect(next.boundary).toBeGreaterThan(next.floor as number);
  });

  it('counts the standstill while every unit is held: that is when turns must pass to the next in line', () => {
    const first = nextRoom(room(start, { at: start - SECOND, available: 100 }), drop(), start, CAPACITY, WINDOW);
    const moving = run(first as EdgeRoom, 5);
    const allHeld = () => drop({ available: 0, held: 4 });

    const after = run(run(moving, 25, allHeld), 30, allHeld);

    // Two windows standing still: the floor has caught up with the boundary; every admitted turn has passed.
    expect(after.speed).toBe(0);
    expect(after.floor).toBe(after.boundary);
    expect(after.boundary).toBe(moving.boundary);
    expect(after).toMatchObject({
      floorAt: start + 60 * SECOND,
      lastFloor: first?.boundary,
      lastFloorAt: start + 30 * SECOND,
    });
    // Further windows pass no one new: when the floor rose stays put (a fresh attempt is no retry of a hold).
    const still = run(after, 60, allHeld);
    expect([still.floor, still.floorAt, still.lastFloor]).toEqual([after.floor, after.floorAt, after.lastFloor]);
  });

  it.each([
    ['paused', 'PAUSED'],
    ['closed', 'CLOSED'],
  ] as const)('does not count time %s, and keeps the floor and the mark through it', (_what, state) => {
    const last = room(start, { available: 100, floor: start - 40_000, floorAt: start - 5 * SECOND });
    const marked = { ...last, mark: start - 20_000, markOpenMs: 20 * SECOND };

    const stopped = run(marked, 60, () => drop({ state }));
    const resumed = run(stopped, 9);
    const passed = run(resumed, 1);

    expect(stopped).toMatchObject({ floor: last.floor, floorAt: last.floorAt, mark: marked.mark, markOpenMs: 20_000 });
    expect(resumed).toMatchObject({ floor: last.floor, markOpenMs: 29 * SECOND });
    expect(passed).toMatchObject({ floor: marked.mark, floorAt: passed.at, markOpenMs: 0 });
  });

  it('runs a window of at most half the drop’s hold: passed by the time the holds that shut them out lapse', () => {
    const first = nextRoom(room(start, { at: start - SECOND, available: 100 }), drop(), start, CAPACITY, WINDOW);
    const shortHolds = () => drop({ holdSeconds: 20 });
    const longHolds = () => drop({ holdSeconds: 300 });

    expect(run(first as EdgeRoom, 10, shortHolds)).toMatchObject({ floor: first?.boundary, markOpenMs: 0 });
    expect(run(first as EdgeRoom, 10, longHolds)).not.toHaveProperty('floor');
    expect(run(first as EdgeRoom, 30, longHolds)).toMatchObject({ floor: first?.boundary });
  });

  it('runs no window shorter than 5 s (a tick, the page’s poll and a click), whatever the hold or the setting', () => {
    const first = nextRoom(room(start, { at: start - SECOND, available: 100 }), drop(), start, CAPACITY, 1_000);
    const tinyHolds = () => drop({ holdSeconds: 1 });
    const step = (from: EdgeRoom, seconds: number) => {
      let current = from;
      for (let tick = 1; tick <= seconds; tick++) {
        current = nextRoom(current, tinyHolds(), from.at + tick * SECOND, CAPACITY, 1_000) as EdgeRoom;
      }
      return current;
    };

    expect(step(first as EdgeRoom, 4)).not.toHaveProperty('floor');
    expect(step(first as EdgeRoom, 5)).toMatchObject({ floor: first?.boundary });
  });

  it('counts no more than 5 s of a long gap between ticks (nothing written while sold out, or the room off)', () => {
    const last = { ...room(start, { available: 0 }), mark: start - 20_000, markOpenMs: 20 * SECOND };

    const restocked = nextRoom(
      { ...last, at: start - 10 * 60 * SECOND },
      drop({ available: 50 }),
      start,
      CAPACITY,
      WINDOW,
    );

    expect(restocked).toMatchObject({ markOpenMs: 25 * SECOND });
    expect(restocked).not.toHaveProperty('floor');
  });

  it('keeps the floor while the stock is not yet known', () => {
    const last = room(start, { boundary: start - 9_000, floor: start - 40_000, floorAt: start - 5 * SECOND });

    const next = nextRoom(
      { ...last, mark: start - 20_000, markOpenMs: 0 },
      drop({ available: -1, held: -1 }),
      start,
      CAPACITY,
      WINDOW,
    );

    expect(next).toMatchObject({ floor: last.floor, floorAt: last.floorAt, markOpenMs: SECOND });
  });
});

/** An in-memory KeyValueStore, with the writes it took. */
function memoryValues(initial: Record<string, unknown> = {}) {
  const map = new Map(Object.entries(initial));
  const writes: string[] = [];
  const values: EdgeKeyValues = {
    read: async (key) => map.get(key),
    write: async (key, value) => {
      writes.push(key);
      map.set(key, value);
    },
    keys: async (prefix) => [...map.keys()].filter((key) => key.startsWith(prefix)).sort(),
  };
  return { values, map, writes };
}

function controller(
  initial: Record<string, unknown> = {},
  startAt = STARTS_AT,
  shedCounts?: AdmissionControllerDeps['shedCounts'],
  onShedCountError?: AdmissionControllerDeps['onShedCountError'],
) {
  const store = memoryValues(initial);
  const clock = { ms: startAt, now: () => clock.ms };
  const secrets: string[] = [];
  const newSecret = () => {
    const secret = randomBytes(32).toString('base64url');
    secrets.push(secret);
    return secret;
  };
  const admissions = new AdmissionController({
    values: store.values,
    clock,
    newSecret,
    capacityUnitsPerSecond: CAPACITY,
    ...(shedCounts ? { shedCounts } : {}),
    ...(onShedCountError ? { onShedCountError } : {}),
  });
  return { ...store, clock, secrets, admissions };
}

describe('AdmissionController', () => {
  it('creates the signing keys when there are none', async () => {
    const { admissions, map, secrets, clock } = controller();

    const keys = await admissions.keepKeys();

    const id = `k${clock.ms.toString(36)}`;
    expect(keys).toEqual({ active: id, keys: { [id]: secrets[0] }, rotatedAt: clock.ms, rank: secrets[1] });
    expect(map.get('admission-keys')).toEqual(keys);
  });

  it('keeps the pre-queue’s rank secret through every rotation, and adds one to keys written before it', async () => {
    const { admissions, map, clock } = controller();
    const first = await admissions.keepKeys();
    for (let day = 0; day < 3; day++) {
      clock.ms += KEY_ROTATION_MS;
      await admissions.keepKeys();
      clock.ms += KEY_PUBLISH_AHEAD_MS;
      await admissions.keepKeys();
    }
    const later = await admissions.keepKeys();
    expect(later.active).not.toBe(first.active);
    expect(later.rank).toBe(first.rank);

    // Keys from before the rank secret: it is added, and nothing else changes.
    const { rank: _rank, ...older } = later;
    map.set('admission-keys', older);
    const added = await admissions.keepKeys();
    expect(added).toEqual({ ...older, rank: expect.stringMatching(/^[\w-]{43}$/) });
    expect(added.rank).not.toBe(first.rank);
    expect(await admissions.keepKeys()).toEqual(added);
  });

  it('keeps the keys without writing them until the next key is due to be published', async () => {
    const { admissions, writes, clock } = controller();
    const first = await admissions.keepKeys();

    clock.ms += KEY_ROTATION_MS - KEY_PUBLISH_AHEAD_MS - 1;
    const later = await admissions.keepKeys();

    expect(later).toEqual(first);
    expect(writes).toEqual(['admission-keys']);
  });

  it('publishes the next key ahead of its day, verifying only, and lets it sign once every location has had time to hold it', async () => {
    const { admissions, map, clock, secrets } = controller();
    const first = await admissions.keepKeys();
    clock.ms += KEY_ROTATION_MS - KEY_PUBLISH_AHEAD_MS;
    const published = await admissions.keepKeys();
    // Out, and verifying (in keys), but the first key still signs.
    expect(published.active).toBe(first.active);
    expect(published.keys).toEqual({ [first.active]: secrets[0], [published.next as string]: secrets[2] });
    expect(published.nextAt).toBe(clock.ms);

    clock.ms += KEY_PUBLISH_AHEAD_MS - 1;
    expect(await admissions.keepKeys()).toEqual(published);
    clock.ms += 1;
    const second = await admissions.keepKeys();
    expect(second).toEqual({
      active: published.next,
      keys: { [first.active]: secrets[0], [published.next as string]: secrets[2] },
      rotatedAt: STARTS_AT + KEY_ROTATION_MS,
      rank: first.rank,
    });

    // The next day: the key before the previous one is dropped, exactly the previous one kept.
    clock.ms += KEY_ROTATION_MS - KEY_PUBLISH_AHEAD_MS;
    const publishedAgain = await admissions.keepKeys();
    clock.ms += KEY_PUBLISH_AHEAD_MS;
    const third = await admissions.keepKeys();
    expect(third.active).toBe(publishedAgain.next);
    expect(third.keys).toEqual({ [second.active]: secrets[2], [third.active]: secrets[3] });
    expect(map.get('admission-keys')).toEqual(third);
  });

  it('a next key without its publication time is dated now, and signs once it has been out long enough', async () => {
    const { admissions, map, clock } = controller();
    const first = await admissions.keepKeys();
    map.set('admission-keys', { ...first, keys: { ...first.keys, kNext: 'n'.repeat(43) }, next: 'kNext' });
    clock.ms += KEY_ROTATION_MS;
    expect(await admissions.keepKeys()).toMatchObject({ active: first.active, next: 'kNext', nextAt: clock.ms });
    clock.ms += KEY_PUBLISH_AHEAD_MS;
    expect((await admissions.keepKeys()).active).toBe('kNext');
  });

  it('a next key published late (the controller was away) signs only once it has been out long enough', async () => {
    const { admissions, clock } = controller();
    const first = await admissions.keepKeys();
    clock.ms += 3 * KEY_ROTATION_MS;
    const published = await admissions.keepKeys();
    expect([published.active, published.next === undefined]).toEqual([first.active, false]);
    clock.ms += KEY_PUBLISH_AHEAD_MS - 1;
    expect((await admissions.keepKeys()).active).toBe(first.active);
    clock.ms += 1;
    expect((await admissions.keepKeys()).active).toBe(published.next);
  });

  it('replaces keys it cannot read with fresh ones', async () => {
    const { admissions, secrets } = controller({
      'admission-keys': { active: 'k1', keys: { k1: 'short' }, rotatedAt: 0 },
    });

    const keys = await admissions.keepKeys();

    expect(keys.keys).toEqual({ [keys.active]: secrets[0] });
  });

  it('moves only the rooms of drops whose waiting room is on', async () => {
    const now = STARTS_AT + 10 * SECOND;
    const { admissions, map, clock } = controller(
      {
        'drop:on': drop({ room: true }),
        'drop:off': drop({ room: false }),
        'drop:sold': drop({ room: true, available: 0, held: 0 }),
        'drop:broken': { v: 2, room: true },
        'room:off': room(now, { boundary: 1 }),
      },
      now,
    );
    clock.ms = now;

    const moved = await admissions.tick();

    expect(moved).toEqual(['on']);
    expect(map.get('room:on')).toMatchObject({ v: 1, speed: 1_000, at: now, available: 100 });
    expect(map.get('room:off')).toEqual(room(now, { boundary: 1 }));
    expect(map.has('room:sold')).toBe(false);
    expect(map.has('room:broken')).toBe(false);
    expect(map.has('admission-keys')).toBe(true);
  });

  it('keeps the drop’s taken in its room, to measure the next tick’s take by', async () => {
    const now = STARTS_AT + 10 * SECOND;
    const { admissions, map } = controller({ 'drop:on': drop({ taken: 42 }) }, now);

    await admissions.tick();

    expect(map.get('room:on')).toMatchObject({ available: 100, taken: 42 });
  });

  it('feeds each room the origin’s shed count for its SKU, and moves it, saying so, when the count cannot be read', async () => {
    const now = STARTS_AT + 10 * SECOND;
    const refused = new Error('ProvisionedThroughputExceededException');
    const shedCounts = {
      total: async (sku: string) => {
        if (sku === 'unreadable') throw refused;
        return sku === 'shedding' ? 77 : 0;
      },
    };
    const errors: unknown[] = [];
    const { admissions, map } = controller(
      {
        'drop:shedding': drop(),
        'drop:unreadable': drop(),
        'room:unreadable': room(now, { shed: 5, shedAt: now - 4 * SECOND }),
      },
      now,
      shedCounts,
      (sku, error) => errors.push([sku, error]),
    );

    expect(await admissions.tick()).toEqual(['shedding', 'unreadable']);
    expect(map.get('room:shedding')).toMatchObject({ shed: 77, shedAt: now, at: now });
    expect(map.get('room:unreadable')).toMatchObject({ shed: 5, shedAt: now - 4 * SECOND, at: now });
    expect(errors).toEqual([['unreadable', refused]]);
  });

  it('starts a new room at the pre-queue start before the drop starts', async () => {
    const now = STARTS_AT - 30 * SECOND;
    const { admissions, map } = controller({ 'drop:on': drop() }, now);

    await admissions.tick();

    expect(map.get('room:on')).toMatchObject({ boundary: STARTS_AT - PRE_QUEUE_MS, speed: 0, at: now });
  });
});

const ARN = 'arn:aws:cloudfront::000000000000:key-value-store/test';
const secret = () => randomBytes(32).toString('base64url');

/** A KeyValueStore client stub answering GetKey for `admission-keys` from `store.keys`, counting reads. */
function stubClient(initial: AdmissionKeys | null) {
  const store = { keys: initial, reads: 0 };
  const client = {
    send: async (command: unknown) => {
      if (!(command instanceof GetKeyCommand)) throw new Error('unexpected command');
      expect(command.input).toEqual({ KvsARN: ARN, Key: 'admission-keys' });
      store.reads++;
      if (store.keys === null) {
        throw new ResourceNotFoundException({ message: 'missing', $metadata: {} });
      }
      return { Key: 'admission-keys', Value: JSON.stringify(store.keys) };
    },
  } as unknown as CloudFrontKeyValueStoreClient;
  return { client, store };
}

describe('KeyValueStoreAdmissions.check, at the origin', () => {
  const KEYS: AdmissionKeys = { active: 'k1', keys: { k1: secret() }, rotatedAt: 0 };
  const SKU = 'sneaker-x';

  function checker(keys: AdmissionKeys | null = KEYS) {
    const { client, store } = stubClient(keys);
    const clock = { ms: STARTS_AT, now: () => clock.ms };
    return { admissions: new KeyValueStoreAdmissions(client, () => ARN, clock), store, clock };
  }

  const token = (claims: { s?: string; c?: string; e?: number } = {}, keys = KEYS) =>
    sign({ s: SKU, c: 'alice', o: STARTS_AT, e: STARTS_AT + ADMISSION_TOKEN_MS, ...claims }, keys);

  it('accepts a valid token for the sku and customer', async () => {
    expect(await checker().admissions.check(token(), SKU, 'alice')).toBeUndefined();
  });

  it('answers ADMISSION_REQUIRED without a token, reading nothing', async () => {
    const { admissions, store } = checker();

    expect(await admissions.check(undefined, SKU, 'alice')).toBe('ADMISSION_REQUIRED');
    expect(store.reads).toBe(0);
  });

  it.each([
    ['another customer', () => token({ c: 'mallory' }), 'ADMISSION_WRONG_CUSTOMER'],
    ['another sku', () => token({ s: 'other' }), 'ADMISSION_WRONG_SKU'],
    ['an expiry beyond the 2 s skew', () => token({ e: STARTS_AT - 2_001 }), 'ADMISSION_EXPIRED'],
    ['a ticket (no expiry)', () => sign({ s: SKU, c: 'alice', t: STARTS_AT }, KEYS), 'ADMISSION_INVALID'],
    ['an unknown key', () => token({}, { active: 'k9', keys: { k9: secret() }, rotatedAt: 0 }), 'ADMISSION_INVALID'],
  ])('refuses a token for %s', async (_what, value, code) => {
    expect(await checker().admissions.check(value(), SKU, 'alice')).toBe(code);
  });

  it('accepts a token expired within the 2 s skew', async () => {
    expect(await checker().admissions.check(token({ e: STARTS_AT - 2_000 }), SKU, 'alice')).toBeUndefined();
  });

  it('answers ADMISSION_INVALID when the store has no keys', async () => {
    expect(await checker(null).admissions.check(token(), SKU, 'alice')).toBe('ADMISSION_INVALID');
  });

  it("finds keys made after a miss within a second, not after the cache's 30 s", async () => {
    const { admissions, store, clock } = checker(null);
    expect(await admissions.check(token(), SKU, 'alice')).toBe('ADMISSION_INVALID');
    store.keys = KEYS;
    clock.ms += 1_000;

    expect(await admissions.check(token(), SKU, 'alice')).toBeUndefined();
    expect(store.reads).toBe(2);
  });

  it('reads the keys once for many checks within 30 s', async () => {
    const { admissions, store, clock } = checker();

    await admissions.check(token(), SKU, 'alice');
    clock.ms += 29_000;
    await admissions.check(token(), SKU, 'alice');

    expect(store.reads).toBe(1);
  });

  it('accepts a token signed by a key added after the cache was filled, re-reading at most once a second', async () => {
    const { admissions, store, clock } = checker();
    expect(await admissions.check(token(), SKU, 'alice')).toBeUndefined();
    const rotated: AdmissionKeys = { active: 'k2', keys: { ...KEYS.keys, k2: secret() }, rotatedAt: STARTS_AT };
    store.keys = rotated;
    const fresh = token({ e: STARTS_AT + 10_000 }, rotated);

    clock.ms += 500;
    const tooSoon = await admissions.check(fresh, SKU, 'alice');
    const readsTooSoon = store.reads;
    clock.ms += 500;
    const refreshed = await admissions.check(fresh, SKU, 'alice');
    const readsRefreshed = store.reads;
    clock.ms += 500;
    const forged = await admissions.check(
      token({}, { active: 'k3', keys: { k3: secret() }, rotatedAt: 0 }),
      SKU,
      'alice',
    );

    expect([tooSoon, readsTooSoon]).toEqual(['ADMISSION_INVALID', 1]);
    expect([refreshed, readsRefreshed]).toEqual([undefined, 2]);
    expect([forged, store.reads]).toEqual(['ADMISSION_INVALID', 2]);
    expect(await admissions.check(token(), SKU, 'alice')).toBeUndefined();
  });
});
