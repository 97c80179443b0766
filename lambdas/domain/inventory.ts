/**
 * The inventory use cases: reserve, release, expire, restock, read. They hold
 * the rules; the store holds the atomicity (each state change is one
 * conditional transaction), so the rules stay true under any concurrency.
 */
import {
  type AdmissionCode,
  DROP_ACTIONS,
  DROP_PAUSED_RETRY_AFTER_SECONDS,
  type DropAction,
  ROOM_ACTIONS,
} from '../../contract/drops';
import { contentionRetries, jitteredBackoffMs } from '../../contract/retries';
import {
  AdmissionError,
  BusyError,
  DropClosedError,
  DropNotStartedError,
  DropPausedError,
  IdempotencyMismatchError,
  InvalidStateError,
  LimitExceededError,
  NotFoundError,
  SoldOutError,
  ValidationError,
} from './errors';
import type { Ledger, Product, Reservation } from './model';
import { sumCounts } from './model';
import type {
  AdmissionVerifier,
  Allocator,
  Clock,
  HoldEnding,
  InventoryStore,
  ProductChanges,
  ProductPutClaim,
} from './ports';
import type { Refunds } from './refunds';
import { defaultShardCount, isUnitCount, planAllocation, splitEvenly } from './stock';
import type { StockView } from './stock-view';

export interface InventoryDeps {
  /**
   * Whether an error is a transient fault of the platform (throttling,
   * timeouts), as opposed to a broken hold: a sweep leaves the first due for
   * its next pass and defers only the second as poison.
   */
  readonly isTransientFault: (error: unknown) => boolean;
  readonly store: InventoryStore;
  /** Refunds owed by holds that end unsold after a checkout was cleared to charge them. */
  readonly refunds: Refunds;
  readonly view: StockView;
  readonly clock: Clock;
  readonly newId: () => string;
  readonly sleep: (ms: number) => Promise<void>;
  readonly allocate?: Allocator;
  /** Shards the drop plan sized for a SKU, used when a product is created without `shards`. */
  readonly plannedShards?: Readonly<Record<string, number>>;
  /** Stock-vector replicas the drop plan sized for a SKU, set when it is created; 1 for any other SKU. */
  readonly plannedViewReplicas?: Readonly<Record<string, number>>;
}

export interface ReserveRequest {
  readonly sku: string;
  readonly customerId: string;
  readonly quantity: number;
  readonly idempotencyKey: string;
  /** The attempt's admission token and its checker, for a drop whose waiting room is on. */
  readonly admission?: {
    readonly token: string | undefined;
    readonly verifier: AdmissionVerifier;
    /** The edge found the token's turn passed (`TURN_PASSED_HEADER`): a retry's hold is replayed, no new one made. */
    readonly turnPassed?: boolean;
  };
}

export interface ReserveResult {
  readonly reservation: Reservation;
  /** True when the Idempotency-Key had already produced this reservation. */
  readonly replayed: boolean;
}

export interface ProductInput extends ProductChanges {
  readonly sku: string;
  readonly stock: number;
  readonly shards?: number;
  /**
   * Whether the drop starts with its waiting room on; set at creation only (an operator turns it on or off
   * after with `controlDrop`). @default false
   */
  readonly waitingRoom?: boolean;
}

export interface Availability {
  readonly product: Product;
  readonly available: number;
}

export const DEFAULT_MAX_PER_CUSTOMER = 2;
export const DEFAULT_HOLD_SECONDS = 300;
export const DEFAULT_CURRENCY = 'USD';

/** A hold whose expiry failed is retried after this long, behind the holds that are fine. */
export const POISON_HOLD_DEFER_MS = 5 * 60_000;

export interface ExpirySweep {
  readonly expired: number;
  /** Holds whose expiry failed this sweep (skipped, deferred, reported). */
  readonly failed: readonly string[];
  /** The stop time ended the sweep with holds maybe still due (they wait for the next one). */
  readonly stopped: boolean;
}

export interface UpsertResult {
  readonly product: Product;
  readonly created: boolean;
  /** True when this Idempotency-Key had already been used for this request: nothing changed this time. */
  readonly replayed: boolean;
}

export interface RestockRequest {
  readonly sku: string;
  readonly quantity: number;
  readonly idempotencyKey: string;
}

export interface RestockResult {
  readonly ledger: Ledger;
  /** True when this Idempotency-Key had already restocked: nothing was added this time. */
  readonly replayed: boolean;
}

/** No SKU can start with a dot, so the probe's read never finds (or costs more than) one small item. */
const PROBE_SKU = '.health';

/** Contention retries per request; each failed write still teaches the view the truth. */
const MAX_ATTEMPTS = contentionRetries.maxAttempts;
const EXPIRY_CONCURRENCY = 8;

export class Inventory {
  private readonly allocate: Allocator;

  constructor(private readonly deps: InventoryDeps) {
    this.allocate = deps.allocate ?? ((available, quantity) => planAllocation(available, quantity));
  }

  async reserve(request: ReserveRequest): Promise<ReserveResult> {
    if (!isUnitCount(request.quantity))
      throw new ValidationError('quantity must be a whole number of units, at least 1');
    // The budget counts from the request's start: the product read and the admission check spend it too.
    const giveUpAt = this.deps.clock.now() + contentionRetries.budgetMs;
    const product = await this.product(request.sku);
    const nowMs = this.deps.clock.now();
    // A retry of a request that made a hold gets its hold, even if the drop was paused, closed or postponed since.
    if (product.dropState === 'CLOSED') return this.replayOr(request, new DropClosedError());
    if (product.dropState === 'PAUSED') {
      return this.replayOr(request, new DropPausedError(DROP_PAUSED_RETRY_AFTER_SECONDS));
    }
    if (Date.parse(product.dropStartsAt) > nowMs) {
      return this.replayOr(request, new DropNotStartedError(product.dropStartsAt));
    }
    if (product.waitingRoom) {
      if (request.admission?.turnPassed) return this.replayOr(request, new AdmissionError('ADMISSION_EXPIRED'));
      let refused: AdmissionCode | undefined;
      try {
        refused = request.admission
          ? await request.admission.verifier.check(request.admission.token, product.sku, request.customerId)
          : 'ADMISSION_REQUIRED';
      } catch (error) {
        // The keys could not be read: a retry of an attempt that made a hold still gets it.
        return this.replayOr(request, error as Error);
      }
      if (refused) return this.replayOr(request, new AdmissionError(refused));
    }
    if (request.quantity > product.maxPerCustomer) {
      return this.replayOr(request, new LimitExceededError(product.maxPerCustomer));
    }

    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      const available = await this.availableByShard(product);
      const allocation = this.allocate(available, request.quantity);
      if (!allocation) {
        const total = available.reduce((sum, units) => sum + units, 0);
        return this.replayOr(request, new SoldOutError(total));
      }

      const placedAtMs = this.deps.clock.now();
      const expiresAtMs = placedAtMs + product.holdSeconds * 1000;
      const reservation: Reservation = {
        reservationId: this.deps.newId(),
        sku: product.sku,
        customerId: request.customerId,
        quantity: request.quantity,
        unitPriceCents: product.priceCents,
        currency: product.currency,
        status: 'HELD',
        expiresAt: new Date(expiresAtMs).toISOString(),
        allocation,
      };
      const outcome = await this.deps.store.placeHold({
        reservation,
        idempotencyKey: request.idempotencyKey,
        maxPerCustomer: product.maxPerCustomer,
        expiresAtMs,
      });
      switch (outcome.kind) {
        case 'placed':
          this.deps.view.take(product.sku, allocation);
          return { reservation, replayed: false };
        case 'duplicate':
          return this.replay(request, outcome.record.reservationId, outcome.record);
        case 'limit-exceeded':
          return this.replayOr(request, new LimitExceededError(product.maxPerCustomer));
        case 'shortfall':
          for (const [shard, units] of outcome.available) this.deps.view.correct(product.sku, shard, units);
          break;
        case 'contended':
          // Throttled tries take the SDK seconds each: past the budget, BUSY while there is time to say so.
          if (this.deps.clock.now() >= giveUpAt) throw new BusyError();
          await this.deps.sleep(jitteredBackoffMs(attempt));
          break;
      }
    }
    throw new BusyError();
  }

  async getReservation(reservationId: string): Promise<Reservation> {
    const reservation = await this.deps.store.getReservation(reservationId);
    if (!reservation) throw new NotFoundError('No such reservation');
    return reservation;
  }

  /**
   * Returns the hold's units to stock. A refund the hold owes is recorded in
   * the same transaction and tried at once; if the provider fails it stays
   * owed and the sweeper retries it. Releasing a released or expired hold
   * changes nothing but tries its owed refund again.
   */
  async release(reservationId: string): Promise<Reservation> {
    const reservation = await this.getReservation(reservationId);
    const nowMs = this.deps.clock.now();
    // A hold already past its expiry ends as EXPIRED (as the sweeper would end it), and the answer says so.
    const ending: HoldEnding = Date.parse(reservation.expiresAt) <= nowMs ? 'EXPIRED' : 'RELEASED';
    const { now } = await this.endHold(reservation, ending, nowMs);
    if (now.status === 'CONFIRMED') throw new InvalidStateError('The reservation is already confirmed');
    await this.deps.refunds.settle(now.reservationId);
    return now;
  }

  /**
   * Expires every HELD reservation that is due. Each hold is settled on its
   * own: one that fails (a poison hold) is skipped, moved behind the others
   * for a while and reported, and the sweep goes on. With `stopAfterMs`, no
   * chunk of expiries (`EXPIRY_CONCURRENCY` holds at once) is begun once the
   * clock has passed it (the first always is): the holds left stay due for
   * the next sweep, and the invocation ends before Lambda's timeout cuts it
   * off mid-page.
   */
  async expireDueHolds(batchSize = 100, stopAfterMs = Number.POSITIVE_INFINITY): Promise<ExpirySweep> {
    let expired = 0;
    const failed: string[] = [];
    for (;;) {
      const cutoffMs = this.deps.clock.now();
      const due = (await this.deps.store.listDueHolds(cutoffMs, batchSize)).filter((id) => !failed.includes(id));
      let expiredInBatch = 0;
      let failedInBatch = 0;
      for (let start = 0; start < due.length; start += EXPIRY_CONCURRENCY) {
        if (start > 0 && this.deps.clock.now() >= stopAfterMs) {
          return { expired: expired + expiredInBatch, failed, stopped: true };
        }
        const chunk = due.slice(start, start + EXPIRY_CONCURRENCY);
        const results = await Promise.allSettled(chunk.map((id) => this.expireOne(id, cutoffMs)));
        for (const [index, result] of results.entries()) {
          if (result.status === 'fulfilled') {
            if (result.value) expiredInBatch++;
            continue;
          }
          // Contention or throttling at the peak is not poison: the hold stays due for the next sweep.
          if (result.reason instanceof BusyError || this.deps.isTransientFault(result.reason)) continue;
          const id = chunk[index] as string;
          failed.push(id);
          failedInBatch++;
          await this.deps.store.deferHold(id, this.deps.clock.now() + POISON_HOLD_DEFER_MS).catch(() => undefined);
        }
      }
      expired += expiredInBatch;
      // A page of holds that were all ended elsewhere means the index lags: stop here. Failed holds
      // were moved behind the others, so a page of them is followed by the next page.
      if (due.length < batchSize || (expiredInBatch === 0 && failedInBatch === 0)) {
        return { expired, failed, stopped: false };
      }
      if (this.deps.clock.now() >= stopAfterMs) return { expired, failed, stopped: true };
    }
  }

  /**
   * Creates a product (stock and shards set once) or updates its settings.
   * Under an Idempotency-Key, a repeat of the same request changes nothing
   * and answers as the first did — so a retried PUT cannot undo a later one;
   * another request under the key is refused.
   */
  async upsertProduct(input: ProductInput, idempotencyKey?: string): Promise<UpsertResult> {
    const request = canonicalJson(input);
    if (idempotencyKey) {
      const prior = await this.deps.store.findProductPut(input.sku, idempotencyKey);
      if (prior) return this.replayPut(input.sku, prior, request);
    }
    const claim = (created: boolean) => (idempotencyKey ? { idempotencyKey, request, created } : undefined);
    const planned = this.deps.plannedShards?.[input.sku];
    const shards =
      input.shards ?? (planned ? Math.min(planned, Math.max(1, input.stock)) : defaultShardCount(input.stock));
    const product: Product = {
      sku: input.sku,
      name: input.name,
      priceCents: input.priceCents,
      currency: input.currency ?? DEFAULT_CURRENCY,
      maxPerCustomer: input.maxPerCustomer ?? DEFAULT_MAX_PER_CUSTOMER,
      holdSeconds: input.holdSeconds ?? DEFAULT_HOLD_SECONDS,
      dropStartsAt: input.dropStartsAt ?? new Date(this.deps.clock.now()).toISOString(),
      dropState: 'OPEN',
      waitingRoom: input.waitingRoom ?? false,
      shards,
      viewReplicas: this.deps.plannedViewReplicas?.[input.sku] ?? 1,
    };
    const created = await this.deps.store.createProduct(product, splitEvenly(input.stock, shards), claim(true));
    this.deps.view.forget(input.sku);
    if (created === 'created') return { product, created: true, replayed: false };
    const { sku: _sku, stock: _stock, shards: _shards, waitingRoom: _room, ...changes } = input;
    const updated =
      created === 'duplicate' ? created : await this.deps.store.updateProduct(input.sku, changes, claim(false));
    if (updated !== 'duplicate') return { product: updated, created: false, replayed: false };
    // The same key raced this request in: answer as its first use did.
    const prior = idempotencyKey ? await this.deps.store.findProductPut(input.sku, idempotencyKey) : undefined;
    if (!prior) throw new BusyError();
    return this.replayPut(input.sku, prior, request);
  }

  /**
   * The operator's pause, resume or close. Holds already placed stay as they are (they can still be paid
   * for, released or expire); only new ones are refused, by this environment at once and by the others
   * within their product view's lifetime. Closing is final: a closed drop is neither paused nor resumed.
   * Repeating an action changes nothing.
   */
  async controlDrop(sku: string, action: DropAction): Promise<Product> {
    await this.product(sku, { fresh: true });
    if (action === 'waiting-room-on' || action === 'waiting-room-off') {
      const product = await this.deps.store.changeWaitingRoom(sku, ROOM_ACTIONS[action]);
      this.deps.view.forget(sku);
      return product;
    }
    const state = DROP_ACTIONS[action];
    const { product } = await this.deps.store.changeDropState(sku, state, (current) => current !== 'CLOSED');
    this.deps.view.forget(sku);
    if (product.dropState !== state) throw new InvalidStateError('The drop is closed: it cannot be paused or resumed');
    return product;
  }

  /** Adds units once per Idempotency-Key: a retry after a lost answer adds nothing more. */
  async restock(request: RestockRequest): Promise<RestockResult> {
    const { sku, quantity, idempotencyKey } = request;
    if (!isUnitCount(quantity)) throw new ValidationError('quantity must be a whole number of units, at least 1');
    const product = await this.product(sku, { fresh: true });
    for (let attempt = 0; ; attempt++) {
      const outcome = await this.deps.store.restock(sku, splitEvenly(quantity, product.shards), idempotencyKey);
      if (outcome.kind === 'duplicate' && outcome.quantity !== quantity) throw new IdempotencyMismatchError();
      if (outcome.kind !== 'contended') {
        this.deps.view.forget(sku);
        return { ledger: await this.ledger(sku), replayed: outcome.kind === 'duplicate' };
      }
      if (attempt + 1 >= MAX_ATTEMPTS) throw new BusyError();
      await this.deps.sleep(jitteredBackoffMs(attempt));
    }
  }

  async ledger(sku: string): Promise<Ledger> {
    const product = await this.product(sku, { fresh: true });
    const shards = await this.deps.store.readShards(sku, product.shards, { consistent: true });
    return { sku, ...sumCounts(shards) };
  }

  /** The hot read of a drop: answered from the view when it is fresh. */
  async availability(sku: string): Promise<Availability> {
    const product = await this.product(sku);
    const available = (await this.availableByShard(product)).reduce((sum, units) => sum + units, 0);
    return { product, available };
  }

  /**
   * A product's settings, from the view while fresh. The hot path reads them
   * eventually consistent (half the cost on the one item every environment
   * reads); a miss is confirmed with a strongly consistent read, so a product
   * created a moment ago is never answered 404.
   */
  async product(sku: string, options: { fresh?: boolean } = {}): Promise<Product> {
    const cached = options.fresh ? undefined : this.deps.view.product(sku);
    if (cached) return cached;
    const product =
      (options.fresh ? undefined : await this.deps.store.getProduct(sku, { consistent: false })) ??
      (await this.deps.store.getProduct(sku, { consistent: true }));
    if (!product) throw new NotFoundError('No such product');
    this.deps.view.rememberProduct(product);
    return product;
  }

  /** One small read of the table, for a health check: it answers when the data path does. */
  async probe(): Promise<void> {
    await this.deps.store.getProduct(PROBE_SKU);
  }

  /**
   * Each shard's units as this environment believes them. Refreshed from the
   * small stock-vector item (this environment's replica of it) — one read per
   * environment per view lifetime, whatever the shard count — or from the shards
   * themselves until the relay has seen them all. With the view off
   * (`ttlMs` 0) every decision reads the shards.
   */
  private async availableByShard(product: Product): Promise<readonly number[]> {
    const cached = this.deps.view.available(product.sku);
    if (cached) return cached;
    return this.deps.view.refresh(product.sku, async () => {
      if (this.deps.view.ttlMs > 0) {
        const vector = await this.deps.store.readStockVector(product.sku, product.viewReplicas);
        if (vector?.length === product.shards) return vector;
      }
      return (await this.deps.store.readShards(product.sku, product.shards, { consistent: false })).map(
        (shard) => shard.available,
      );
    });
  }

  private async replayPut(sku: string, prior: ProductPutClaim, request: string): Promise<UpsertResult> {
    if (prior.request !== request) throw new IdempotencyMismatchError();
    return { product: await this.product(sku, { fresh: true }), created: prior.created, replayed: true };
  }

  /** A refused attempt may be the retry of one that succeeded: answer the retry with its reservation. */
  private async replayOr(request: ReserveRequest, refusal: Error): Promise<ReserveResult> {
    const record = await this.deps.store.findIdempotencyRecord(request.customerId, request.idempotencyKey);
    if (!record) throw refusal;
    return this.replay(request, record.reservationId, record);
  }

  private async replay(
    request: ReserveRequest,
    reservationId: string,
    original: { sku: string; quantity: number },
  ): Promise<ReserveResult> {
    // The key is the customer's own, so only the rest of the request is compared.
    const sameRequest = original.sku === request.sku && original.quantity === request.quantity;
    if (!sameRequest) throw new IdempotencyMismatchError();
    return { reservation: await this.getReservation(reservationId), replayed: true };
  }

  private async expireOne(reservationId: string, cutoffMs: number): Promise<boolean> {
    const reservation = await this.deps.store.getReservation(reservationId);
    if (reservation?.status !== 'HELD') return false;
    if (Date.parse(reservation.expiresAt) > cutoffMs) return false;
    const { changed } = await this.endHold(reservation, 'EXPIRED', cutoffMs);
    // The sweep's own refund pass retries whatever this attempt leaves owed: a failure here is not a poison hold.
    if (changed) await this.deps.refunds.settle(reservationId).catch(() => undefined);
    return changed;
  }

  /**
   * Moves a HELD reservation to `ending` exactly once, recording the refund it
   * owes if a checkout was cleared to charge it. Returns the reservation as it
   * now stands, and whether this call was the one that moved it.
   */
  private async endHold(
    reservation: Reservation,
    ending: HoldEnding,
    nowMs: number,
  ): Promise<{ now: Reservation; changed: boolean }> {
    let current = reservation;
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      if (current.status !== 'HELD') return { now: current, changed: false };
      const outcome = await this.deps.store.endHold(current, ending, nowMs, this.deps.refunds.owedBy(current));
      if (outcome.kind === 'ended') {
        this.deps.view.forget(current.sku);
        return { now: { ...current, status: ending }, changed: true };
      }
      if (outcome.kind === 'not-held') {
        if (!outcome.current) throw new NotFoundError('No such reservation');
        const clearedMeanwhile = outcome.current.lastChargeAttemptAtMs !== current.lastChargeAttemptAtMs;
        // Still HELD with the same clearance: not due yet. A new clearance: end it with the refund it now owes.
        if (outcome.current.status === 'HELD' && !clearedMeanwhile) return { now: outcome.current, changed: false };
        current = outcome.current;
        continue;
      }
      await this.deps.sleep(jitteredBackoffMs(attempt));
    }
    throw new BusyError();
  }
}

/** JSON with keys in a fixed order, so the same request always reads the same. */
function canonicalJson(value: object): string {
  return JSON.stringify(Object.fromEntries(Object.entries(value).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))));
}
