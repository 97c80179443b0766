// (API Gateway, API key) --> the poll's counts --> DynamoDB (the SKU's few count items)
import type * as z from 'zod/mini';
import { skuPath } from '../../contract/requests';
import { feedback } from '../shared/composition';
import { type HttpResult, httpApi, json } from '../shared/http';

export async function getFeedback(event: z.infer<typeof skuPath>): Promise<HttpResult> {
  return json(200, await feedback.summary(event.pathParameters.sku));
}

export const handler = httpApi(skuPath, getFeedback);
