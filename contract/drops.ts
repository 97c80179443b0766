/**
 * A drop's operator controls and the public state the edge answers from,
 * named once: the admin route, the reservation rules, the event the outbox
 * relays when the state changes, and the value the edge-state writer keeps in
 * CloudFront's KeyValueStore for the edge function (`edge/admission.js`, which
 * parses that value by hand: it cannot import this module).
 */
import * as z from 'zod/mini';

/** OPEN takes reservations (from `dropStartsAt`); PAUSED refuses them until resumed; CLOSED for good. */
export const DROP_STATES = ['OPEN', 'PAUSED', 'CLOSED'] as const;
export type DropState = (typeof DROP_STATES)[number];

/** `POST /admin/drops/{sku}/{action}` and `dropline drop <action>`. */
export const DROP_ACTIONS = { pause: 'PAUSED', resume: 'OPEN', close: 'CLOSED' } as const satisfies Record<
  string,
  DropState
>;
export type DropAction = keyof typeof DROP_ACTIONS;
export const isDropAction = (value: string): value is DropAction => Object.hasOwn(DROP_ACTIONS, value);

/** Seconds a shopper refused by a paused drop is asked to wait before trying again. */
export const DROP_PAUSED_RETRY_AFTER_SECONDS = 5;

export const DROP_STATE_SCHEMA = 'dropline.drops.state.v1';
/** The `type` attribute of a drop-state message on the inventory topic. */
export const DROP_STATE_EVENT_TYPE = 'drop-state-changed';

/** A product's drop state or start changed (or the product was created): relayed from the table's stream. */
export const DropStateEvent = z.object({
  schema: z.literal(DROP_STATE_SCHEMA),
  type: z.literal(DROP_STATE_EVENT_TYPE),
  sku: z.string().check(z.minLength(1), z.maxLength(64)),
  state: z.enum(DROP_STATES),
  startsAt: z.iso.datetime({ offset: true }),
  /** The product item's revision: every change of it moves this on. */
  revision: z.int().check(z.gte(0)),
  publishedAt: z.iso.datetime(),
});
export type DropStateEvent = z.infer<typeof DropStateEvent>;

/** The CloudFront behaviour the edge function runs on (viewer request). */
export const EDGE_ADMISSION_PATH_PATTERN = '/products/*/reservations';

/** The local runtime's store: the embedded KeyValueStore answers for any ARN of this shape. */
export const LOCAL_EDGE_STORE_ARN = 'arn:aws:cloudfront::000000000000:key-value-store/dropline-local';

/** The edge's KeyValueStore key of a SKU's public drop state. */
export const edgeStateKey = (sku: string): string => `drop:${sku}`;

/**
 * What the edge function reads for a SKU (version 1; at most 1 KB, CloudFront KeyValueStore's value limit:
 * "Quotas", https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/cloudfront-limits.html).
 * `since` is when the writer produced it: an attempt whose Idempotency-Key (a UUIDv7) is older may be the
 * retry of one that made a hold, so the edge passes it to the origin.
 */
export const EdgeDropState = z.object({
  v: z.literal(1),
  state: z.enum(DROP_STATES),
  startsAt: z.iso.datetime({ offset: true }),
  /** −1 until the writer has seen the SKU's first stock snapshot: the edge then claims nothing about stock. */
  available: z.int().check(z.gte(-1)),
  held: z.int().check(z.gte(-1)),
  since: z.int().check(z.gte(0)),
  /** The product revision and stock snapshot version this value reflects: older news never overwrites it. */
  revision: z.int().check(z.gte(-1)),
  stockVersion: z.int().check(z.gte(-1)),
});
export type EdgeDropState = z.infer<typeof EdgeDropState>;
