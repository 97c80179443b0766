/**
 * A drop's operator controls and the public state the edge answers from,
 * named once: the admin route, the reservation rules, the event the outbox
 * relays when the state changes, and the value the edge-state writer keeps in
 * CloudFront's KeyValueStore for the edge function (`edge/admission.js`, which
 * parses that value by hand: it cannot import this module).
 */

/** OPEN takes reservations (from `dropStartsAt`); PAUSED refuses them until resumed; CLOSED for good. */
export const DROP_STATES = ['OPEN', 'PAUSED', 'CLOSED'] as const;
export type DropState = (typeof DROP_STATES)[number];

/** `POST /admin/drops/{sku}/{action}` and `dropline drop <action>`. */
export const DROP_ACTIONS = { pause: 'PAUSED', resume: 'OPEN', close: 'CLOSED' } as const satisfies Record<
  string,
  DropState
>;
/** `POST /admin/drops/{sku}/{action}` for the waiting room: admission through the edge's queue, or none. */
export const ROOM_ACTIONS = { 'waiting-room-on': true, 'waiting-room-off': false } as const;
export type DropAction = keyof typeof DROP_ACTIONS | keyof typeof ROOM_ACTIONS;
export const isDropAction = (value: string): value is DropAction =>
  Object.hasOwn(DROP_ACTIONS, value) || Object.hasOwn(ROOM_ACTIONS, value);

/** The header that carries an admission token on `POST /products/{sku}/reservations`, and the ticket's. */
export const ADMISSION_HEADER = 'x-dropline-admission';
/**
 * Set by the edge on an attempt whose admission's turn has passed (the room's floor) but which it passes on
 * as a possible retry of one that made a hold: the origin replays that hold or answers `ADMISSION_EXPIRED`,
 * and never makes a new one. A client can only refuse itself by sending it; the origin is reachable only
 * through CloudFront (the origin secret).
 */
export const TURN_PASSED_HEADER = 'x-dropline-turn-passed';
export const TICKET_HEADER = 'x-dropline-ticket';
/** How long an admission token lasts, and the clock skew tolerated on its expiry (both sides). */
export const ADMISSION_TOKEN_MS = 120_000;
export const ADMISSION_SKEW_MS = 2_000;
/**
 * The open time an admitted shopper has to use their turn: once the boundary has been open this long past
 * their ticket (at least this, at most twice: the floor moves in steps), the room's floor passes it, the
 * edge refuses their admission (`ADMISSION_EXPIRED`) and the queue answers `turnPassed`. Units that come
 * back after that go to the next in line, not to whoever kept refreshing. Paused time and time before the
 * start do not count. `ADMISSION_WINDOW_SECONDS` sets another.
 */
export const ADMISSION_WINDOW_MS = 30_000;
/**
 * Units per second the admission controller admits towards unless `ADMISSION_CAPACITY_UPS` says otherwise;
 * the drop plan turns a room on for a drop whose peak asks more than this (lib/config/capacity.ts).
 */
export const DEFAULT_ADMISSION_UNITS_PER_SECOND = 200;
/** Tickets issued before the start are ranked over this much key space before it (the pre-queue's shuffle). */
export const PRE_QUEUE_MS = 60_000;

/** The 403 codes of a refused admission token (edge and origin) or ticket (edge). */
export const ADMISSION_CODES = [
  'ADMISSION_REQUIRED',
  'ADMISSION_INVALID',
  'ADMISSION_EXPIRED',
  'ADMISSION_WRONG_SKU',
  'ADMISSION_WRONG_CUSTOMER',
] as const;
export type AdmissionCode = (typeof ADMISSION_CODES)[number];
export const TICKET_CODES = ['TICKET_INVALID', 'TICKET_WRONG_SKU', 'TICKET_WRONG_CUSTOMER'] as const;

/** The KeyValueStore key of the waiting room's signing keys: `{"active": id, "keys": {id: secret}}`. */
export const ADMISSION_KEYS_KEY = 'admission-keys';

/** The KeyValueStore key of a SKU's admission boundary, kept by the admission controller. */
export const roomKey = (sku: string): string => `room:${sku}`;

/** Seconds a shopper refused by a paused drop is asked to wait before trying again. */
export const DROP_PAUSED_RETRY_AFTER_SECONDS = 5;

export const DROP_STATE_SCHEMA = 'dropline.drops.state.v1';
/** The `type` attribute of a drop-state message on the inventory topic. */
export const DROP_STATE_EVENT_TYPE = 'drop-state-changed';

/** The CloudFront behaviour the edge function runs on (viewer request). */
export const EDGE_ADMISSION_PATH_PATTERN = '/products/*/reservations';
/** The waiting room's behaviour: `GET /drops/{sku}/queue`, answered by the same function. */
export const EDGE_QUEUE_PATH_PATTERN = '/drops/*/queue';

/** The local runtime's store: the embedded KeyValueStore answers for any ARN of this shape. */
export const LOCAL_EDGE_STORE_ARN = 'arn:aws:cloudfront::000000000000:key-value-store/dropline-local';

/** The edge's KeyValueStore key of a SKU's public drop state. */
export const edgeStateKey = (sku: string): string => `drop:${sku}`;
