/**
 * What a SKU may be: what requests, the drop plan and PLANNED_SHARDS accept,
 * so a planned SKU can always be created. It never holds the key separator
 * `#`, so a key such as `STOCK#<sku>#<shard>` reads one way only.
 */
export const SKU_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/;
export const SKU_RULE = 'letters, digits, - and _; at most 64';
