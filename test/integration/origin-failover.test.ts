/**
 * CloudFront's origin group on the app's own assembly: a shopper's read the API fails is answered from the
 * edge stack's paused origin (a REST API whose mock integration says `503 PAUSED`), as the distribution
 * fails over; a write the API fails gets the API's own error (writes take behaviours without an origin
 * group; that a write on a failover behaviour is not failed over is test/integration/gateway.test.ts's).
 *
 * Run on a copy of the assembly in which the product read's and the release's functions name a handler
 * their bundle does not export: each invocation fails as Lambda fails it (`Runtime.HandlerNotFound`).
 */
import { randomUUID } from 'node:crypto';
import { FUNCTION_TAG } from '../../lib/constructs/dropline-function';
import { ApiClient } from '../../local/api-client';
import { type AssemblyTemplate, type AssemblyTestStack, startTestStack } from '../support/local-stack';

const BROKEN = ['get-product', 'release-reservation'];

/** Points each broken function at an export its bundle does not have. */
function breakHandlers(templates: Readonly<Record<string, AssemblyTemplate>>): void {
  const stateless = templates['Dropline-Stateless'];
  if (!stateless) throw new Error('the assembly holds no Dropline-Stateless stack');
  let broken = 0;
  for (const resource of Object.values(stateless.Resources)) {
    const tags = resource.Properties?.Tags as Array<{ Key: string; Value: string }> | undefined;
    const handler = tags?.find((tag) => tag.Key === FUNCTION_TAG)?.Value;
    if (resource.Type !== 'AWS::Lambda::Function' || !handler || !BROKEN.includes(handler)) continue;
    (resource.Properties as Record<string, unknown>).Handler = 'index.noSuchHandler';
    broken++;
  }
  if (broken !== BROKEN.length)
    throw new Error(`broke ${broken} functions of ${BROKEN.length}: the edit no longer applies`);
}

let stack: AssemblyTestStack;
let api: ApiClient;

beforeAll(async () => {
  stack = await startTestStack({ edit: breakHandlers });
  api = new ApiClient(stack.url, stack.adminKey);
}, 180_000);

afterAll(async () => {
  await api?.close();
  await stack?.stop();
});

test("a read the API fails is answered from the distribution's paused origin", async () => {
  const read = await api.call('GET', '/products/failover-1');
  expect([read.status, read.headers['retry-after'], read.body.error?.code]).toEqual([503, '15', 'PAUSED']);
});

test("a write the API fails gets the API's own answer: its behaviour has no origin group", async () => {
  const write = await api.call('DELETE', '/reservations/r-failover');
  expect(write.status).toBe(503);
  expect(write.body.error?.code).toBe('UNAVAILABLE');
  expect(write.headers['retry-after']).toBe('1');
});

test('a read the API answers itself, even with an error, is not failed over', async () => {
  const missing = await api.call('GET', `/orders/${randomUUID()}`);
  expect([missing.status, missing.body.error?.code]).toEqual([404, 'NOT_FOUND']);
  const malformed = await api.call('GET', '/orders/not-an-order-id');
  expect([malformed.status, malformed.body.error?.code]).toEqual([400, 'VALIDATION_ERROR']);
});
