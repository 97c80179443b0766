/**
 * The drop plan's word on waiting rooms, handed from the stack to product creation: the planned SKUs whose
 * peak asks more than the stock path absorbs (`lib/config/capacity.ts`), which `PUT /admin/products/{sku}`
 * creates with their waiting room on. The stack sets the variable, the put-product handler reads it.
 */
import * as z from 'zod/mini';
import { SKU_PATTERN, SKU_RULE } from './sku';

/** `["SKU", …]` as JSON; unset or empty: no planned SKU starts with its room on. */
export const PLANNED_WAITING_ROOMS = 'PLANNED_WAITING_ROOMS';

/** A `PLANNED_WAITING_ROOMS` value that does not parse: the function refuses it whole, never guesses. */
export class PlannedWaitingRoomsError extends Error {
  constructor(detail: string) {
    super(`${PLANNED_WAITING_ROOMS} is not valid: ${detail}`);
    this.name = 'PlannedWaitingRoomsError';
  }
}

const PlannedSkus = z.array(z.string().check(z.regex(SKU_PATTERN, SKU_RULE)));

/** The variable's value for these SKUs. */
export const plannedWaitingRoomsValue = (skus: readonly string[]): string => JSON.stringify(skus);

/** The SKUs in the variable's value: none when it is empty. */
export function parsePlannedWaitingRooms(value: string): ReadonlySet<string> {
  if (value === '') return new Set();
  let raw: unknown;
  try {
    raw = JSON.parse(value);
  } catch {
    throw new PlannedWaitingRoomsError('not JSON');
  }
  const parsed = PlannedSkus.safeParse(raw);
  if (!parsed.success) throw new PlannedWaitingRoomsError(`an array of SKUs is expected (${SKU_RULE})`);
  return new Set(parsed.data);
}
