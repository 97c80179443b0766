/**
 * The draft 4 subset the local gateway validates request bodies with, as API Gateway's request validator
 * applies a method's model. A keyword it does not implement is refused when the model is compiled.
 */
import { compileDraft04, UnsupportedSchemaError } from '../../local/event-sources/json-schema';

const reservation = compileDraft04({
  $schema: 'http://json-schema.org/draft-04/schema#',
  type: 'object',
  properties: {
    customerId: { type: 'string', pattern: '^[A-Za-z0-9][A-Za-z0-9._@:+-]{0,127}$' },
    quantity: { type: 'integer', minimum: 1, maximum: 100 },
    note: { type: 'string', maxLength: 3 },
    reasons: { type: 'array', maxItems: 2, items: { type: 'string', enum: ['SLOW', 'OTHER'] } },
    ratio: { type: 'number', minimum: 0, exclusiveMinimum: true },
  },
  required: ['customerId', 'quantity'],
  additionalProperties: false,
});

test.each([
  [{ customerId: 'ann', quantity: 1 }, undefined],
  [{ customerId: 'ann', quantity: 1, note: '😀😀😀', reasons: ['SLOW'], ratio: 0.5 }, undefined],
  [{ customerId: 'ann' }, '$: quantity is required'],
  [{ customerId: 'ann', quantity: 1, extra: 1 }, '$: extra is not allowed'],
  [{ customerId: 'ann', quantity: 1.5 }, '$.quantity: expected integer'],
  [{ customerId: 'ann', quantity: 101 }, '$.quantity: above 100'],
  [{ customerId: ' ann', quantity: 1 }, '$.customerId: does not match ^[A-Za-z0-9][A-Za-z0-9._@:+-]{0,127}$'],
  [{ customerId: 'ann', quantity: 1, note: 'four' }, '$.note: longer than 3'],
  [{ customerId: 'ann', quantity: 1, reasons: ['SLOW', 'FAST'] }, '$.reasons[1]: not one of the allowed values'],
  [{ customerId: 'ann', quantity: 1, reasons: ['SLOW', 'SLOW', 'OTHER'] }, '$.reasons: 3 items, not within 0..2'],
  [{ customerId: 'ann', quantity: 1, ratio: 0 }, '$.ratio: below 0'],
  [[{ customerId: 'ann', quantity: 1 }], '$: expected object'],
  ['{"customerId":"ann"}', '$: expected object'],
])('%j → %s', (body, error) => {
  expect(reservation(body)).toBe(error);
});

test('a keyword the validator does not implement is refused at compile time, not skipped', () => {
  expect(() => compileDraft04({ type: 'object', patternProperties: { '^x': {} } })).toThrow(UnsupportedSchemaError);
  expect(() => compileDraft04({ type: 'object', properties: { a: { oneOf: [] } } })).toThrow(
    /model\.properties\.a: the keyword oneOf/,
  );
  expect(() => compileDraft04({ type: 'object', additionalProperties: { type: 'string' } })).toThrow(
    /additionalProperties must be a boolean/,
  );
});
