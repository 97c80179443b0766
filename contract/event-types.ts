/**
 * The stock event types, carried as each message's `type` attribute: what the
 * publisher sets, what the message schema allows and what channel
 * subscriptions filter on.
 */
export const INVENTORY_EVENT_TYPES = ['stock-changed', 'low-stock', 'sold-out'] as const;
export type InventoryEventType = (typeof INVENTORY_EVENT_TYPES)[number];
