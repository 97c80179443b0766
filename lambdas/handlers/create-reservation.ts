// (API Gateway) --> reserve --> DynamoDB transaction (shard + limit + reservation + idempotency key)
//                            \-> refused for load after the room let it in: counted (LOAD#) for the room's controller
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import * as z from 'zod/mini';
import { ADMISSION_HEADER, TURN_PASSED_HEADER } from '../../contract/drops';
import { metricNames } from '../../contract/metrics';
import { IdempotencyKey, ReservationBody, skuPath, withBody } from '../../contract/requests';
import { verifiedCustomer } from '../domain/identity';
import type { AdmissionVerifier } from '../domain/ports';
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
  const attempt = { admittedByRoom: false };
  try {
    return await reserve(event, attempt);
  } catch (error) {
    // Refused for load: the waiting room's controller holds the boundary back while the origin sheds. Only
    // an attempt the room let in is its news. One refused before the room's check (a made-up SKU in the
    // path, a product not read, a drop without a room) steers nothing, and would take the count's SKU slots.
    if (attempt.admittedByRoom && isShedForLoad(error)) shedReporter.shed(event.pathParameters.sku);
    throw error;
  } finally {
    // At most once a second, and never failing the answer.
    await shedReporter.flushIfDue();
  }
}

async function reserve(event: z.infer<typeof Request>, attempt: { admittedByRoom: boolean }): Promise<HttpResult> {
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
      verifier: notingAdmission(attempt),
      turnPassed: event.headers[TURN_PASSED_HEADER] !== undefined,
    },
  });
  metrics.addMetric(replayed ? metricNames.reservationReplayed : metricNames.reservationPlaced, MetricUnit.Count, 1);
  return json(201, reservationView(reservation), replayed ? { 'idempotent-replayed': 'true' } : {});
}

/** The admissions checker, noting on `attempt` that the room let it in. */
function notingAdmission(attempt: { admittedByRoom: boolean }): AdmissionVerifier {
  return {
    async check(token, sku, customerId) {
      const refused = await admissions.check(token, sku, customerId);
      attempt.admittedByRoom = refused === undefined;
      return refused;
    },
  };
}

export const handler = httpApi(Request, createReservation);
