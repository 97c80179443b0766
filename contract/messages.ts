/**
 * The messages dropline sends, versioned, in one module: what the publisher
 * writes and what every consumer parses. A breaking change gets a new schema
 * name (`….v2`) and both are carried while consumers move.
 */
import * as z from 'zod/mini';
import { INVENTORY_EVENT_TYPES } from './event-types';

export const STOCK_EVENT_SCHEMA = 'dropline.inventory.stock.v1';
export const ORDER_PLACED_SCHEMA = 'dropline.orders.placed.v1';

/** What changed since the previous snapshot, read off the stream's old and new images. */
export const STOCK_CHANGE_REASONS = ['reserved', 'released', 'expired', 'sold', 'restocked'] as const;
export type StockChangeReason = (typeof STOCK_CHANGE_REASONS)[number];

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
  /**
   * Units whose holds ended without a sale, released or expired, ever (cumulative): `held + sold + returned`
   * is every unit ever taken, which only grows (a restock moves `available`, not it). Optional: snapshots
   * published before it existed, and publishers not yet updated, leave it out.
   */
  returned: z.optional(count),
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
