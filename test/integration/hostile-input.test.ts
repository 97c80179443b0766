/**
 * Hostile input of every kind gets a 4xx with a code, leaks nothing, and
 * changes nothing: no DynamoDB write happens and the ledger stays as it was.
 */

import { request } from 'undici';
import { MAX_SHARDS } from '../../contract/inventory-table';
import { ApiClient, type CallOptions } from '../../local/api-client';
import { BACKGROUND_KEY_PREFIXES, startTestStack, type TestStack } from '../support/local-stack';
import { pipelineSettled } from '../support/settled';

const SKU = 'hostile-target';
let stack: TestStack;
let api: ApiClient;
let heldId: string;

beforeAll(async () => {
  stack = await startTestStack();
  api = new ApiClient(stack.url, stack.adminKey);
  await api.putProduct(SKU, { name: 'Target', priceCents: 100, stock: 20, shards: 2, maxPerCustomer: 2 });
  heldId = (await api.reserve(SKU, 'victim', 1, 'hostile-victim-key')).body.reservationId;
  await pipelineSettled(api, SKU);
});

afterAll(async () => {
  await api.close();
  await stack.stop();
});

const reserveWith = (overrides: CallOptions): [string, string, CallOptions] => [
  'POST',
  `/products/${SKU}/reservations`,
  { headers: { 'idempotency-key': `hostile-${Math.random()}` }, ...overrides },
];

const cases: Array<[label: string, request: [string, string, CallOptions], status: number, code: string]> = [
  ['malformed JSON', reserveWith({ rawBody: '{"customerId":"a",' }), 400, 'VALIDATION_ERROR'],
  ['a JSON array body', reserveWith({ rawBody: '[1,2,3]' }), 400, 'VALIDATION_ERROR'],
  ['a JSON null body', reserveWith({ rawBody: 'null' }), 400, 'VALIDATION_ERROR'],
  ['no body', reserveWith({}), 400, 'VALIDATION_ERROR'],
  ['quantity as a string', reserveWith({ body: { customerId: 'a', quantity: '1' } }), 400, 'VALIDATION_ERROR'],
  ['a fractional quantity', reserveWith({ body: { customerId: 'a', quantity: 1.5 } }), 400, 'VALIDATION_ERROR'],
  ['a zero quantity', reserveWith({ body: { customerId: 'a', quantity: 0 } }), 400, 'VALIDATION_ERROR'],
  ['a negative quantity', reserveWith({ body: { customerId: 'a', quantity: -5 } }), 400, 'VALIDATION_ERROR'],
  ['a huge quantity', reserveWith({ body: { customerId: 'a', quantity: 1e308 } }), 400, 'VALIDATION_ERROR'],
  ['an unknown field', reserveWith({ body: { customerId: 'a', quantity: 1, priceCents: 0 } }), 400, 'VALIDATION_ERROR'],
  [
    'a __proto__ field',
    reserveWith({ rawBody: '{"customerId":"a","quantity":1,"__proto__":{"admin":true}}' }),
    400,
    'VALIDATION_ERROR',
  ],
  ['a key separator in customerId', reserveWith({ body: { customerId: 'a#b', quantity: 1 } }), 400, 'VALIDATION_ERROR'],
  [
    'a 10 kB customerId',
    reserveWith({ body: { customerId: 'c'.repeat(10_000), quantity: 1 } }),
    // The route's model refuses it before the function's own size limit could.
    400,
    'VALIDATION_ERROR',
  ],
  ['a 2 kB customerId', reserveWith({ body: { customerId: 'c'.repeat(2000), quantity: 1 } }), 400, 'VALIDATION_ERROR'],
  ['a 1 MB body', reserveWith({ rawBody: `{"pad":"${'x'.repeat(1_000_000)}"}` }), 413, 'PAYLOAD_TOO_LARGE'],
  [
    'a 300-character Idempotency-Key',
    [
      'POST',
      `/products/${SKU}/reservations`,
      { body: { customerId: 'a', quantity: 1 }, headers: { 'idempotency-key': 'k'.repeat(300) } },
    ],
    400,
    'VALIDATION_ERROR',
  ],
  [
    'a non-ASCII Idempotency-Key',
    [
      'POST',
      `/products/${SKU}/reservations`,
      { body: { customerId: 'a', quantity: 1 }, headers: { 'idempotency-key': 'cl\u00e9-\u00ff' } },
    ],
    400,
    'VALIDATION_ERROR',
  ],
  ['a 1,000-character sku', ['GET', `/products/${'s'.repeat(1000)}`, {}], 400, 'VALIDATION_ERROR'],
  [
    'an encoded path traversal in the sku',
    ['GET', '/products/..%2F..%2Fadmin%2Fproducts%2Fx', {}],
    400,
    'VALIDATION_ERROR',
  ],
  ['a raw path traversal', ['GET', `/admin/products/${SKU}/../../products/${SKU}`, {}], 404, 'ROUTE_NOT_FOUND'],
  // The local gateway's own refusals come through the template's DEFAULT_4XX gateway response. Deployed,
  // CloudFront sees these first (a URL over 8,192 bytes it refuses itself: "Quotas", CloudFront Developer Guide).
  ['malformed percent-encoding', ['GET', '/products/%E0%A4%A', {}], 400, 'REQUEST_REFUSED'],
  ['an empty path segment', ['POST', '/products//reservations', { body: {} }], 404, 'ROUTE_NOT_FOUND'],
  ['an unknown route', ['GET', '/wp-admin.php', {}], 404, 'ROUTE_NOT_FOUND'],
  // API Gateway answers a method a resource does not have as it answers an unknown route.
  ['an unsupported method', ['PATCH', `/products/${SKU}`, { body: {} }], 404, 'ROUTE_NOT_FOUND'],
  ['a 10 kB URL', ['GET', `/products/x?q=${'q'.repeat(10_000)}`, {}], 414, 'REQUEST_REFUSED'],
  ['a malformed reservation id', ['DELETE', '/reservations/..%2F..%2Fx', {}], 400, 'VALIDATION_ERROR'],
  ['SQL in a reservation id', ['GET', "/reservations/1'%20OR%20'1'='1", {}], 400, 'VALIDATION_ERROR'],
  [
    'an admin route without a key',
    ['POST', `/admin/products/${SKU}/restock`, { body: { quantity: 1000 } }],
    403,
    'FORBIDDEN',
  ],
  [
    'an admin route with a wrong key',
    [
      'PUT',
      `/admin/products/${SKU}`,
      { body: { name: 'x', priceCents: 0, stock: 1 }, headers: { 'x-api-key': 'guess' } },
    ],
    403,
    'FORBIDDEN',
  ],
  [
    'a negative restock',
    ['POST', `/admin/products/${SKU}/restock`, { body: { quantity: -100 }, admin: true }],
    400,
    'VALIDATION_ERROR',
  ],
  [
    'a restock as a string',
    ['POST', `/admin/products/${SKU}/restock`, { body: { quantity: '5' }, admin: true }],
    400,
    'VALIDATION_ERROR',
  ],
  [
    'a product with negative stock',
    ['PUT', '/admin/products/new-one', { body: { name: 'x', priceCents: 1, stock: -1 }, admin: true }],
    400,
    'VALIDATION_ERROR',
  ],
  [
    'a product with one shard more than the cap',
    [
      'PUT',
      '/admin/products/new-one',
      { body: { name: 'x', priceCents: 1, stock: 1, shards: MAX_SHARDS + 1 }, admin: true },
    ],
    400,
    'VALIDATION_ERROR',
  ],
  [
    'a product with a garbage start time',
    [
      'PUT',
      '/admin/products/new-one',
      { body: { name: 'x', priceCents: 1, stock: 1, dropStartsAt: 'soon' }, admin: true },
    ],
    400,
    'VALIDATION_ERROR',
  ],
  [
    'a product with an empty name',
    ['PUT', '/admin/products/new-one', { body: { name: '   ', priceCents: 1, stock: 1 }, admin: true }],
    400,
    'VALIDATION_ERROR',
  ],
];

test.each(cases)(
  '%s is refused with a coded 4xx and changes nothing',
  async (_label, [method, path, options], status, code) => {
    const ledgerBefore = await api.ledger(SKU);
    const writesBefore = stack.dynamodbRequests.writesExcept(BACKGROUND_KEY_PREFIXES);

    // An operator's request is sent again while the admin key's usage plan throttles it (10 a second).
    const response = options.admin ? await api.admin(method, path, options) : await api.call(method, path, options);

    expect(response.status).toBe(status);
    expect(response.body.error.code).toBe(code);
    expect(typeof response.body.error.message).toBe('string');
    expect(response.text).not.toMatch(/\bat \S+:\d+|node_modules|Exception|stack/i);
    expect(response.text.length).toBeLessThan(600);
    expect(stack.dynamodbRequests.writesExcept(BACKGROUND_KEY_PREFIXES)).toBe(writesBefore);
    expect(await api.ledger(SKU)).toEqual(ledgerBefore);
    expect((await api.call('GET', `/reservations/${heldId}`)).body.status).toBe('HELD');
  },
);

test('a binary (base64) body is decoded as API Gateway would deliver it', async () => {
  const response = await request(`${stack.url}/products/${SKU}/reservations`, {
    method: 'POST',
    headers: { 'content-type': 'application/octet-stream', 'idempotency-key': 'hostile-binary-body' },
    body: Buffer.from(JSON.stringify({ customerId: 'binary', quantity: 1 })),
  });
  expect(response.statusCode).toBe(201);
  expect(await response.body.json()).toMatchObject({ customerId: 'binary', quantity: 1, status: 'HELD' });
});

test('error answers never echo hostile input', async () => {
  const marker = '<script>alert(1)</script>';
  const response = await api.call('POST', `/products/${SKU}/reservations`, {
    rawBody: `{"customerId":"${marker}","quantity":"${marker}"}`,
    headers: { 'idempotency-key': 'hostile-echo' },
  });
  expect(response.status).toBe(400);
  expect(response.text).not.toContain('script');
});
