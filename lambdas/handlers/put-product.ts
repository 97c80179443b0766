// (API Gateway, API key) --> create or update product --> DynamoDB transaction (product + shards)
import * as z from 'zod/mini';
import { type HttpResult, httpApi, json } from '../shared/http';
import { inventory } from '../shared/inventory';
import { productSettingsView } from '../shared/representations';
import { IdempotencyKey, ProductBody, skuPath, withBody } from '../shared/schemas';

const Request = z.extend(skuPath, {
  ...withBody(ProductBody),
  headers: z.object({ 'idempotency-key': z.optional(IdempotencyKey) }),
});

/**
 * Stock and shard count are set once, at creation; later PUTs change the settings only. Restock adds units.
 * With an Idempotency-Key, a repeated request changes nothing and answers as the first did.
 */
export async function putProduct(event: z.infer<typeof Request>): Promise<HttpResult> {
  const { product, created, replayed } = await inventory.upsertProduct(
    { sku: event.pathParameters.sku, ...event.body },
    event.headers['idempotency-key'],
  );
  const ledger = await inventory.ledger(product.sku);
  return json(
    created ? 201 : 200,
    { ...productSettingsView(product), supplied: ledger.supplied, available: ledger.available },
    replayed ? { 'idempotent-replayed': 'true' } : {},
  );
}

export const handler = httpApi(Request, putProduct);
