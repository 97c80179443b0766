/**
 * The inventory store in memory, with the conditions the DynamoDB store's
 * transactions enforce (lambdas/adapters/dynamodb-inventory-store.ts), and
 * the snapshots and stock vector the relay keeps beside the shards
 * (lambdas/adapters/dynamodb-stock-snapshots.ts), over the same items: each
 * write checks all of its conditions and then applies all of its changes, or
 * none, with no await in between, so a write is as atomic here as there. The
 * outcomes are the store's, in its order of precedence.
 *
 * What it leaves out: every read answers what stands (DynamoDB's expiry index
 * lags; plan an interleaving to end a hold between a listing and its read),
 * the stock vector moves only when it is written (as the relay and the
 * sweeper do), product replicas are not kept (every product read answers the
 * product), a wide product or restock is one write rather than several, and
 * item TTLs never pass.
 */

import { replicaFor } from '../../../contract/stock-view';
import { LedgerInvariantError } from '../../../lambdas/domain/errors';
import type * as model from '../../../lambdas/domain/model';
import { emptyCounts, sumCounts } from '../../../lambdas/domain/model';
import type * as ports from '../../../lambdas/domain/ports';
import { allocationEntries } from '../../../lambdas/domain/stock';
import { FaultPlan } from './faults';

type StoreMethod = keyof ports.InventoryStore | keyof ports.StockSnapshotStore | keyof ports.OutboxReader;
/** The writes whose outcome can be "contended": a transaction conflict or throttling, nothing written. */
type ContendableWrite = 'placeHold' | 'endHold' | 'clearCharge' | 'confirmHold' | 'restock';

/** What DynamoDB answers a write whose condition fails outside the outcomes the store decodes. */
export class ConditionFailedError extends Error {
  constructor(what: string) {
    super(`The conditional request failed: ${what}`);
    this.name = 'ConditionFailedError';
  }
}

/** A stock shard item: its counters and its version, which grows with every write to it. */
type Shard = { -readonly [Counter in keyof model.ShardCounts]: number } & { version: number };

interface ReservationRow {
  reservation: model.Reservation;
  readonly idempotencyKey: string;
  readonly expiresAtMs: number;
  /** The expiry index's key: set while HELD, moved by a deferral, removed when the hold ends. */
  dueAtMs: number | undefined;
}

interface RefundRow {
  refund: model.OwedRefund;
  /** The expiry index's key while OWED. */
  dueAtMs: number | undefined;
}

export class InMemoryInventoryStore implements ports.InventoryStore, ports.StockSnapshotStore, ports.OutboxReader {
  readonly faults = new FaultPlan<StoreMethod, ContendableWrite>();

  private readonly products = new Map<string, model.Product>();
  private readonly productPuts = new Map<string, ports.ProductPutClaim>();
  private readonly shards = new Map<string, Shard>();
  private readonly limits = new Map<string, number>();
  private readonly reservations = new Map<string, ReservationRow>();
  private readonly idempotency = new Map<string, ports.IdempotencyRecord>();
  private readonly refunds = new Map<string, RefundRow>();
  private readonly orders = new Map<string, model.Order>();
  private readonly restocks = new Map<string, number>();
  private readonly snapshots = new Map<string, Map<number, model.ShardImage>>();
  /** Each SKU's stock-vector replicas, by replica. */
  private readonly stockVectors = new Map<string, Map<number, { version: number; available: number[] }>>();
  /** The seed that picks the replica this store reads, as each execution environment's store has one. */
  replicaSeed = 0;

  /** Units a customer holds or bought of a SKU, as the limit item counts them. */
  unitsCountedFor(sku: string, customerId: string): number {
    return this.limits.get(`${sku}#${customerId}`) ?? 0;
  }

  /** Where a hold sits in the expiry index, undefined once it ended. */
  dueAtMs(reservationId: string): number | undefined {
    return this.reservations.get(reservationId)?.dueAtMs;
  }

  /** Puts a reservation as a broken writer might have left it (a poison hold): no stock, limit or key is touched. */
  plantReservation(reservation: model.Reservation): void {
    const expiresAtMs = Date.parse(reservation.expiresAt);
    this.reservations.set(reservation.reservationId, {
      reservation: copy(reservation),
      idempotencyKey: `planted-${reservation.reservationId}`,
      expiresAtMs,
      dueAtMs: reservation.status === 'HELD' ? expiresAtMs : undefined,
    });
  }

  async getProduct(sku: string): Promise<model.Product | undefined> {
    return this.run('getProduct', () => copy(this.products.get(sku)));
  }

  async readStockVector(sku: string, replicas: number): Promise<readonly number[] | undefined> {
    return this.run('readStockVector', () =>
      copy(this.stockVectors.get(sku)?.get(replicaFor(this.replicaSeed, replicas))?.available),
    );
  }

  /** The version each replica of the SKU's stock vector holds, by replica. */
  stockVectorReplicas(sku: string): ReadonlyMap<number, number> {
    return new Map([...(this.stockVectors.get(sku) ?? [])].map(([replica, vector]) => [replica, vector.version]));
  }

  async createProduct(
    product: model.Product,
    stockPerShard: readonly number[],
    claim?: ports.ProductPutClaim,
  ): Promise<'created' | 'exists' | 'duplicate'> {
    return this.run('createProduct', () => {
      if (claim && this.productPuts.has(`${product.sku}#${claim.idempotencyKey}`)) return 'duplicate';
      if (this.products.has(product.sku)) return 'exists';
      if (stockPerShard.some((_, shard) => this.shards.has(shardKey(product.sku, shard)))) {
        throw new ConditionFailedError(`shards of ${product.sku} exist without their product`);
      }
      this.products.set(product.sku, copy(product));
      for (const [shard, units] of stockPerShard.entries()) {
        this.shards.set(shardKey(product.sku, shard), {
          ...emptyCounts,
          supplied: units,
          available: units,
          version: 0,
        });
      }
      if (claim) this.productPuts.set(`${product.sku}#${claim.idempotencyKey}`, copy(claim));
      return 'created';
    });
  }

  async updateProduct(
    sku: string,
    changes: ports.ProductChanges,
    claim?: ports.ProductPutClaim,
  ): Promise<model.Product | 'duplicate'> {
    return this.run('updateProduct', () => {
      if (claim && this.productPuts.has(`${sku}#${claim.idempotencyKey}`)) return 'duplicate';
      const product = this.products.get(sku);
      if (!product) throw new ConditionFailedError(`no product ${sku}`);
      const set = Object.fromEntries(Object.entries(changes).filter(([, value]) => value !== undefined));
      const updated = { ...product, ...set };
      this.products.set(sku, updated);
      if (claim) this.productPuts.set(`${sku}#${claim.idempotencyKey}`, copy(claim));
      return copy(updated);
    });
  }

  async changeDropState(
    sku: string,
    state: model.Product['dropState'],
    allowed: (current: model.Product['dropState']) => boolean,
  ): Promise<{ readonly product: model.Product; readonly changed: boolean }> {
    return this.run('changeDropState', () => {
      const product = this.products.get(sku);
      if (!product) throw new ConditionFailedError(`no product ${sku}`);
      if (product.dropState === state || !allowed(product.dropState)) return { product: copy(product), changed: false };
      const updated = { ...product, dropState: state };
      this.products.set(sku, updated);
      return { product: copy(updated), changed: true };
    });
  }

  async changeWaitingRoom(sku: string, on: boolean): Promise<model.Product> {
    return this.run('changeWaitingRoom', () => {
      const product = this.products.get(sku);
      if (!product) throw new ConditionFailedError(`no product ${sku}`);
      const updated = { ...product, waitingRoom: on };
      this.products.set(sku, updated);
      return copy(updated);
    });
  }

  async findProductPut(sku: string, idempotencyKey: string): Promise<ports.ProductPutClaim | undefined> {
    return this.run('findProductPut', () => copy(this.productPuts.get(`${sku}#${idempotencyKey}`)));
  }

  async readShards(sku: string, shards: number): Promise<model.ShardCounts[]> {
    return this.run('readShards', () =>
      Array.from({ length: shards }, (_, shard) => counts(this.shards.get(shardKey(sku, shard)))),
    );
  }

  /**
   * Stock from every allocated shard, the customer's limit, the reservation
   * and the Idempotency-Key's record, all or nothing. A used key wins over a
   * reached limit, which wins over a short shard.
   */
  async placeHold(input: ports.PlaceHoldInput): Promise<ports.PlaceHoldOutcome> {
    return this.run<ports.PlaceHoldOutcome>(
      'placeHold',
      () => {
        const { reservation, idempotencyKey, maxPerCustomer, expiresAtMs } = input;
        const record = this.idempotency.get(`${reservation.customerId}#${idempotencyKey}`);
        if (record) return { kind: 'duplicate', record: copy(record) };
        const limitKey = `${reservation.sku}#${reservation.customerId}`;
        const counted = this.limits.get(limitKey);
        if (counted !== undefined && counted > maxPerCustomer - reservation.quantity) return { kind: 'limit-exceeded' };
        const entries = allocationEntries(reservation.allocation);
        const short = entries.flatMap(([shard, units]) => {
          const available = this.shards.get(shardKey(reservation.sku, shard))?.available ?? 0;
          return available >= units ? [] : [[shard, available] as const];
        });
        if (short.length > 0) return { kind: 'shortfall', available: short };
        if (this.reservations.has(reservation.reservationId)) return { kind: 'contended' };

        for (const [shard, units] of entries) {
          const item = this.shards.get(shardKey(reservation.sku, shard)) as Shard;
          item.available -= units;
          item.held += units;
          item.version++;
        }
        this.limits.set(limitKey, (counted ?? 0) + reservation.quantity);
        this.reservations.set(reservation.reservationId, {
          reservation: copy(reservation),
          idempotencyKey,
          expiresAtMs,
          dueAtMs: expiresAtMs,
        });
        this.idempotency.set(`${reservation.customerId}#${idempotencyKey}`, {
          idempotencyKey,
          reservationId: reservation.reservationId,
          sku: reservation.sku,
          customerId: reservation.customerId,
          quantity: reservation.quantity,
        });
        return { kind: 'placed' };
      },
      { kind: 'contended' },
    );
  }

  async findIdempotencyRecord(
    customerId: string,
    idempotencyKey: string,
  ): Promise<ports.IdempotencyRecord | undefined> {
    return this.run('findIdempotencyRecord', () => copy(this.idempotency.get(`${customerId}#${idempotencyKey}`)));
  }

  async getReservation(reservationId: string): Promise<model.Reservation | undefined> {
    return this.run('getReservation', () => copy(this.reservations.get(reservationId)?.reservation));
  }

  /**
   * HELD → `ending` only on the hold as given (same clearance, and due at
   * `nowMs` when it expires); its units back, the customer's limit given back
   * and the refund it owes recorded, all or nothing.
   */
  async endHold(
    reservation: model.Reservation,
    ending: ports.HoldEnding,
    nowMs: number,
    refundOwed?: ports.RefundOwed,
  ): Promise<ports.EndHoldOutcome> {
    return this.run<ports.EndHoldOutcome>(
      'endHold',
      () => {
        const row = this.reservations.get(reservation.reservationId);
        const stillAsGiven =
          row?.reservation.status === 'HELD' &&
          (ending === 'RELEASED' || row.expiresAtMs <= nowMs) &&
          row.reservation.lastChargeAttemptAtMs === reservation.lastChargeAttemptAtMs;
        if (!row || !stillAsGiven) return { kind: 'not-held', current: copy(row?.reservation) };
        const shards = this.shardsHolding(reservation);
        // Refunds are keyed by reservation and a hold ends once: a refund already there cancels the write.
        if (refundOwed && this.refunds.has(reservation.reservationId)) return { kind: 'contended' };

        const counter = ending === 'RELEASED' ? 'released' : 'expired';
        for (const [shard, units] of shards) {
          shard.available += units;
          shard.held -= units;
          shard[counter] += units;
          shard.version++;
        }
        const limitKey = `${reservation.sku}#${reservation.customerId}`;
        this.limits.set(limitKey, (this.limits.get(limitKey) ?? 0) - reservation.quantity);
        row.reservation = { ...row.reservation, status: ending };
        row.dueAtMs = undefined;
        if (refundOwed) {
          this.refunds.set(reservation.reservationId, {
            refund: {
              reservationId: reservation.reservationId,
              sku: reservation.sku,
              chargeKey: refundOwed.chargeKey,
              status: 'OWED',
              owedSinceMs: nowMs,
              chargeWindowEndsAtMs: refundOwed.chargeWindowEndsAtMs,
              attempts: 0,
            },
            dueAtMs: nowMs,
          });
        }
        return { kind: 'ended' };
      },
      { kind: 'contended' },
    );
  }

  async clearCharge(reservationId: string, nowMs: number): Promise<ports.ChargeClearance> {
    return this.run<ports.ChargeClearance>(
      'clearCharge',
      () => {
        const row = this.reservations.get(reservationId);
        if (row?.reservation.status !== 'HELD' || row.expiresAtMs <= nowMs) {
          return { kind: 'not-held', current: copy(row?.reservation) };
        }
        row.reservation = { ...row.reservation, lastChargeAttemptAtMs: nowMs };
        return { kind: 'cleared', reservation: copy(row.reservation) };
      },
      { kind: 'contended' },
    );
  }

  /** Units added to every shard once per (sku, Idempotency-Key); the key's record says what that restock asked. */
  async restock(sku: string, unitsPerShard: readonly number[], idempotencyKey: string): Promise<ports.RestockOutcome> {
    return this.run<ports.RestockOutcome>(
      'restock',
      () => {
        const quantity = unitsPerShard.reduce((sum, units) => sum + units, 0);
        const recorded = this.restocks.get(`${sku}#${idempotencyKey}`);
        if (recorded !== undefined) return { kind: 'duplicate', quantity: recorded };
        const additions = unitsPerShard.flatMap((units, shard) => (units === 0 ? [] : [[shard, units] as const]));
        if (additions.some(([shard]) => !this.shards.has(shardKey(sku, shard)))) throw new LedgerInvariantError(sku);
        for (const [shard, units] of additions) {
          const item = this.shards.get(shardKey(sku, shard)) as Shard;
          item.supplied += units;
          item.available += units;
          item.version++;
        }
        this.restocks.set(`${sku}#${idempotencyKey}`, quantity);
        return { kind: 'restocked' };
      },
      { kind: 'contended' },
    );
  }

  async listDueHolds(nowMs: number, limit: number): Promise<string[]> {
    return this.run('listDueHolds', () => dueFirst(this.reservations, nowMs, limit));
  }

  async deferHold(reservationId: string, untilMs: number): Promise<void> {
    return this.run('deferHold', () => {
      const row = this.reservations.get(reservationId);
      if (row?.reservation.status === 'HELD' && row.dueAtMs !== undefined) row.dueAtMs = untilMs;
    });
  }

  /** HELD and not due at `nowMs` → CONFIRMED, units held → sold, the order recorded; the limit keeps counting them. */
  async confirmHold(reservation: model.Reservation, order: model.Order, nowMs: number): Promise<ports.EndHoldOutcome> {
    return this.run<ports.EndHoldOutcome>(
      'confirmHold',
      () => {
        const row = this.reservations.get(reservation.reservationId);
        if (row?.reservation.status !== 'HELD' || row.expiresAtMs <= nowMs) {
          return { kind: 'not-held', current: copy(row?.reservation) };
        }
        const shards = this.shardsHolding(reservation);
        if (this.orders.has(order.orderId)) return { kind: 'contended' };

        for (const [shard, units] of shards) {
          shard.held -= units;
          shard.sold += units;
          shard.version++;
        }
        row.reservation = { ...row.reservation, status: 'CONFIRMED', orderId: order.orderId };
        row.dueAtMs = undefined;
        this.orders.set(order.orderId, copy(order));
        return { kind: 'ended' };
      },
      { kind: 'contended' },
    );
  }

  async getOrder(orderId: string): Promise<model.Order | undefined> {
    return this.run('getOrder', () => copy(this.orders.get(orderId)));
  }

  async markFulfilled(orderId: string): Promise<boolean> {
    return this.run('markFulfilled', () => {
      const order = this.orders.get(orderId);
      if (order?.status !== 'PLACED') return false;
      this.orders.set(orderId, { ...order, status: 'FULFILLED' });
      return true;
    });
  }

  async getRefund(reservationId: string): Promise<model.OwedRefund | undefined> {
    return this.run('getRefund', () => copy(this.refunds.get(reservationId)?.refund));
  }

  async listDueRefunds(nowMs: number, limit: number): Promise<string[]> {
    return this.run('listDueRefunds', () => dueFirst(this.refunds, nowMs, limit));
  }

  async closeRefund(reservationId: string, status: Exclude<model.RefundStatus, 'OWED'>): Promise<boolean> {
    return this.run('closeRefund', () => {
      const row = this.refunds.get(reservationId);
      if (row?.refund.status !== 'OWED') return false;
      row.refund = { ...row.refund, status };
      row.dueAtMs = undefined;
      return true;
    });
  }

  async rescheduleRefund(reservationId: string, nextAttemptAtMs: number, attempts: number): Promise<void> {
    return this.run('rescheduleRefund', () => {
      const row = this.refunds.get(reservationId);
      if (row?.refund.status !== 'OWED') return;
      row.refund = { ...row.refund, attempts };
      row.dueAtMs = nextAttemptAtMs;
    });
  }

  async snapshot(sku: string, shards: number): Promise<model.StockSnapshot> {
    return this.run('snapshot', () => compose(sku, this.images(sku, shards)));
  }

  async shardImages(sku: string, shards: number): Promise<model.ShardImage[]> {
    return this.run('shardImages', () => this.images(sku, shards));
  }

  async readShardImages(sku: string, shards: number): Promise<model.ShardImage[]> {
    return this.run('readShardImages', () => this.images(sku, shards));
  }

  /** Keeps each image only when newer than the one held. */
  async mergeShardImages(
    sku: string,
    images: readonly model.ShardImage[],
    shards: number,
  ): Promise<model.ShardImage[] | undefined> {
    return this.run('mergeShardImages', () => {
      const held = this.fold(sku, images);
      const all = Array.from({ length: shards }, (_, shard) => held.get(shard));
      if (all.some((image) => image === undefined)) return undefined;
      return copy(all as model.ShardImage[]);
    });
  }

  /** Each replica only moves forward. */
  async writeStockVector(sku: string, version: number, available: readonly number[], replicas: number): Promise<void> {
    return this.run('writeStockVector', () => {
      const held = this.stockVectors.get(sku) ?? new Map<number, { version: number; available: number[] }>();
      for (let replica = 0; replica < replicas; replica++) {
        if ((held.get(replica)?.version ?? -1) < version) held.set(replica, { version, available: [...available] });
      }
      this.stockVectors.set(sku, held);
    });
  }

  async listReplicatedSkus(limit: number): Promise<string[]> {
    return this.run('listReplicatedSkus', () =>
      [...this.products.values()]
        .filter((product) => product.viewReplicas > 1)
        .map((product) => product.sku)
        .slice(0, limit),
    );
  }

  async foldShardImages(sku: string, images: readonly model.ShardImage[]): Promise<void> {
    return this.run('foldShardImages', () => {
      this.fold(sku, images);
    });
  }

  async stockVectorVersion(sku: string): Promise<number | undefined> {
    return this.run('stockVectorVersion', () => this.stockVectors.get(sku)?.get(0)?.version);
  }

  async listStockVectors(limit: number): Promise<string[]> {
    return this.run('listStockVectors', () =>
      [...this.stockVectors]
        .filter(([, replicas]) => replicas.has(0))
        .map(([sku]) => sku)
        .slice(0, limit),
    );
  }

  /** Orders still PLACED and every product's SKU, `pageSize` items a page, as the table's Scan reads them. */
  async *scanOutbox(pageSize = 500): AsyncGenerator<ports.OutboxPage> {
    const items = await this.run('scanOutbox', () => [
      ...[...this.products.keys()].map((sku) => ({ sku })),
      ...[...this.orders.values()].map((order) => ({ order: copy(order) })),
    ]);
    for (let start = 0; start === 0 || start < items.length; start += pageSize) {
      const page = items.slice(start, start + pageSize);
      yield {
        scanned: page.length,
        placed: page.flatMap((item) => ('order' in item && item.order.status === 'PLACED' ? [item.order] : [])),
        skus: page.flatMap((item) => ('sku' in item ? [item.sku] : [])),
      };
    }
  }

  /**
   * One call: the planned fault or interleaving first, then the effect with
   * no await inside it (so nothing interleaves with a write), then a lost
   * answer if one is planned.
   */
  private async run<T>(method: StoreMethod, effect: () => T, contended?: T): Promise<T> {
    if ((await this.faults.enter(method)) === 'contended' && contended) return contended;
    const result = effect();
    this.faults.leave(method);
    return result;
  }

  /** The shard items a hold's units sit on; a shard holding fewer than its allocation breaks the ledger. */
  private shardsHolding(reservation: model.Reservation): Array<[Shard, number]> {
    return allocationEntries(reservation.allocation).map(([shard, units]) => {
      const item = this.shards.get(shardKey(reservation.sku, shard));
      if (!item || item.held < units) throw new LedgerInvariantError(reservation.sku);
      return [item, units];
    });
  }

  private images(sku: string, shards: number): model.ShardImage[] {
    return Array.from({ length: shards }, (_, shard) => {
      const item = this.shards.get(shardKey(sku, shard));
      return { shard, version: item?.version ?? 0, ...counts(item) };
    });
  }

  private fold(sku: string, images: readonly model.ShardImage[]): Map<number, model.ShardImage> {
    const held = this.snapshots.get(sku) ?? new Map<number, model.ShardImage>();
    for (const image of images) {
      if ((held.get(image.shard)?.version ?? -1) < image.version) held.set(image.shard, copy(image));
    }
    this.snapshots.set(sku, held);
    return held;
  }
}

const shardKey = (sku: string, shard: number) => `${sku}#${shard}`;

function counts(item: model.ShardCounts | undefined): model.ShardCounts {
  if (!item) return { ...emptyCounts };
  const { supplied, available, held, sold, released, expired } = item;
  return { supplied, available, held, sold, released, expired };
}

function compose(sku: string, images: readonly model.ShardImage[]): model.StockSnapshot {
  return { sku, version: images.reduce((sum, image) => sum + image.version, 0), ...sumCounts(images) };
}

/** Ids whose index key is due at `nowMs`, oldest first, as the expiry index's query returns them. */
function dueFirst(rows: ReadonlyMap<string, { dueAtMs: number | undefined }>, nowMs: number, limit: number): string[] {
  return [...rows]
    .filter(([, row]) => row.dueAtMs !== undefined && row.dueAtMs <= nowMs)
    .sort(([, a], [, b]) => (a.dueAtMs as number) - (b.dueAtMs as number))
    .slice(0, limit)
    .map(([id]) => id);
}

/** Every answer is a copy, as a read from a table is: the caller cannot change what is stored. */
function copy<T>(value: T): T {
  return value === undefined ? value : structuredClone(value);
}
