/**
 * The messages dropline sends, versioned, in one module: what the publisher
 * writes and what every consumer parses. A breaking change gets a new schema
 * name (`….v2`) and both are carried while consumers move.
 */
import * as z from 'zod/mini';
import { INVENTORY_EVENT_TYPES } from '../../lib/config/messaging';
import type { StockSnapshot } from '../domain/model';

export const STOCK_EVENT_SCHEMA = 'dropline.inventory.stock.v1';
export const ORDER_PLACED_SCHEMA = 'dropline.orders.placed.v1';

/** What changed since the previous snapshot, read off the stream's old and new images. */
export const STOCK_CHANGE_REASONS = ['reserved', 'released', 'expired', 'sold', 'restocked'] as const;
export type StockChangeReason = (typeof STOCK_CHANGE_REASONS)[number];
export type InventoryEventType = (typeof INVENTORY_EVENT_TYPES)[number];

const count = z.int().check(z.gte(0));

/**
 * A coalesced, versioned stock snapshot of one SKU. Per-SKU order comes from
 * the FIFO topic's message group; a consumer applies a snapshot only when its
 * version is newer than the one it holds, so duplicates and stragglers are
 * harmless.
 */
export const StockEvent = z.object({
  schema: z.literal(STOCK_EVENT_SCHEMA),
  type: z.enum(INVENTORY_EVENT_TYPES),
  sku: z.string().check(z.minLength(1), z.maxLength(64)),
  version: count,
  supplied: count,
  available: count,
  held: count,
  sold: count,
  reasons: z.array(z.enum(STOCK_CHANGE_REASONS)),
  publishedAt: z.iso.datetime(),
});
export type StockEvent = z.infer<typeof StockEvent>;

export const OrderPlaced = z.object({
  schema: z.literal(ORDER_PLACED_SCHEMA),
  orderId: z.uuid(),
  reservationId: z.uuid(),
  sku: z.string().check(z.minLength(1), z.maxLength(64)),
  quantity: z.int().check(z.gte(1)),
});
export type OrderPlaced = z.infer<typeof OrderPlaced>;

/** At or under this share of supply (and above zero) a product is low on stock. */
export const LOW_STOCK_SHARE = 0.1;

export function stockEvent(snapshot: StockSnapshot, reasons: readonly StockChangeReason[], now: Date): StockEvent {
  const lowStockAt = Math.max(1, Math.ceil(snapshot.supplied * LOW_STOCK_SHARE));
  const type: InventoryEventType =
    snapshot.available === 0 ? 'sold-out' : snapshot.available <= lowStockAt ? 'low-stock' : 'stock-changed';
  return {
    schema: STOCK_EVENT_SCHEMA,
    type,
    sku: snapshot.sku,
    version: snapshot.version,
    supplied: snapshot.supplied,
    available: snapshot.available,
    held: snapshot.held,
    sold: snapshot.sold,
    reasons: [...reasons].sort(),
    publishedAt: now.toISOString(),
  };
}

/** Why a stock shard changed, from its images before and after. */
export function stockChangeReasons(
  before: Record<string, unknown> | undefined,
  after: Record<string, unknown>,
): StockChangeReason[] {
  const grew = (field: string) => Number(after[field] ?? 0) > Number(before?.[field] ?? 0);
  const reasons: StockChangeReason[] = [];
  if (
    Number(after.held ?? 0) > Number(before?.held ?? 0) &&
    Number(after.available ?? 0) < Number(before?.available ?? 0)
  ) {
    reasons.push('reserved');
  }
  if (grew('released')) reasons.push('released');
  if (grew('expired')) reasons.push('expired');
  if (grew('sold')) reasons.push('sold');
  if (before && grew('supplied')) reasons.push('restocked');
  return reasons;
}
