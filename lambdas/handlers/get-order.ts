// (API Gateway) --> get order --> DynamoDB
import type * as z from 'zod/mini';
import { orderPath } from '../../contract/requests';
import { orders } from '../shared/composition';
import { type HttpResult, httpApi, json } from '../shared/http';
import { orderView } from '../shared/representations';

export async function getOrder(event: z.infer<typeof orderPath>): Promise<HttpResult> {
  return json(200, orderView(await orders.getOrder(event.pathParameters.orderId)));
}

export const handler = httpApi(orderPath, getOrder);
