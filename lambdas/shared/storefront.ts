/**
 * Availability for the storefront's hot read, from the read model the
 * storefront channel keeps (one small item per SKU, fed by stock snapshots),
 * trusted for the stock view's lifetime. Until the first snapshot of a SKU
 * arrives, the shards are read instead.
 */
import type { Availability } from '../domain/inventory';
import { channelViews } from './channel-views';
import { inventory, STOCK_VIEW_TTL_MS } from './inventory';

export const READ_MODEL_CHANNEL = 'storefront';

const cache = new Map<string, { available: number; readAt: number }>();

export async function storefrontAvailability(sku: string): Promise<Availability> {
  const cached = cache.get(sku);
  const fresh = cached && Date.now() - cached.readAt < STOCK_VIEW_TTL_MS ? cached : undefined;
  if (fresh) return { product: await inventory.product(sku), available: fresh.available };
  const [view] = await channelViews.views([READ_MODEL_CHANNEL], sku);
  if (!view) return inventory.availability(sku);
  cache.set(sku, { available: view.available, readAt: Date.now() });
  return { product: await inventory.product(sku), available: view.available };
}
