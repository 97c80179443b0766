// (API Gateway, API key) --> restock --> DynamoDB transaction (every shard)
import * as z from 'zod/mini';
import { type HttpResult, httpApi, json } from '../shared/http';
import { inventory } from '../shared/inventory';
import { RestockBody, skuPath, withBody } from '../shared/schemas';

const Request = z.extend(skuPath, withBody(RestockBody));

export async function restockProduct(event: z.infer<typeof Request>): Promise<HttpResult> {
  const { sku, available } = await inventory.restock(event.pathParameters.sku, event.body.quantity);
  return json(200, { sku, available });
}

export const handler = httpApi(Request, restockProduct);
