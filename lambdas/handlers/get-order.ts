// (API Gateway) --> get order --> DynamoDB
import type * as z from 'zod/mini';
import { type HttpResult, httpApi, json } from '../shared/http';
import { checkout } from '../shared/orders';
import { orderView } from '../shared/representations';
import { orderPath } from '../shared/schemas';

export async function getOrder(event: z.infer<typeof orderPath>): Promise<HttpResult> {
  return json(200, orderView(await checkout.getOrder(event.pathParameters.orderId)));
}

export const handler = httpApi(orderPath, getOrder);
