/**
 * The shapes of what the edge reads and the topic carries for a drop, as zod schemas: apart from
 * `./drops` so that a function that only needs its constants bundles none of them.
 */
import * as z from 'zod/mini';
import { DROP_STATE_EVENT_TYPE, DROP_STATE_SCHEMA, DROP_STATES } from './drops';

export const AdmissionKeys = z.object({
  active: z.string().check(z.minLength(1)),
  keys: z.record(z.string(), z.string().check(z.minLength(32))),
  /** When the active key was made (ms): the controller rotates it daily, keeping the previous one. */
  rotatedAt: z.int(),
  /**
   * The key that signs next, published (in `keys`, so it already verifies) ahead of the rotation and when:
   * every edge location holds it before any signs with it.
   */
  next: z.optional(z.string().check(z.minLength(1))),
  nextAt: z.optional(z.int()),
  /**
   * The secret the pre-queue's shuffle is keyed by: made once and never rotated, so that a rotation does not
   * redraw a place (asking for a ticket again after one would be a second draw, and the better of two kept).
   * Absent in values written before it; the edge then keys the shuffle by the signing key.
   */
  rank: z.optional(z.string().check(z.minLength(32))),
});
export type AdmissionKeys = z.infer<typeof AdmissionKeys>;

/**
 * Tickets whose order key (ms: the arrival time, or the pre-queue's rank before the start) is at or below
 * `boundary` are admitted; it moves `speed` key-ms per second; `rate` is the holds per second the stock
 * path took lately (the edge's estimate of people ahead: seconds to wait × rate).
 */
export const EdgeRoom = z.object({
  v: z.literal(1),
  boundary: z.number(),
  speed: z.number().check(z.gte(0)),
  rate: z.number().check(z.gte(0)),
  at: z.int(),
  /** When the boundary last sped up (ms): it speeds up again only once what that let in can show as taken. */
  spedUpAt: z.optional(z.int()),
  /** The units available at `at`, for the next tick's measurement when `taken` is not known. */
  available: z.optional(z.int()),
  /** The units ever taken at `at` (the drop's `taken`; absent when unknown), for the next tick's measurement. */
  taken: z.optional(z.int().check(z.gte(0))),
  /**
   * Reservation attempts the origin ever shed for load (absent until first read), when that count was read
   * (ms), and the refusals a second since the read before (absent when this tick read none): while the
   * origin sheds, the boundary lets no more in faster.
   */
  shed: z.optional(z.int().check(z.gte(0))),
  shedAt: z.optional(z.int()),
  shedRate: z.optional(z.number().check(z.gte(0))),
  /**
   * Order keys at or below the floor have had their turn (`ADMISSION_WINDOW_MS` of open drop since the
   * boundary passed them): the edge refuses their admissions and the queue says their turn passed. Absent
   * until the first window has run.
   */
  floor: z.optional(z.number()),
  /**
   * When the floor last rose (ms), and the floor before that and when it rose: an order key at or below
   * `lastFloor` passed by `lastFloorAt`, any other below the floor by `floorAt`. An attempt whose key was
   * minted before its order passed may retry one that made a hold: the edge passes it on.
   */
  floorAt: z.optional(z.int()),
  lastFloor: z.optional(z.number()),
  lastFloorAt: z.optional(z.int()),
  /** The boundary when the current window began, and the open time (ms) since: the floor's next value. */
  mark: z.optional(z.number()),
  markOpenMs: z.optional(z.int().check(z.gte(0))),
  /** The speed the boundary had when the drop was paused: it moves at that speed again on the resume. */
  resumeSpeed: z.optional(z.number().check(z.gt(0))),
});
export type EdgeRoom = z.infer<typeof EdgeRoom>;

/** A product's drop state or start changed (or the product was created): relayed from the table's stream. */
export const DropStateEvent = z.object({
  schema: z.literal(DROP_STATE_SCHEMA),
  type: z.literal(DROP_STATE_EVENT_TYPE),
  sku: z.string().check(z.minLength(1), z.maxLength(64)),
  state: z.enum(DROP_STATES),
  startsAt: z.iso.datetime({ offset: true }),
  /** Whether the waiting room is on. */
  room: z.boolean(),
  /** The product item's revision: every change of it moves this on. */
  revision: z.int().check(z.gte(0)),
  /** How long a hold lasts (absent from events published before it was carried). */
  holdSeconds: z.optional(z.int().check(z.gte(1))),
  publishedAt: z.iso.datetime(),
});
export type DropStateEvent = z.infer<typeof DropStateEvent>;

/**
 * What the edge function reads for a SKU (version 1; at most 1 KB, CloudFront KeyValueStore's value limit:
 * "Quotas", https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/cloudfront-limits.html).
 * `since` is when what the edge refuses a reservation on last changed (state, start, waiting room, sold
 * out for good; not each unit taken): an attempt whose Idempotency-Key (a UUIDv7) is older may be the retry
 * of one that made a hold, so the edge passes it to the origin.
 */
export const EdgeDropState = z.object({
  v: z.literal(1),
  state: z.enum(DROP_STATES),
  startsAt: z.iso.datetime({ offset: true }),
  room: z.boolean(),
  /**
   * How long the drop's holds last: the waiting room's window (`ADMISSION_WINDOW_MS`) is at most half of
   * it, so that a shopper refused while every unit was held has had their turn when those holds lapse.
   */
  holdSeconds: z.optional(z.int().check(z.gte(1))),
  /** −1 until the writer has seen the SKU's first stock snapshot: the edge then claims nothing about stock. */
  available: z.int().check(z.gte(-1)),
  held: z.int().check(z.gte(-1)),
  since: z.int().check(z.gte(0)),
  /**
   * When the waiting room was last turned on (the writer's clock); absent while it is off, and in values
   * written before it existed. An attempt whose key was minted after it (+ `ADMISSION_SKEW_MS`) had to show
   * an admission the first time too, so the edge checks that admission even when the attempt may be a retry.
   */
  roomSince: z.optional(z.int().check(z.gte(0))),
  /** The product revision and stock snapshot version this value reflects: older news never overwrites it. */
  revision: z.int().check(z.gte(-1)),
  stockVersion: z.int().check(z.gte(-1)),
  /**
   * Units ever taken: `held + sold + returned` of the newest snapshot, which only grows (a restock does not
   * move it) — what the admission controller measures the stock path's take by. −1 while unknown (a snapshot
   * without `returned`); absent in values written before it existed. The edge function does not read it.
   */
  taken: z.optional(z.int().check(z.gte(-1))),
});
export type EdgeDropState = z.infer<typeof EdgeDropState>;
