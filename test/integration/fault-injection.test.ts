/**
 * Fault injection at each step of reserve, checkout, release, expiry,
 * fulfilment and restock, on the app's own assembly: the write reaches
 * DynamoDB Local, then its answer is lost on the wire (the proxy in front of
 * DynamoDB Local resets the connection, as when a function's network drops
 * after the commit). The function in its own execution environment meets the
 * fault as deployed: the SDK resends the request (its retry strategy), every
 * resend loses its answer too, and only then does the function see the
 * failure.
 *
 * Each step must answer 503 with Retry-After (or, for queue and schedule
 * work, fail so the platform retries), and the retry must produce the effect
 * exactly once: one hold, one order, one charge, one dispatch, units back once.
 * An answer that never comes (a silent connection, not a reset one) must end
 * in the function's own 503 too, not in Lambda's timeout.
 */

import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SetQueueAttributesCommand, SQSClient } from '@aws-sdk/client-sqs';
import { DynamoDBDocumentClient, GetCommand } from '@aws-sdk/lib-dynamodb';
import { ATTEMPT_TIMEOUT_MS, MAX_ATTEMPTS } from '../../lambdas/shared/clients/request-settings';
import { ApiClient } from '../../local/api-client';
import type { ArmedLoss, LostAnswers, WireRequest } from '../../local/probes/request-counter';
import { eventually } from '../support/eventually';
import { type AssemblyTestStack, resourceNamed, startTestStack } from '../support/local-stack';

let stack: AssemblyTestStack;
let api: ApiClient;
let documentClient: DynamoDBDocumentClient;
let armed: Array<{ label: string; loss: ArmedLoss; times: number }> = [];
const injected: string[] = [];

/**
 * Loses the answers of the next call matching `matches`: its first attempt, after letting its write
 * through, and each resend of that call by the SDK (`MAX_ATTEMPTS` in all, unless `times` says fewer),
 * so the call fails in the function.
 */
function loseAnswersOnce(
  label: string,
  matches: LostAnswers['matches'],
  how: LostAnswers['how'] = 'reset',
  times: number = MAX_ATTEMPTS,
) {
  const loss = stack.dynamodbRequests.loseAnswers({ matches, times, how });
  armed.push({ label, loss, times });
  injected.push(label);
  return loss;
}

// Matchers on DynamoDB's wire format: attribute values are typed (`{ S: "…" }`).
type Part = { Key?: { pk?: { S?: string } }; Item?: { pk?: { S?: string } }; ExpressionAttributeValues?: WireRequest };
const parts = (request: WireRequest) => (request.TransactItems ?? []) as Array<Record<string, Part>>;
const pkOf = (part: Part | undefined) => (part?.Key ?? part?.Item)?.pk?.S ?? '';
const putsKey = (request: WireRequest, prefix: string) =>
  parts(request).some((part) => pkOf(part.Put).startsWith(prefix));
const updatesKey = (request: WireRequest, prefix: string) =>
  parts(request).some((part) => pkOf(part.Update).startsWith(prefix));
const ends = (request: WireRequest, status: string) =>
  parts(request).some(
    (part) => (part.Update?.ExpressionAttributeValues?.[':to'] as { S?: string } | undefined)?.S === status,
  );
/** A single PutItem of an item whose key starts with `prefix`. */
const putsItemUnder = (prefix: string) => (operation: string, request: WireRequest) =>
  operation === 'PutItem' && pkOf(request as Part).startsWith(prefix);
const transactionThat = (check: (request: WireRequest) => boolean) => (operation: string, request: WireRequest) =>
  operation === 'TransactWriteItems' && check(request);

beforeAll(async () => {
  stack = await startTestStack({
    environment: {
      // One sweep per scheduled run, so a test's runSchedules() is one sweep, not the template's minute of them.
      SWEEP_FOR_SECONDS: '0',
      // The deployed limit on a silent attempt, which the local runtime lifts for its slower emulators.
      AWS_ATTEMPT_TIMEOUT_MS: String(ATTEMPT_TIMEOUT_MS),
    },
  });
  api = new ApiClient(stack.url, stack.adminKey, 16);
  // The test's own reads go straight to DynamoDB Local, past the proxy and its faults.
  documentClient = DynamoDBDocumentClient.from(
    new DynamoDBClient({ endpoint: process.env.DROPLINE_TEST_DYNAMODB_ENDPOINT as string }),
  );
});

afterEach(() => {
  // Each fault took the answers of one SDK call, attempts 1, 2, … in order: the call the test meant, not
  // two look-alikes, and no matcher failed.
  const report = armed
    .filter(
      ({ loss, times }) =>
        loss.matcherError !== undefined ||
        loss.invocation === undefined ||
        loss.attempts.join() !== Array.from({ length: times }, (_, index) => index + 1).join(),
    )
    .map(({ label, loss }) => `${label}: attempts lost ${loss.attempts.join() || 'none'} ${loss.matcherError ?? ''}`);
  armed = [];
  stack.dynamodbRequests.clearFaults(); // disarmed whatever happens, so a fault never leaks into the next test
  expect(report).toEqual([]);
});

afterAll(async () => {
  await api.close();
  await stack.stop();
  documentClient?.destroy();
  console.log(`fault injection: answers lost after the write at ${injected.length} steps (${injected.join(', ')})`);
});

async function product(sku: string, stock = 10) {
  expect((await api.putProduct(sku, { name: sku, priceCents: 250, stock, shards: 2, maxPerCustomer: 5 })).status).toBe(
    201,
  );
}

const item = async (pk: string) =>
  (await documentClient.send(new GetCommand({ TableName: stack.tableName, Key: { pk } }))).Item;

test('reserve: the hold commits, its answer is lost; 503 + Retry-After, and the retry returns the one hold', async () => {
  await product('fault-reserve');
  loseAnswersOnce(
    'reserve',
    transactionThat((request) => putsKey(request, 'IDEMPOTENCY#')),
  );

  const first = await api.reserve('fault-reserve', 'ana', 2, 'fault-reserve-key');
  expect(first.status).toBe(503);
  expect(first.headers['retry-after']).toBe('1');
  expect(first.body.error.code).toBe('UNAVAILABLE');

  const retried = await api.reserve('fault-reserve', 'ana', 2, 'fault-reserve-key');
  expect(retried.status).toBe(201);
  expect(await api.ledger('fault-reserve')).toMatchObject({ available: 8, held: 2, sold: 0 });
});

test('reserve: the first answer is lost and the SDK’s resend gets through; 201 at once and one hold', async () => {
  await product('fault-resend');
  loseAnswersOnce(
    'reserve (resent)',
    transactionThat((request) => putsKey(request, 'IDEMPOTENCY#')),
    'reset',
    1,
  );

  const first = await api.reserve('fault-resend', 'ruth', 2, 'fault-resend-key');
  expect(first.status).toBe(201);
  const again = await api.reserve('fault-resend', 'ruth', 2, 'fault-resend-key');
  expect(again.body.reservationId).toBe(first.body.reservationId);
  expect(await api.ledger('fault-resend')).toMatchObject({ available: 8, held: 2 });
});

test('reserve: an answer that never comes ends in the function’s own 503, within its timeout, not in Lambda’s', async () => {
  await product('fault-silent');
  loseAnswersOnce(
    'reserve (silent)',
    transactionThat((request) => putsKey(request, 'IDEMPOTENCY#')),
    'hang',
  );

  const first = await api.reserve('fault-silent', 'sam', 1, 'fault-silent-key');
  // Without a timeout per attempt the function waits until Lambda ends it, and the API answers 502.
  expect(first.status).toBe(503);
  expect(first.headers['retry-after']).toBe('1');

  const retried = await api.reserve('fault-silent', 'sam', 1, 'fault-silent-key');
  expect(retried.status).toBe(201);
  expect(await api.ledger('fault-silent')).toMatchObject({ available: 9, held: 1 });
});

test('checkout: the charge and then the confirmation lose their answers; one charge, one order, units sold once', async () => {
  await product('fault-checkout');
  const { reservationId } = (await api.reserve('fault-checkout', 'ben', 3, 'fault-checkout-key')).body;
  loseAnswersOnce('charge', putsItemUnder('CHARGE#'));
  const checkout = () =>
    api.call('POST', `/reservations/${reservationId}/checkout`, { body: { paymentToken: 'tok_visa' } });

  expect((await checkout()).status).toBe(503);
  loseAnswersOnce(
    'confirm',
    transactionThat((request) => putsKey(request, 'ORDER#')),
  );
  expect((await checkout()).status).toBe(503);
  const third = await checkout();
  const fourth = await checkout();

  expect(third.status).toBe(201);
  expect(fourth.body.orderId).toBe(third.body.orderId);
  expect(await api.ledger('fault-checkout')).toMatchObject({ available: 7, held: 0, sold: 3 });
  const reservation = await item(`RESERVATION#${reservationId}`);
  expect(reservation?.orderId).toBe(third.body.orderId);
  const chargeId = (await item(`ORDER#${third.body.orderId}`))?.chargeId;
  expect(chargeId).toBeDefined();
  expect((await item(`CHARGE#${chargeId}`))?.refunded).toBe(false);
});

test('release: the release commits, its answer is lost; the retry is a no-op and the units came back once', async () => {
  await product('fault-release');
  const { reservationId } = (await api.reserve('fault-release', 'chloe', 4, 'fault-release-key')).body;
  loseAnswersOnce(
    'release',
    transactionThat((request) => ends(request, 'RELEASED')),
  );

  expect((await api.call('DELETE', `/reservations/${reservationId}`)).status).toBe(503);
  const retried = await api.call('DELETE', `/reservations/${reservationId}`);

  expect(retried.status).toBe(200);
  expect(retried.body.status).toBe('RELEASED');
  expect(await api.ledger('fault-release')).toMatchObject({ available: 10, held: 0, released: 4 });
});

test('expiry: a sweep loses the answer of an expiry it committed; the next sweep returns nothing twice', async () => {
  await api.putProduct('fault-expiry', {
    name: 'x',
    priceCents: 1,
    stock: 10,
    shards: 2,
    maxPerCustomer: 5,
    holdSeconds: 1,
  });
  // Armed before the hold can expire: whichever sweep expires it first — the schedule's or this test's —
  // meets the fault, reports the hold's expiry failed and goes on.
  const loss = loseAnswersOnce(
    'expire',
    transactionThat((request) => ends(request, 'EXPIRED') && updatesKey(request, 'STOCK#fault-expiry#')),
  );
  await api.reserve('fault-expiry', 'dev', 3, 'fault-expiry-key');
  await new Promise((resolve) => setTimeout(resolve, 1200));
  await eventually(
    async () => {
      await stack.runSchedules();
      expect(loss.lost).toBe(MAX_ATTEMPTS);
    },
    { timeoutMs: 15_000 },
  );
  await stack.runSchedules();

  expect(await api.ledger('fault-expiry')).toMatchObject({ available: 10, held: 0, expired: 3 });
});

test('fulfilment: the dispatch commits, its answer is lost; redelivery dispatches once and fulfils the order', async () => {
  // The template's visibility timeout (six times the consumer's) would make the redelivery three minutes
  // away; an operator's change of the running queue's attribute brings it to two seconds. What is tested is
  // that redelivery dispatches once, not how long SQS hides a failed message.
  const ordersQueue = resourceNamed(stack, 'AWS::SQS::Queue', 'OrdersQueue');
  const sqs = new SQSClient({ endpoint: stack.endpoints.sqs });
  await sqs.send(new SetQueueAttributesCommand({ QueueUrl: ordersQueue.ref, Attributes: { VisibilityTimeout: '2' } }));
  sqs.destroy();

  await product('fault-fulfil');
  const { reservationId } = (await api.reserve('fault-fulfil', 'eli', 1, 'fault-fulfil-key')).body;
  loseAnswersOnce('dispatch', putsItemUnder('DISPATCH#'));
  const { orderId } = (
    await api.call('POST', `/reservations/${reservationId}/checkout`, { body: { paymentToken: 'tok_visa' } })
  ).body;

  await eventually(async () => expect((await api.call('GET', `/orders/${orderId}`)).body.status).toBe('FULFILLED'), {
    timeoutMs: 30_000,
  });
  expect(await item(`DISPATCH#${orderId}`)).toBeDefined();
  // The first delivery's dispatch wrote and lost its answers; the redelivery's conditional put found it.
  expect(stack.dynamodbRequests.itemWrites().get(`DISPATCH#${orderId}`)).toBeGreaterThan(MAX_ATTEMPTS);
});

test('restock: the units are added, the answer is lost; 503 + Retry-After, and the retry adds nothing more', async () => {
  await product('fault-restock');
  loseAnswersOnce(
    'restock',
    transactionThat((request) => putsKey(request, 'RESTOCK#fault-restock#')),
  );
  const restock = () =>
    api.call('POST', '/admin/products/fault-restock/restock', {
      body: { quantity: 6 },
      headers: { 'idempotency-key': 'fault-restock-1' },
      admin: true,
    });

  const lost = await restock();
  expect(lost.status).toBe(503);
  expect(lost.headers['retry-after']).toBe('1');
  const retried = await restock();

  expect(retried.status).toBe(200);
  expect(retried.headers['idempotent-replayed']).toBe('true');
  expect(await api.ledger('fault-restock')).toMatchObject({ supplied: 16, available: 16 });
});
