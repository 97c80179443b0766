// (API Gateway, API key) --> ledger --> DynamoDB (consistent read of every shard)
import type * as z from 'zod/mini';
import { skuPath } from '../../contract/requests';
import { inventory } from '../shared/composition';
import { type HttpResult, httpApi, json } from '../shared/http';

export async function getLedger(event: z.infer<typeof skuPath>): Promise<HttpResult> {
  const { sku, supplied, available, held, sold, released, expired } = await inventory.ledger(event.pathParameters.sku);
  return json(200, { sku, supplied, available, held, sold, released, expired });
}

export const handler = httpApi(skuPath, getLedger);
