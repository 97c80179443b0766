/**
 * A VALIDATION_ERROR names each field and the schema's reason, and never
 * repeats what the client sent.
 */
import { ParseError } from '@aws-lambda-powertools/parser/errors';
import * as z from 'zod/mini';
import { IdempotencyKey, jsonBody, ProductBody, ReservationBody, skuPath } from '../../contract/requests';
import { toHttpError } from '../../lambdas/shared/http';

const ReserveRequest = z.extend(skuPath, {
  body: jsonBody(ReservationBody),
  headers: z.object({ 'idempotency-key': IdempotencyKey }),
});
const PutRequest = z.object({ body: jsonBody(ProductBody) });

function answer(schema: z.ZodMiniType, event: unknown): { status: number; code: string; message: string } {
  const result = schema.safeParse(event);
  if (result.success) throw new Error('the event was valid');
  const response = toHttpError(new ParseError('Failed to parse schema', { cause: result.error.issues }));
  const { code, message } = JSON.parse(response.body).error as { code: string; message: string };
  return { status: response.statusCode, code, message };
}

const reserve = (body: string, key = 'key-1', sku = 'sneaker-x') =>
  answer(ReserveRequest, { pathParameters: { sku }, headers: { 'idempotency-key': key }, body });

test('names a non-ASCII Idempotency-Key and the rule it breaks', () => {
  expect(reserve('{"customerId":"alice","quantity":1}', '5f0c…-key')).toEqual({
    status: 400,
    code: 'VALIDATION_ERROR',
    message: 'Invalid request: header idempotency-key: printable ASCII; at most 255',
  });
});

test('names a zero quantity and its minimum', () => {
  expect(reserve('{"customerId":"alice","quantity":0}').message).toBe('Invalid request: quantity: at least 1');
});

test('names a quantity of the wrong type', () => {
  expect(reserve('{"customerId":"alice","quantity":1.5}').message).toBe(
    'Invalid request: quantity: missing or not an integer',
  );
});

test('says the body is not JSON without repeating it', () => {
  const { message } = reserve('{"customerId":"alice-PRIVATE",');
  expect(message).toBe('Invalid request: body: not valid JSON');
});

test('names an unknown field that is a plain identifier', () => {
  expect(reserve('{"customerId":"alice","quantity":1,"priceCents":0}').message).toBe(
    'Invalid request: unknown field priceCents',
  );
});

test('counts, but does not repeat, an unknown field that is not a plain identifier', () => {
  const { message } = reserve('{"customerId":"alice","quantity":1,"<img src=x onerror=alert(1)>":1}');
  expect(message).toBe('Invalid request: 1 unknown field');
});

test('never repeats an invalid value', () => {
  const { message } = reserve('{"customerId":"cust PRIVATE 4711","quantity":1}', 'key-1', 'bad sku!');
  expect(message).toBe(
    'Invalid request: path sku: letters, digits, - and _; at most 64; customerId: letters, digits and ._@:+|-; at most 128',
  );
  expect(message).not.toMatch(/PRIVATE|bad sku/);
});

test('names each product field with its bound', () => {
  const { message } = answer(PutRequest, {
    body: '{"name":"","priceCents":-1,"stock":20000000,"dropStartsAt":"tomorrow"}',
  });
  expect(message).toBe(
    'Invalid request: name: at least 1 character; priceCents: at least 0; stock: at most 10000000; ' +
      'dropStartsAt: an ISO 8601 date-time with an offset, e.g. 2026-05-01T09:00:00Z',
  );
});
