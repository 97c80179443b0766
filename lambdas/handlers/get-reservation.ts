// (API Gateway) --> get reservation --> DynamoDB
import type * as z from 'zod/mini';
import { reservationPath } from '../../contract/requests';
import { inventory } from '../shared/composition';
import { type HttpResult, httpApi, json } from '../shared/http';
import { reservationView } from '../shared/representations';

export async function getReservation(event: z.infer<typeof reservationPath>): Promise<HttpResult> {
  return json(200, reservationView(await inventory.getReservation(event.pathParameters.reservationId)));
}

export const handler = httpApi(reservationPath, getReservation);
