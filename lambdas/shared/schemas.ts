/**
 * What outside input may look like. Everything from a request passes through
 * one of these before it reaches a use case; identifiers are narrow enough
 * that they can never smuggle a key separator or a path into a table key.
 */
import { JSONStringified } from '@aws-lambda-powertools/parser/helpers';
import { z } from 'zod';
import { MAX_SHARDS } from '../domain/stock';

export const Sku = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/, 'letters, digits, - and _; at most 64');
export const CustomerId = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9._@:+-]{0,127}$/, 'letters, digits and ._@:+-; at most 128');
export const ReservationId = z.uuid();
/** Printable ASCII without spaces, as the IETF Idempotency-Key draft suggests; at most 255. */
export const IdempotencyKey = z.string().regex(/^[\x21-\x7E]{1,255}$/, 'printable ASCII; at most 255');

const count = (max: number) => z.number().int().min(0).max(max);
const Iso8601 = z.iso.datetime({ offset: true });

export const ReservationBody = z.strictObject({
  customerId: CustomerId,
  quantity: z.number().int().min(1).max(100),
});

export const ProductBody = z.strictObject({
  name: z.string().trim().min(1).max(200),
  priceCents: count(100_000_000),
  stock: count(10_000_000),
  maxPerCustomer: z.number().int().min(1).max(100).optional(),
  holdSeconds: z.number().int().min(1).max(3600).optional(),
  dropStartsAt: Iso8601.optional(),
  shards: z.number().int().min(1).max(MAX_SHARDS).optional(),
});

export const RestockBody = z.strictObject({
  quantity: z.number().int().min(1).max(10_000_000),
});

export const skuPath = z.object({ pathParameters: z.object({ sku: Sku }) });
export const reservationPath = z.object({ pathParameters: z.object({ reservationId: ReservationId }) });

export function withBody<B extends z.ZodType>(body: B) {
  return z.object({ body: JSONStringified(body) });
}
