// (API Gateway, API key) --> pause, resume or close a drop --> DynamoDB (the product and its replicas)
import type * as z from 'zod/mini';
import { dropControlPath } from '../../contract/requests';
import { inventory } from '../shared/composition';
import { type HttpResult, httpApi, json } from '../shared/http';

/**
 * The state reaches the edge through the table's stream, the outbox relay and the inventory topic
 * (a `drop-state-changed` message the edge-state writer puts into CloudFront's KeyValueStore).
 */
export async function controlDrop(event: z.infer<typeof dropControlPath>): Promise<HttpResult> {
  const { sku, action } = event.pathParameters;
  const product = await inventory.controlDrop(sku, action);
  return json(200, { sku, state: product.dropState, waitingRoom: product.waitingRoom });
}

export const handler = httpApi(dropControlPath, controlDrop);
