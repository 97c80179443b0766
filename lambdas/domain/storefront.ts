/**
 * Availability for the storefront's hot read, from the read model the
 * storefront channel keeps (one small item per SKU, fed by stock snapshots),
 * trusted for the stock view's lifetime. Until the first snapshot of a SKU
 * arrives, the shards are read instead.
 */
import type { Availability, Inventory } from './inventory';
import type { ChannelViewStore, Clock } from './ports';

export const READ_MODEL_CHANNEL = 'storefront';

export interface StorefrontDeps {
  readonly inventory: Pick<Inventory, 'product' | 'availability'>;
  readonly views: Pick<ChannelViewStore, 'views'>;
  /** How long a read of the read model is trusted: the stock view's lifetime. */
  readonly ttlMs: number;
  readonly clock: Clock;
}

export class Storefront {
  private readonly cache = new Map<string, { available: number; readAt: number }>();

  constructor(private readonly deps: StorefrontDeps) {}

  async availability(sku: string): Promise<Availability> {
    const { inventory, views, ttlMs, clock } = this.deps;
    const cached = this.cache.get(sku);
    const fresh = cached && clock.now() - cached.readAt < ttlMs ? cached : undefined;
    if (fresh) return { product: await inventory.product(sku), available: fresh.available };
    const [view] = await views.views([READ_MODEL_CHANNEL], sku);
    if (!view) return inventory.availability(sku);
    this.cache.set(sku, { available: view.available, readAt: clock.now() });
    return { product: await inventory.product(sku), available: view.available };
  }
}
