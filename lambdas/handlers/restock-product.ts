// (API Gateway, API key) --> restock --> DynamoDB transaction (Idempotency-Key record + every shard)
import * as z from 'zod/mini';
import { IdempotencyKey, RestockBody, skuPath, withBody } from '../../contract/requests';
import { inventory } from '../shared/composition';
import { type HttpResult, httpApi, json } from '../shared/http';

const Request = z.extend(skuPath, {
  ...withBody(RestockBody),
  headers: z.object({ 'idempotency-key': IdempotencyKey }),
});

/** A repeat under the same Idempotency-Key (after a lost answer, say) adds nothing and answers the ledger now. */
export async function restockProduct(event: z.infer<typeof Request>): Promise<HttpResult> {
  const { ledger, replayed } = await inventory.restock({
    sku: event.pathParameters.sku,
    quantity: event.body.quantity,
    idempotencyKey: event.headers['idempotency-key'],
  });
  return json(200, { sku: ledger.sku, available: ledger.available }, replayed ? { 'idempotent-replayed': 'true' } : {});
}

export const handler = httpApi(Request, restockProduct);
