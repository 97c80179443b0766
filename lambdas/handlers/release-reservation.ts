// (API Gateway) --> release --> DynamoDB transaction (reservation + shards + limit)
import type * as z from 'zod/mini';
import { reservationPath } from '../../contract/requests';
import { inventory } from '../shared/composition';
import { type HttpResult, httpApi, json } from '../shared/http';

export async function releaseReservation(event: z.infer<typeof reservationPath>): Promise<HttpResult> {
  const { reservationId, status } = await inventory.release(event.pathParameters.reservationId);
  return json(200, { reservationId, status });
}

export const handler = httpApi(reservationPath, releaseReservation);
