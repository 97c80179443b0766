// (API Gateway, API key) --> create or update product --> DynamoDB transaction (product + shards)
import { getStringFromEnv } from '@aws-lambda-powertools/commons/utils/env';
import * as z from 'zod/mini';
import { PLANNED_WAITING_ROOMS, parsePlannedWaitingRooms } from '../../contract/planned-rooms';
import { IdempotencyKey, ProductBody, skuPath, withBody } from '../../contract/requests';
import { inventory } from '../shared/composition';
import { type HttpResult, httpApi, json } from '../shared/http';
import { productSettingsView } from '../shared/representations';

/** The drop plan's SKUs whose peak asks more than the stock path absorbs: created with their room on. */
const plannedRooms = parsePlannedWaitingRooms(getStringFromEnv({ key: PLANNED_WAITING_ROOMS, defaultValue: '' }));

const Request = z.extend(skuPath, {
  ...withBody(ProductBody),
  headers: z.object({ 'idempotency-key': z.optional(IdempotencyKey) }),
});

/**
 * Stock and shard count are set once, at creation; later PUTs change the settings only. Restock adds units.
 * An update that asks for other stock or shards says, in `ignored`, that it did not apply them and why,
 * so an operator never believes a PUT added units. With an Idempotency-Key, a repeated request changes
 * nothing and answers as the first did.
 */
export async function putProduct(event: z.infer<typeof Request>): Promise<HttpResult> {
  const { sku } = event.pathParameters;
  const { waitingRoom: asked, ...body } = event.body;
  // Only when the body or the plan says so: a request that says nothing of the room stays what it was.
  const waitingRoom = asked ?? (plannedRooms.has(sku) ? true : undefined);
  const { product, created, replayed } = await inventory.upsertProduct(
    { sku, ...body, ...(waitingRoom === undefined ? {} : { waitingRoom }) },
    event.headers['idempotency-key'],
  );
  const ledger = await inventory.ledger(product.sku);
  const ignored: Record<string, string> = {};
  if (!created && event.body.stock !== ledger.supplied) {
    ignored.stock =
      `stock is set once, at creation (supplied now: ${ledger.supplied}); ` +
      `add units with POST /admin/products/${sku}/restock`;
  }
  if (!created && event.body.shards !== undefined && event.body.shards !== product.shards) {
    ignored.shards = `shards are set once, at creation (now: ${product.shards})`;
  }
  if (!created && asked !== undefined && asked !== product.waitingRoom) {
    ignored.waitingRoom =
      `the waiting room is set at creation (now: ${product.waitingRoom ? 'on' : 'off'}); ` +
      `turn it ${asked ? 'on' : 'off'} with POST /admin/drops/${sku}/waiting-room-${asked ? 'on' : 'off'}`;
  }
  return json(
    created ? 201 : 200,
    {
      ...productSettingsView(product),
      waitingRoom: product.waitingRoom,
      supplied: ledger.supplied,
      available: ledger.available,
      ...(Object.keys(ignored).length > 0 ? { ignored } : {}),
    },
    replayed ? { 'idempotent-replayed': 'true' } : {},
  );
}

export const handler = httpApi(Request, putProduct);
