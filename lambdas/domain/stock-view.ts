/**
 * What this execution environment believes about a product's stock, kept for
 * at most `ttlMs`. It is what makes sold-out cheap: while the believed total
 * is zero, attempts are refused without touching DynamoDB. Beliefs only ever
 * run high during a spike (other environments' holds are unseen until a write
 * fails and reports the truth), so a stale view never refuses units that exist
 * — except units returned by a release, expiry or restock, which show within
 * `ttlMs` plus the outbox relay's lag, and for a replicated SKU the sweeper's
 * second (the view is refreshed from this environment's replica of the
 * stock-vector item: one read, whatever the shard count).
 */
import type { Allocation, Product } from './model';
import { allocationEntries } from './stock';

interface Entry<T> {
  readonly value: T;
  readonly readAt: number;
}

export class StockView {
  private readonly stock = new Map<string, Entry<number[]>>();
  private readonly products = new Map<string, Entry<Product>>();
  /** One read per SKU at a time; shards this environment took from while it was in flight. */
  private readonly refreshing = new Map<string, { done: Promise<readonly number[]>; taken: Set<number> }>();

  constructor(
    readonly ttlMs: number,
    private readonly now: () => number,
  ) {}

  product(sku: string): Product | undefined {
    return this.fresh(this.products.get(sku));
  }

  rememberProduct(product: Product): void {
    this.products.set(product.sku, { value: product, readAt: this.now() });
  }

  available(sku: string): readonly number[] | undefined {
    return this.fresh(this.stock.get(sku));
  }

  rememberAvailable(sku: string, available: readonly number[]): void {
    this.stock.set(sku, { value: [...available], readAt: this.now() });
  }

  /**
   * Reads the SKU's stock once for every request that needs it now (a spike
   * of requests finding the view expired makes one read, not hundreds). A hold
   * this environment placed while the read was in flight may be missing from
   * the read: for those shards the lower of the read and the old belief wins,
   * so the view does not forget units it just sold.
   */
  refresh(sku: string, read: () => Promise<readonly number[]>): Promise<readonly number[]> {
    const inFlight = this.refreshing.get(sku);
    if (inFlight) return inFlight.done;
    const taken = new Set<number>();
    const done = read()
      .then((available) => {
        const old = this.stock.get(sku)?.value;
        const merged = available.map((units, shard) =>
          taken.has(shard) && old?.[shard] !== undefined ? Math.min(units, old[shard] as number) : units,
        );
        this.rememberAvailable(sku, merged);
        return merged;
      })
      .finally(() => this.refreshing.delete(sku));
    this.refreshing.set(sku, { done, taken });
    return done;
  }

  /** A hold placed by this environment: the units are gone. */
  take(sku: string, allocation: Allocation): void {
    const entry = this.stock.get(sku);
    const refresh = this.refreshing.get(sku);
    for (const [shard, units] of allocationEntries(allocation)) {
      refresh?.taken.add(shard);
      if (entry) entry.value[shard] = Math.max(0, (entry.value[shard] ?? 0) - units);
    }
  }

  /** A failed conditional write reported a shard's true availability. */
  correct(sku: string, shard: number, available: number): void {
    const entry = this.stock.get(sku);
    if (entry) entry.value[shard] = available;
  }

  forget(sku: string): void {
    this.stock.delete(sku);
    this.products.delete(sku);
  }

  private fresh<T>(entry: Entry<T> | undefined): T | undefined {
    if (!entry || this.now() - entry.readAt >= this.ttlMs) return undefined;
    return entry.value;
  }
}
