// (API Gateway) --> reserve --> DynamoDB transaction (shard + limit + reservation + idempotency key)
//                            \-> refused for load, come through the room: counted (LOAD#) for its controller
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import * as z from 'zod/mini';
import { ADMISSION_HEADER, TURN_PASSED_HEADER } from '../../contract/drops';
import { metricNames } from '../../contract/metrics';
import { IdempotencyKey, ReservationBody, skuPath, withBody } from '../../contract/requests';
import { verifiedCustomer } from '../domain/identity';
import { admissions, identity, inventory, shedReporter } from '../shared/composition';
import { type HttpResult, httpApi, isShedForLoad, json } from '../shared/http';
import { metrics } from '../shared/powertools/metrics';
import { reservationView } from '../shared/representations';

const Request = z.extend(skuPath, {
  ...withBody(ReservationBody),
  headers: z.object({
    'idempotency-key': IdempotencyKey,
    [ADMISSION_HEADER]: z.optional(z.string().check(z.maxLength(2048))),
    [TURN_PASSED_HEADER]: z.optional(z.string().check(z.maxLength(16))),
    authorization: z.optional(z.string().check(z.maxLength(8192))),
  }),
});

export async function createReservation(event: z.infer<typeof Request>): Promise<HttpResult> {
  try {
    return await reserve(event);
  } catch (error) {
    // Refused for load: the waiting room's controller holds the boundary back while the origin sheds. Only
    // an attempt that came through the room is its news: one with an admission the room signed for this
    // SKU (judged with the keys already read, whether or not the product could be read). Others (a
    // made-up SKU in the path, a drop without a room) steer nothing, and would take the count's SKU slots.
    const sku = event.pathParameters.sku;
    if (isShedForLoad(error) && admissions.signedFor(event.headers[ADMISSION_HEADER], sku)) shedReporter.shed(sku);
    throw error;
  } finally {
    // At most once a second, and never failing the answer.
    await shedReporter.flushIfDue();
  }
}

async function reserve(event: z.infer<typeof Request>): Promise<HttpResult> {
  // With the shop's identity provider configured: the verified subject, which the body must name.
  const customerId = await verifiedCustomer(identity, event.headers.authorization, event.body.customerId);
  const { reservation, replayed } = await inventory.reserve({
    sku: event.pathParameters.sku,
    customerId,
    quantity: event.body.quantity,
    idempotencyKey: event.headers['idempotency-key'],
    // Checked only when the product's waiting room is on.
    admission: {
      token: event.headers[ADMISSION_HEADER],
      verifier: admissions,
      turnPassed: event.headers[TURN_PASSED_HEADER] !== undefined,
    },
  });
  metrics.addMetric(replayed ? metricNames.reservationReplayed : metricNames.reservationPlaced, MetricUnit.Count, 1);
  return json(201, reservationView(reservation), replayed ? { 'idempotent-replayed': 'true' } : {});
}

export const handler = httpApi(Request, createReservation);
