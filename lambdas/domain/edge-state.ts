/**
 * Each drop's public state at the edge: what the edge function (`edge/admission.js`) answers from without
 * reaching the API. Folded from the inventory topic's news — stock snapshots (newer versions only) and
 * drop-state changes (newer product revisions only) — so a duplicate or a straggler never sets it back.
 */
import { edgeStateKey } from '../../contract/drops';
import type { DropStateEvent, EdgeDropState } from '../../contract/edge-values';
import type { StockEvent } from '../../contract/messages';
import type { Clock, InventoryStore } from './ports';

/** The KeyValueStore the edge reads; a write is conditional on the store as read, and retried by the adapter. */
export interface EdgeStateStore {
  read(key: string): Promise<EdgeDropState | undefined>;
  write(key: string, value: EdgeDropState): Promise<void>;
}

export type EdgeNews = StockEvent | DropStateEvent;

/** The KeyValueStore as JSON values (each key has one writer), and its keys by prefix. */
export interface EdgeKeyValues {
  read(key: string): Promise<unknown>;
  write(key: string, value: unknown): Promise<void>;
  keys(prefix: string): Promise<string[]>;
}

/** Stock unknown: the edge claims nothing about it until the first snapshot. */
const UNKNOWN = -1;

/** Units ever taken by the snapshot's count, or unknown when its publisher did not say what came back. */
function takenOf(news: StockEvent): number {
  return news.returned === undefined ? UNKNOWN : news.held + news.sold + news.returned;
}

/**
 * What the edge refuses a reservation on: the drop's state, its start, the waiting room, and a sell-out for
 * good (nothing available, nothing held). Units taken or coming back while some remain change none of it.
 */
function refusalBasis(state: EdgeDropState): string {
  return JSON.stringify([state.state, state.startsAt, state.room, state.available === 0 && state.held === 0]);
}

/**
 * The state after `news`, or undefined when the news is old. News that moves a version on is always kept
 * (else an older straggler could apply after it), so a change of `taken` or of the counts alone is written
 * too, for the admission controller and the queue. `since` moves only when what the edge refuses a
 * reservation on changed: the edge passes an attempt whose key was minted before `since` to the origin as a
 * possible retry, so a `since` that moved with every unit taken would let every attempt of a busy drop
 * through, admission tokens unchecked.
 */
export function foldEdgeState(current: EdgeDropState, news: EdgeNews, nowMs: number): EdgeDropState | undefined {
  let next: EdgeDropState;
  if (news.type === 'drop-state-changed') {
    if (news.revision <= current.revision) return undefined;
    next = {
      ...current,
      state: news.state,
      startsAt: news.startsAt,
      room: news.room,
      revision: news.revision,
      ...(news.holdSeconds === undefined ? {} : { holdSeconds: news.holdSeconds }),
    };
  } else {
    if (news.version <= current.stockVersion) return undefined;
    next = {
      ...current,
      available: news.available,
      held: news.held,
      stockVersion: news.version,
      taken: takenOf(news),
    };
  }
  return withRoomSince(refusalBasis(next) === refusalBasis(current) ? next : { ...next, since: nowMs }, current, nowMs);
}

/**
 * `roomSince`: when the waiting room was last turned on, by the writer's clock (so after the product's
 * change). The edge checks the admission of an attempt whose key was minted after it (+skew) even when the
 * attempt may be a retry: its first attempt had to show one too. Absent while the room is off.
 */
function withRoomSince(next: EdgeDropState, current: EdgeDropState, nowMs: number): EdgeDropState {
  const { roomSince: _previous, ...rest } = next;
  if (!next.room) return rest;
  return current.room && current.roomSince !== undefined ? next : { ...rest, roomSince: nowMs };
}

export interface EdgeStatesDeps {
  readonly store: EdgeStateStore;
  readonly products: Pick<InventoryStore, 'getProduct'>;
  readonly clock: Clock;
}

export class EdgeStates {
  constructor(private readonly deps: EdgeStatesDeps) {}

  /** Applies one piece of news; true when the edge's value changed. */
  async apply(news: EdgeNews): Promise<boolean> {
    return (await this.applyAll([news])).length > 0;
  }

  /**
   * Applies one SKU's news in order with one read and at most one write: a batch of ten snapshots costs the
   * KeyValueStore one conditional write, not ten (each write is conditional on the whole store's ETag, so
   * every write also makes the other writers' next one read it again). Answers the news that changed the
   * value, in order. The value written is the one each piece in turn would have left.
   */
  async applyAll(news: readonly EdgeNews[]): Promise<EdgeNews[]> {
    const [first] = news;
    if (first === undefined) return [];
    if (news.some((piece) => piece.sku !== first.sku)) throw new Error('applyAll takes one SKU’s news');
    const key = edgeStateKey(first.sku);
    const stored = await this.deps.store.read(key);
    let current = stored;
    let from = 0;
    // Nothing stored yet: the first piece the value can start from (stock news of a product that does not
    // read cannot; a drop-state change after it can), as applying them one by one would.
    while (!current && from < news.length) {
      current = await this.initial(news[from] as EdgeNews);
      if (!current) from++;
    }
    if (!current) return [];
    const applied: EdgeNews[] = [];
    for (const piece of news.slice(from)) {
      const folded = foldEdgeState(current, piece, this.deps.clock.now());
      if (!folded) continue;
      current = folded;
      applied.push(piece);
    }
    if (applied.length === 0) return [];
    await this.deps.store.write(key, stored ? await this.withHold(current, first.sku) : current);
    return applied;
  }

  /**
   * A value written before the drop's hold time was carried learns it from the product (once: the next write
   * keeps it), so that its waiting room's window is not longer than half a hold until the drop next changes.
   */
  private async withHold(next: EdgeDropState, sku: string): Promise<EdgeDropState> {
    if (next.holdSeconds !== undefined) return next;
    // Best effort: the news is written either way, and the next news asks again.
    const product = await this.deps.products.getProduct(sku, { consistent: false }).catch(() => undefined);
    const holdSeconds = product?.holdSeconds;
    return Number.isInteger(holdSeconds) && (holdSeconds as number) >= 1 ? { ...next, holdSeconds } : next;
  }

  /** A SKU the edge has not seen yet: its drop state from the product, its stock unknown. */
  private async initial(news: EdgeNews): Promise<EdgeDropState | undefined> {
    // `since` is now: an attempt made before the edge had a value for the SKU may be the retry of a hold.
    const since = this.deps.clock.now();
    const base = { v: 1, available: UNKNOWN, held: UNKNOWN, stockVersion: UNKNOWN, taken: UNKNOWN, since } as const;
    if (news.type === 'drop-state-changed') {
      const hold = news.holdSeconds === undefined ? {} : { holdSeconds: news.holdSeconds };
      const room = news.room ? { roomSince: since } : {};
      return {
        ...base,
        state: news.state,
        startsAt: news.startsAt,
        room: news.room,
        revision: UNKNOWN,
        ...hold,
        ...room,
      };
    }
    const product = await this.deps.products.getProduct(news.sku, { consistent: true });
    // Stock news of a product that no longer reads: nothing the edge could answer for.
    if (!product) return undefined;
    // The product's own revision: a drop-state event older than what was just read never applies after it.
    return {
      ...base,
      state: product.dropState,
      startsAt: product.dropStartsAt,
      room: product.waitingRoom,
      ...(product.waitingRoom ? { roomSince: since } : {}),
      holdSeconds: product.holdSeconds,
      revision: product.revision ?? UNKNOWN,
    };
  }
}
