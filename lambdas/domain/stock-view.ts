/**
 * What this execution environment believes about a product's stock, kept for
 * at most `ttlMs`. It is what makes sold-out cheap: while the believed total
 * is zero, attempts are refused without touching DynamoDB. Beliefs only ever
 * run high during a spike (other environments' holds are unseen until a write
 * fails and reports the truth), so a stale view never refuses units that exist
 * — except units returned by a release, expiry or restock, which show within
 * `ttlMs`.
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

  /** A hold placed by this environment: the units are gone. */
  take(sku: string, allocation: Allocation): void {
    const entry = this.stock.get(sku);
    if (!entry) return;
    for (const [shard, units] of allocationEntries(allocation)) {
      entry.value[shard] = Math.max(0, (entry.value[shard] ?? 0) - units);
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
