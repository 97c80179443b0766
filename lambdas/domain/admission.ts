/**
 * The waiting room's admission controller: once a second, for every drop whose waiting room is on, it moves
 * the admission boundary the edge function admits tickets below (`room:<sku>` in the edge's KeyValueStore),
 * and it keeps the signing keys the edge signs tickets and tokens with (`admission-keys`).
 *
 * The boundary is in order-key space: milliseconds of arrival, with the tickets issued before the start
 * ranked (shuffled) over the `PRE_QUEUE_MS` before it. It stands still before the start, while the drop is
 * paused or closed, and while every unit is held (units may come back: admission then resumes where it
 * stopped, in ticket order). Resumed after a pause, it moves at the speed it had when paused, when that
 * speed measured the stock path's pace (`keptSpeed`); from any other standstill it starts at the start
 * speed. Otherwise it moves at a speed fed back from what the stock path measurably takes against a target:
 * the planned capacity of the stock path, and no more than the remaining units can use
 * (`available / DRAIN_SECONDS`). Below the target it speeds up by half: every tick until the first
 * units are taken (or while the take is unknown), then at most once in `FEEDBACK_MS` (the time a speed-up
 * takes to show in what is taken). Above it, it slows by a third at once, every tick.
 *
 * What the stock path takes is the gross: units newly held per second, the rise of the drop's `taken`
 * (held + sold + returned, from the stock snapshots the edge-state writer keeps) between ticks. The net
 * fall of `available` would read holds that expire or are released back, and restocks, as nothing taken:
 * with holds lapsing as fast as they are placed it would speed up while the stock path is busy. Only when
 * `taken` is unknown (snapshots from a publisher that does not say what came back) does it measure that
 * net fall, as before.
 *
 * What the stock path takes cannot show an origin that turns shoppers away: with fewer units taken than the
 * target because the stock path is overwhelmed (DynamoDB throttling its shards, transactions conflicting),
 * speeding up would let in more shoppers to be refused. So the controller also reads the origin's load:
 * the reservation attempts it shed (answered 429 or 503; `./origin-load.ts`). While it sheds at least one a
 * second and at least a tenth of what it serves (units taken plus refusals), measured since the last count
 * read, the boundary does not speed up (nor start moving faster than its slowest) and slows by a third every
 * tick, as when too much is taken. A count that cannot be read leaves the take alone to steer.
 *
 * Behind the boundary a floor follows it, a window of open drop late (`ADMISSION_WINDOW_MS`): a shopper let
 * in has that long to use their turn, and then the edge refuses their admission. So when held units come
 * back, the boundary's next move hands them to the next tickets in line; the shoppers whose turn passed,
 * who might otherwise have kept refreshing for them, are refused at the edge. The floor moves in steps: it
 * takes the boundary's value from the start of a window once the window has run (so a shopper gets between
 * one and two windows), and only open time counts (not before the start, not while paused or closed). The
 * window is at most half the drop's hold time: a shopper let in just as every unit became held has had their
 * turn by the time the first of those holds can lapse.
 */
import { ADMISSION_KEYS_KEY, ADMISSION_WINDOW_MS, PRE_QUEUE_MS, roomKey } from '../../contract/drops';
import { AdmissionKeys, EdgeDropState, EdgeRoom } from '../../contract/edge-values';
import type { EdgeKeyValues } from './edge-state';
import type { ShedCounts } from './origin-load';
import type { Clock } from './ports';

/** A fresh key signs from the start; the one before it keeps verifying what it signed for a day. */
export const KEY_ROTATION_MS = 24 * 3600_000;
/**
 * How long before it signs the next key is published. The edge verifies a token with whatever key its
 * location's copy of the store holds, and a change reaches CloudFront's edge locations unevenly: a key that
 * signed at once would fail verification (`ADMISSION_INVALID`) at a location that had not got it yet,
 * the retry of an attempt that made a hold included. Minutes, against the seconds a change takes.
 */
export const KEY_PUBLISH_AHEAD_MS = 10 * 60_000;
/** Key-ms per second: a boundary moving in real time admits arrivals as fast as they come. */
const START_SPEED = 1000;
/** The whole pre-queue in a second: the fastest the boundary moves. */
const MAX_SPEED = PRE_QUEUE_MS;
const MIN_SPEED = 50;
/** Admit no more than the remaining units could use in this many seconds. */
const DRAIN_SECONDS = 10;
/** Weight of the newest measurement in the smoothed rate. */
const SMOOTHING = 0.5;
/**
 * How long a speed-up takes to show in what the stock path takes: shoppers let in see it at their next poll
 * (the page asks every 2 s), reserve, and the hold reaches the controller through the table's stream (polled
 * 4 times a second, no batching window), the relay and the edge-state writer: 2.5–3 s when nothing lags,
 * 4 s and more when the writer lags (`EdgeStateLag` up to 1.8 s in the rehearsals). The boundary speeds up
 * at most once in this long: sooner, the take it measures is from before its last speed-up, and it would
 * speed up again (and again) on news that cannot show that speed-up yet, letting in far more shoppers than
 * the units left can serve while the ones let in are still on their way. The shortest delay, not the
 * longest: a longer wait slows the room down for every drop whose stock path is idle. It slows down at
 * once. (3 s was set while the relay still waited up to a second for a batch; a shorter one is not measured.)
 */
export const FEEDBACK_MS = 3_000;

export interface AdmissionControllerDeps {
  readonly values: EdgeKeyValues;
  readonly clock: Clock;
  /** A new signing secret: 32 random bytes, base64url. */
  readonly newSecret: () => string;
  /** Units per second the stock path is planned to take (the drop plan's reservation capacity). */
  readonly capacityUnitsPerSecond: number;
  /** Open time (ms) an admitted shopper has to use their turn; `ADMISSION_WINDOW_MS` unless given. */
  readonly windowMs?: number;
  /** The origin's shed counts; without them (or when they cannot be read) the take alone steers. */
  readonly shedCounts?: Pick<ShedCounts, 'total'>;
  /** Told of a count that could not be read. */
  readonly onShedCountError?: (sku: string, error: unknown) => void;
}

/** What the controller keeps between ticks, beside the boundary: the availability and take it last saw. */
type Room = EdgeRoom;

export class AdmissionController {
  constructor(private readonly deps: AdmissionControllerDeps) {}

  /** One tick: the keys, then every room; returns the SKUs whose boundary it moved. */
  async tick(): Promise<string[]> {
    await this.keepKeys();
    const moved: string[] = [];
    for (const key of await this.deps.values.keys('drop:')) {
      const drop = EdgeDropState.safeParse(await this.deps.values.read(key));
      if (!drop.success || !drop.data.room) continue;
      const sku = key.slice('drop:'.length);
      if (await this.advance(sku, drop.data)) moved.push(sku);
    }
    return moved;
  }

  /**
   * The signing keys, rotated in two steps: `KEY_PUBLISH_AHEAD_MS` before the active key's day is over, the
   * next one is published beside it (verifying, not yet signing); once the day is over and the next key has
   * been out that long, it signs, and the one it replaces keeps verifying for a day. Without keys (or with
   * unreadable ones) a key is made that signs at once: nothing was signed before it. The pre-queue's rank
   * secret is made once (with the first key, or added to keys written before it) and kept through every
   * rotation.
   */
  async keepKeys(): Promise<AdmissionKeys> {
    const now = this.deps.clock.now();
    const read = AdmissionKeys.safeParse(await this.deps.values.read(ADMISSION_KEYS_KEY));
    const newKey = () => ({ id: `k${now.toString(36)}`, secret: this.deps.newSecret() });
    if (!read.success || read.data.keys[read.data.active] === undefined) {
      const { id, secret } = newKey();
      return this.writeKeys({ active: id, keys: { [id]: secret }, rotatedAt: now, rank: this.deps.newSecret() });
    }
    const current = read.data;
    if (current.rank === undefined) return this.writeKeys({ ...current, rank: this.deps.newSecret() });
    const age = now - current.rotatedAt;
    const next = current.next === undefined ? undefined : current.keys[current.next];
    if (next !== undefined && current.next !== undefined) {
      // A next key without its publication time (written by hand) is taken as published now.
      if (current.nextAt === undefined) return this.writeKeys({ ...current, nextAt: now });
      if (age < KEY_ROTATION_MS || now - current.nextAt < KEY_PUBLISH_AHEAD_MS) return current;
      return this.writeKeys({
        active: current.next,
        keys: { [current.active]: current.keys[current.active] as string, [current.next]: next },
        rotatedAt: now,
        rank: current.rank,
      });
    }
    if (age < KEY_ROTATION_MS - KEY_PUBLISH_AHEAD_MS) return current;
    const { id, secret } = newKey();
    return this.writeKeys({ ...current, keys: { ...current.keys, [id]: secret }, next: id, nextAt: now });
  }

  private async writeKeys(keys: AdmissionKeys): Promise<AdmissionKeys> {
    await this.deps.values.write(ADMISSION_KEYS_KEY, keys);
    return keys;
  }

  private async advance(sku: string, drop: EdgeDropState): Promise<boolean> {
    const now = this.deps.clock.now();
    const startsAt = Date.parse(drop.startsAt);
    // The room and the origin's count side by side: the count's read adds nothing to the tick's time.
    const [value, shed] = await Promise.all([this.deps.values.read(roomKey(sku)), this.shedTotal(sku)]);
    const stored = EdgeRoom.safeParse(value);
    const room: Room = stored.success
      ? (stored.data as Room)
      : { v: 1, boundary: startsAt - PRE_QUEUE_MS, speed: 0, rate: 0, at: now };
    const next = nextRoom(room, drop, now, this.deps.capacityUnitsPerSecond, this.deps.windowMs, shed);
    if (next === undefined) return false;
    await this.deps.values.write(roomKey(sku), next);
    return true;
  }

  /** The origin's shed count for the SKU, or undefined when there are no counts or they cannot be read. */
  private async shedTotal(sku: string): Promise<number | undefined> {
    try {
      return await this.deps.shedCounts?.total(sku);
    } catch (error) {
      // Unknown this tick: the room keeps the last count and when it was read; the next read measures from it.
      this.deps.onShedCountError?.(sku, error);
      return undefined;
    }
  }
}

/** The longest gap between ticks counted as open time for the floor (the controller ticks every second). */
const MAX_TICK_GAP_MS = 5_000;
/** The shortest turn window: a tick, the page's 2 s poll and a click must fit in it. */
const MIN_WINDOW_MS = 5_000;

/** The room one tick on, or undefined when nothing changes (sold out for good, or stock not yet known). */
export function nextRoom(
  room: Room,
  drop: EdgeDropState,
  now: number,
  capacity: number,
  windowMs: number = ADMISSION_WINDOW_MS,
  shed?: number,
): Room | undefined {
  const moved = movedBoundary(room, drop, now, capacity, shed);
  // At most half a hold: a shopper refused while every unit was held has had their turn when holds lapse.
  const window = Math.max(
    MIN_WINDOW_MS,
    drop.holdSeconds === undefined ? windowMs : Math.min(windowMs, drop.holdSeconds * 500),
  );
  return moved && withFloor(moved, room, drop, now, window);
}

function movedBoundary(
  room: Room,
  drop: EdgeDropState,
  now: number,
  capacity: number,
  shed: number | undefined,
): Room | undefined {
  const startsAt = Date.parse(drop.startsAt);
  if (drop.available === 0 && drop.held === 0) return undefined;
  const load = shedLoad(room, shed, now);
  if (drop.available === -1) {
    // Stock not known yet (no snapshot since the writer first saw the drop): move in real time, so the
    // first holds come and with them the snapshots the law needs; at the slowest while the origin sheds.
    const known = { ...withoutLoad(room), ...load };
    if (now < startsAt || drop.state !== 'OPEN') return { ...known, boundary: room.boundary, speed: 0, at: now };
    const seconds = Math.max(0, (now - room.at) / 1000);
    const speed = shedding(0, load.shedRate) ? MIN_SPEED : START_SPEED;
    return { ...known, boundary: Math.min(now, room.boundary + speed * seconds), speed, at: now };
  }
  const seconds = Math.max(0, (now - room.at) / 1000);
  const measured = seconds > 0 ? takenSince(room, drop) / seconds : room.rate;
  const rate = Number((SMOOTHING * measured + (1 - SMOOTHING) * room.rate).toFixed(2));
  const known = drop.taken !== undefined && drop.taken >= 0;
  const base = {
    v: 1 as const,
    rate,
    at: now,
    available: drop.available,
    ...(known ? { taken: drop.taken } : {}),
    ...load,
  };
  const standing = now < startsAt || drop.state !== 'OPEN' || drop.available === 0;
  if (standing) {
    const boundary = now < startsAt ? startsAt - PRE_QUEUE_MS : room.boundary;
    const resumeSpeed = now >= startsAt && drop.state !== 'OPEN' ? keptSpeed(room) : undefined;
    return { ...base, boundary, speed: 0, ...(resumeSpeed ? { resumeSpeed } : {}) };
  }
  const target = Math.min(capacity, Math.max(1, drop.available / DRAIN_SECONDS));
  // Moving again after standing still, or sped up: dated, so that the next speed-up waits for its effect.
  const spedUp = { spedUpAt: now };
  const kept = room.spedUpAt === undefined ? {} : { spedUpAt: room.spedUpAt };
  const [speed, dated] = shedding(rate, load.shedRate)
    ? [room.speed === 0 ? MIN_SPEED : Math.max(MIN_SPEED, room.speed * (2 / 3)), kept]
    : room.speed === 0
      ? [resumedSpeed(room, now), spedUp]
      : rate < 0.8 * target && (!taking(room) || now - (room.spedUpAt ?? Number.NEGATIVE_INFINITY) >= FEEDBACK_MS)
        ? [Math.min(MAX_SPEED, room.speed * 1.5), spedUp]
        : rate > 1.2 * target
          ? [Math.max(MIN_SPEED, room.speed * (2 / 3)), kept]
          : [room.speed, kept];
  // Never ahead of now: a boundary past the newest arrival would admit the next ones unqueued at once.
  const boundary = Math.min(now, room.boundary + speed * seconds);
  return { ...base, boundary, speed: Math.round(speed), ...dated };
}

/**
 * The speed a pause keeps for its resume (the sell-out's standstill keeps none: the few units that come back
 * are admitted from the start speed). Arrivals' keys lie ahead of the boundary as densely after a pause as
 * before it (the edge keeps issuing tickets, keyed by arrival), so the speed the stock path was taking lets
 * in as many shoppers a second again. Kept only when it measured that pace: units were being taken (the
 * speed was fed back), the boundary lagged the newest arrival (one held at now moves no faster than the
 * arrivals, whatever its speed, which may have run up to the fastest), and faster than the start speed (a
 * pause the origin's shedding had slowed resumes as from any standstill).
 */
function keptSpeed(room: Room): number | undefined {
  if (room.speed === 0) return room.resumeSpeed;
  return taking(room) && room.boundary < room.at && room.speed > START_SPEED ? room.speed : undefined;
}

/**
 * The speed a standstill ends at: the pause's kept speed while the room has been written tick after tick
 * since (not one left unwritten while the drop was sold out for good, or the room off), else the start speed.
 */
function resumedSpeed(room: Room, now: number): number {
  return room.resumeSpeed !== undefined && now - room.at <= MAX_TICK_GAP_MS ? room.resumeSpeed : START_SPEED;
}

/**
 * The floor one tick on. Open time (started, OPEN; standing still because every unit is held counts: that
 * is when turns must pass) runs the window; once it has run, the floor takes the mark (the boundary when
 * the window began) and a new window begins at the boundary now. Before the start there is no floor: a
 * drop moved later begins again.
 */
function withFloor(next: Room, room: Room, drop: EdgeDropState, now: number, windowMs: number): Room {
  const { floor: _f, floorAt: _fa, lastFloor: _lf, lastFloorAt: _lfa, mark: _m, markOpenMs: _mo, ...moved } = next;
  if (now < Date.parse(drop.startsAt)) return moved;
  const kept = { ...moved, ...floorOf(room) };
  if (drop.state !== 'OPEN') {
    return room.mark === undefined ? kept : { ...kept, mark: room.mark, markOpenMs: room.markOpenMs ?? 0 };
  }
  if (room.mark === undefined) return { ...kept, mark: moved.boundary, markOpenMs: 0 };
  // A gap far longer than a tick (nothing written while sold out for good, or the room off) is not counted.
  const openMs = (room.markOpenMs ?? 0) + Math.min(MAX_TICK_GAP_MS, Math.max(0, now - room.at));
  if (openMs < windowMs) return { ...kept, mark: room.mark, markOpenMs: openMs };
  // A window that passes no one new (a standstill's) leaves the floor and when it rose as they were.
  if (room.floor === room.mark) return { ...kept, mark: moved.boundary, markOpenMs: 0 };
  const last = room.floor === undefined ? {} : { lastFloor: room.floor, lastFloorAt: room.floorAt ?? now };
  return { ...moved, floor: room.mark, floorAt: now, ...last, mark: moved.boundary, markOpenMs: 0 };
}

/** The floor fields of a room, as they were. */
function floorOf(room: Room): Partial<Room> {
  if (room.floor === undefined) return {};
  const floor = { floor: room.floor, floorAt: room.floorAt ?? room.at };
  if (room.lastFloor === undefined) return floor;
  return { ...floor, lastFloor: room.lastFloor, lastFloorAt: room.lastFloorAt ?? floor.floorAt };
}

/** Refusals a second that say the origin sheds: at least this many, and at least `SHED_SHARE` of all served. */
const SHED_FLOOR = 1;
const SHED_SHARE = 0.1;

type Load = Pick<Room, 'shed' | 'shedAt' | 'shedRate'>;

/**
 * The origin's shed count one tick on, when it was read, and the refusals a second since the read before
 * (not smoothed: the decision follows the origin as it is now, and a count is cumulative, so nothing is
 * lost between reads). A count not read this tick keeps the last one and when it was read, with no rate:
 * the take alone steers until the next read, which measures from the last. A count that fell (its items
 * expired) is read as nothing shed.
 */
function shedLoad(room: Room, shed: number | undefined, now: number): Load {
  const last: Load = room.shed === undefined ? {} : { shed: room.shed, shedAt: room.shedAt ?? room.at };
  if (shed === undefined) return last;
  const seconds = (now - (last.shedAt ?? now)) / 1000;
  if (last.shed === undefined || seconds <= 0) return { shed, shedAt: now };
  return { shed, shedAt: now, shedRate: Number((Math.max(0, shed - last.shed) / seconds).toFixed(2)) };
}

/** The room without its load fields. */
function withoutLoad(room: Room): Room {
  const { shed: _s, shedAt: _sa, shedRate: _sr, ...rest } = room;
  return rest;
}

/** Whether the origin sheds enough of what it is asked to hold the boundary back: see the module's doc. */
function shedding(rate: number, shedRate: number | undefined): boolean {
  if (shedRate === undefined) return false;
  return shedRate >= SHED_FLOOR && shedRate >= SHED_SHARE * (rate + shedRate);
}

/**
 * Whether the stock path has taken units (by the last tick): only then is a speed-up's effect on the take
 * something to wait for. Before the first hold the boundary may be crossing empty order keys (a pre-queue
 * nobody joined before the start), and nothing it does can show: it speeds up every tick.
 */
function taking(room: Room): boolean {
  return room.taken !== undefined && room.taken > 0;
}

/**
 * Units the stock path took since the last tick: the rise of `taken` when both ticks know it; else the net
 * fall of `available` (blind to units coming back); nothing when the last tick saw neither.
 */
function takenSince(room: Room, drop: EdgeDropState): number {
  if (room.taken !== undefined && drop.taken !== undefined && drop.taken >= 0) {
    return Math.max(0, drop.taken - room.taken);
  }
  return room.available === undefined ? 0 : Math.max(0, room.available - drop.available);
}
