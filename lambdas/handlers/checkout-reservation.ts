// (API Gateway) --> checkout --> payment (idempotent per reservation) + DynamoDB transaction (reservation + shards + order)
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import * as z from 'zod/mini';
import { metricNames } from '../../contract/metrics';
import { CheckoutBody, reservationPath, withBody } from '../../contract/requests';
import { orders } from '../shared/composition';
import { type HttpResult, httpApi, json } from '../shared/http';
import { metrics } from '../shared/powertools/metrics';

const Request = z.extend(reservationPath, withBody(CheckoutBody));

export async function checkoutReservation(event: z.infer<typeof Request>): Promise<HttpResult> {
  const { order, replayed } = await orders.checkout(event.pathParameters.reservationId, event.body.paymentToken);
  metrics.addMetric(replayed ? metricNames.checkoutReplayed : metricNames.orderPlaced, MetricUnit.Count, 1);
  return json(
    201,
    { orderId: order.orderId, reservationId: order.reservationId, status: 'CONFIRMED' },
    replayed ? { 'idempotent-replayed': 'true' } : {},
  );
}

export const handler = httpApi(Request, checkoutReservation);
