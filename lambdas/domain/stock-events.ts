/**
 * How a stock snapshot is told as an event: its type from the stock left, its
 * reasons from the shard images before and after. The message shapes are the
 * contract's (`contract/messages.ts`).
 */
import type { InventoryEventType } from '../../contract/event-types';
import { STOCK_EVENT_SCHEMA, type StockChangeReason, type StockEvent } from '../../contract/messages';
import type { StockSnapshot } from './model';

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
    returned: snapshot.released + snapshot.expired,
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
