/**
 * The outbox's use cases: relaying what the table's stream carries (new
 * orders to the orders queue, coalesced stock snapshots to the inventory
 * topic), rebuilding snapshots the relay lost, and an operator's redrive. The
 * sends are the ports' (`OrderQueue`, `StockEventTopic`); sending twice is
 * harmless by design.
 */
import { DROP_STATE_EVENT_TYPE, DROP_STATE_SCHEMA, type DropState } from '../../contract/drops';
import type { DropStateEvent } from '../../contract/edge-values';
import {
  ORDER_PLACED_SCHEMA,
  type OrderPlaced,
  type StockChangeReason,
  type StockEvent,
} from '../../contract/messages';
import { type Order, type Product, type ShardImage, type StockSnapshot, snapshotOf } from './model';
import type {
  Clock,
  InventoryStore,
  OrderQueue,
  OutboxPage,
  OutboxReader,
  StockEventTopic,
  StockSnapshotStore,
} from './ports';
import { stockChangeReasons, stockEvent } from './stock-events';

/** How often the sweeper rebuilds each SKU's snapshot from its shards. */
export const RECONCILE_EVERY_MS = 30_000;
/** SKUs whose reconciliation may fail in one run before the run stops (each failure may take seconds). */
export const MAX_RECONCILE_FAILURES = 3;

export interface SnapshotsDeps {
  readonly products: Pick<InventoryStore, 'getProduct'>;
  readonly store: StockSnapshotStore;
  readonly topic: StockEventTopic;
  readonly clock: Clock;
  /**
   * Told every snapshot's drift: units the ledger cannot account for. Every
   * shard image is balanced on its own (each transaction keeps it so), so
   * drift is a broken promise, to be alarmed on.
   */
  readonly reportDrift: (sku: string, drift: number, version: number) => void;
  /** Told each SKU whose reconciliation failed (it is tried again at the next run). */
  readonly reportReconcileFailure: (sku: string, error: unknown) => void;
}

export interface OutboxDeps {
  readonly reader: OutboxReader;
  readonly queue: OrderQueue;
  readonly snapshots: Snapshots;
  readonly topic: Pick<StockEventTopic, 'publishDropState'>;
}

/** The stock changes of one stream batch: each SKU's reasons and the newest image of each shard it carried. */
export type StockChanges = ReadonlyMap<
  string,
  { readonly reasons: readonly StockChangeReason[]; readonly images: readonly ShardImage[] }
>;

export interface RedriveRequest {
  /** Only these SKUs (their orders and snapshots); all when absent. */
  readonly skus?: readonly string[];
  /** Only count what would be sent. */
  readonly dryRun: boolean;
}

export interface RedriveResult {
  readonly dryRun: boolean;
  /** Items read by the Scan. */
  readonly scanned: number;
  /** PLACED orders sent to the orders queue (or that would be, in a dry run). */
  readonly orders: number;
  /** SKUs given a fresh snapshot on the inventory topic. */
  readonly snapshots: number;
}

export const orderPlaced = (order: Pick<Order, 'orderId' | 'reservationId' | 'sku' | 'quantity'>): OrderPlaced => ({
  schema: ORDER_PLACED_SCHEMA,
  orderId: order.orderId,
  reservationId: order.reservationId,
  sku: order.sku,
  quantity: order.quantity,
});

/**
 * Each SKU's stock snapshot: folded from shard images, published to the
 * channels' topic, and written as the stock vector the stock views read.
 *
 * A SKU with one stock-vector item is published with every stream batch that
 * changed it. A replicated SKU (a drop planned past what one item's partition
 * serves) is published once a second instead, by the sweeper
 * (`publishReplicated`): the relay's batches only fold their images in, so
 * the vector's replicas, the snapshot groups' reads and the SKU's SNS message
 * group each take one write or message a second, however many batches the
 * relay runs.
 */
export class Snapshots {
  /** Replicated SKUs' shards and replicas (set once, at creation), and what this environment last published. */
  private readonly replicated = new Map<string, { readonly product: Product; published?: StockSnapshot }>();

  constructor(private readonly deps: SnapshotsDeps) {}

  /**
   * Publishes the SKU's snapshot after folding `images` in: the shard images a
   * stream batch carried, or (for an operator's redrive, when none are given)
   * every shard read transactionally. On the hot path nothing reads a stock
   * shard, so a snapshot never contends with the holds it reports. Undefined
   * when the product does not exist, when not every shard has been seen yet
   * (the batch that carries the missing shard publishes), or when a batch's
   * images of a replicated SKU were folded in for the sweeper to publish.
   */
  async publish(
    sku: string,
    reasons: readonly StockChangeReason[],
    images?: readonly ShardImage[],
  ): Promise<StockEvent | undefined> {
    const { products, store } = this.deps;
    let product = await products.getProduct(sku);
    let unfolded = images;
    if (!product && images) {
      // A wide product writes its shards before its product item: keep their images for the snapshot. Its
      // creation's relay (`publishFirst`) may have read the groups after the read above and before this
      // fold, so it is read again (strongly consistent) once the images are in: of the two relays, the
      // later one to look sees both the product and every image, and publishes.
      await store.foldShardImages(sku, images);
      product = await products.getProduct(sku);
      unfolded = [];
    }
    if (!product) return undefined;
    // A replicated SKU's batch is folded in; the sweeper publishes it within a second.
    if (unfolded && product.viewReplicas > 1) {
      await store.foldShardImages(sku, unfolded);
      return undefined;
    }
    const seen = unfolded ?? (await store.shardImages(sku, product.shards));
    const merged = await store.mergeShardImages(sku, seen, product.shards);
    return merged ? this.emit(product, merged, reasons) : undefined;
  }

  /**
   * A new product's first snapshot, when no relay has published one: a wide
   * product's shards are written (and may all be relayed) before the product
   * item exists, and then no later shard record would publish them until the
   * first hold. Run for each product creation the stream carries; nothing is
   * read but the stock vector's version when the shards' relay got there first.
   */
  async publishFirst(sku: string): Promise<StockEvent | undefined> {
    if ((await this.deps.store.stockVectorVersion(sku)) !== undefined) return undefined;
    return this.publish(sku, [], []);
  }

  /**
   * Publishes every replicated SKU whose snapshot groups moved on since this
   * environment last published it: its stock-vector replicas rewritten and
   * one message, with the reasons its totals changed for. Run by the sweeper
   * once a second. Returns how many SKUs were published.
   */
  async publishReplicated(limit = 200, stopAfterMs = Number.POSITIVE_INFINITY): Promise<number> {
    const { products, store } = this.deps;
    let published = 0;
    for (const sku of await store.listReplicatedSkus(limit)) {
      // Past the caller's stop time no SKU is begun: the next call publishes the rest.
      if (this.deps.clock.now() >= stopAfterMs) break;
      let known = this.replicated.get(sku);
      if (!known) {
        const product = await products.getProduct(sku);
        if (!product) continue;
        known = { product };
        this.replicated.set(sku, known);
      }
      const images = await store.mergeShardImages(sku, [], known.product.shards);
      if (!images) continue;
      const totals = snapshotOf(sku, images);
      if (known.published?.version === totals.version) continue;
      // The totals' reasons, as a shard's are told: what grew (or was taken) since the last one published.
      const reasons = stockChangeReasons(known.published && { ...known.published }, { ...totals });
      await this.emit(known.product, images, reasons);
      known.published = totals;
      published++;
    }
    return published;
  }

  /**
   * Reports the drift, publishes the snapshot, and then writes the stock vector, every replica of it. The
   * vector goes last because the reconciliation takes a vector at its shards' version as published: written
   * before a publish that then failed, it would leave the channels and the edge behind for good.
   */
  private async emit(
    product: Product,
    images: readonly ShardImage[],
    reasons: readonly StockChangeReason[],
  ): Promise<StockEvent> {
    const totals = snapshotOf(product.sku, images);
    const snapshot = stockEvent(totals, reasons, new Date(this.deps.clock.now()));
    const drift = Math.abs(snapshot.supplied - snapshot.available - snapshot.held - snapshot.sold);
    this.deps.reportDrift(product.sku, drift, snapshot.version);
    await this.deps.topic.publishStockEvent(snapshot);
    await this.deps.store.writeStockVector(
      product.sku,
      totals.version,
      images.map((image) => image.available),
      product.viewReplicas,
    );
    return snapshot;
  }

  /**
   * Rebuilds every SKU's snapshot, stock vector and channel snapshot from its
   * shards (plain strongly consistent reads, never a transaction), so a stream
   * record the relay lost — past its retries or its age — is repaired within
   * `RECONCILE_EVERY_MS`, not when the shard next changes. A SKU whose shards
   * add up to the version its stock vector was written at is left alone: no
   * write, no message. A SKU that fails is reported and tried again at the
   * next run, and does not stop the others, unless `MAX_RECONCILE_FAILURES`
   * have failed in this run. Returns how many SKUs were published.
   */
  async reconcile(limit = 200, stopAfterMs = Number.POSITIVE_INFINITY): Promise<number> {
    const { store } = this.deps;
    let reconciled = 0;
    let failed = 0;
    for (const sku of await store.listStockVectors(limit)) {
      // A few failures in one run say the table or the topic is failing: the next run tries them all again.
      if (this.deps.clock.now() >= stopAfterMs || failed >= MAX_RECONCILE_FAILURES) break;
      try {
        if (await this.reconcileOne(sku)) reconciled++;
      } catch (error) {
        // One SKU's failure leaves the others' repairs to this run, and its own to the next.
        failed++;
        this.deps.reportReconcileFailure(sku, error);
      }
    }
    return reconciled;
  }

  private async reconcileOne(sku: string): Promise<boolean> {
    const { products, store } = this.deps;
    const product = await products.getProduct(sku);
    if (!product) return false;
    const before = await store.stockVectorVersion(sku);
    const images = await store.readShardImages(sku, product.shards);
    // The vector was written at the sum of its shards' versions: the same sum now means nothing was lost.
    if (before !== undefined && images.reduce((sum, image) => sum + image.version, 0) <= before) return false;
    await this.publish(sku, [], images);
    return true;
  }
}

export class Outbox {
  constructor(private readonly deps: OutboxDeps) {}

  /**
   * One stream batch: every new order goes to the orders queue, every SKU
   * whose shards changed gets one snapshot, however many changes the batch
   * holds, and every product `created` gets its first one if none was
   * published. Throws when a send fails: the stream redelivers the batch, and
   * dedup ids make the resend harmless.
   */
  async relay(
    orders: readonly OrderPlaced[],
    changes: StockChanges,
    drops: readonly DropStateEvent[] = [],
    created: readonly string[] = [],
  ): Promise<void> {
    await this.deps.queue.enqueueOrders(orders);
    // A drop's state goes before the snapshots: a snapshot that fails the batch does not hold it back.
    for (const drop of drops) await this.deps.topic.publishDropState(drop);
    for (const [sku, { reasons, images }] of changes) await this.deps.snapshots.publish(sku, reasons, images);
    for (const sku of created) await this.deps.snapshots.publishFirst(sku);
  }

  /**
   * Recovers what a lost stream range would have carried, from the table
   * itself: every order still PLACED goes to the orders queue again, and every
   * SKU gets a fresh snapshot. Both are idempotent downstream (dedup ids, a
   * conditional PLACED → FULFILLED, channels applying only newer versions),
   * so a redrive while the stream is healthy changes no state. `onPage` hears
   * the running totals after each page.
   */
  async redrive(
    request: RedriveRequest,
    onPage: (progress: Omit<RedriveResult, 'dryRun' | 'snapshots'> & { readonly skus: number }) => void = () => {},
  ): Promise<RedriveResult> {
    const wanted = request.skus ? new Set(request.skus) : undefined;
    const { dryRun } = request;
    let scanned = 0;
    let orders = 0;
    const skus = new Set<string>();
    for await (const page of this.deps.reader.scanOutbox()) {
      const placed = wantedOrders(page, wanted).map(orderPlaced);
      if (!dryRun) await this.deps.queue.enqueueOrders(placed);
      scanned += page.scanned;
      orders += placed.length;
      for (const sku of page.skus) if (!wanted || wanted.has(sku)) skus.add(sku);
      onPage({ scanned, orders, skus: skus.size });
    }
    let snapshots = 0;
    for (const sku of skus) {
      if (dryRun || (await this.deps.snapshots.publish(sku, []))) snapshots++;
    }
    return { dryRun, scanned, orders, snapshots };
  }
}

function wantedOrders(page: OutboxPage, wanted: ReadonlySet<string> | undefined): readonly Order[] {
  return page.placed.filter((order) => !wanted || wanted.has(order.sku));
}

/** A product as the stream carries it: the fields a drop-state change is read from. */
export interface ProductImage {
  readonly sku: string;
  readonly dropState: DropState;
  readonly dropStartsAt: string;
  readonly waitingRoom: boolean;
  readonly revision: number;
  /** How long a hold lasts: the waiting room gives an admitted shopper at most half of it to use a turn. */
  readonly holdSeconds?: number;
}

/**
 * The drop-state event a product write makes, if any: its creation, or a change of its state, its start,
 * its waiting room or its hold time. A change of name or price tells the edge nothing.
 */
export function dropStateChange(
  before: ProductImage | undefined,
  after: ProductImage,
  publishedAt: string,
): DropStateEvent | undefined {
  if (
    before &&
    before.dropState === after.dropState &&
    before.dropStartsAt === after.dropStartsAt &&
    before.waitingRoom === after.waitingRoom &&
    before.holdSeconds === after.holdSeconds
  ) {
    return undefined;
  }
  return {
    schema: DROP_STATE_SCHEMA,
    type: DROP_STATE_EVENT_TYPE,
    sku: after.sku,
    state: after.dropState,
    startsAt: after.dropStartsAt,
    room: after.waitingRoom,
    revision: after.revision,
    ...(after.holdSeconds === undefined ? {} : { holdSeconds: after.holdSeconds }),
    publishedAt,
  };
}
