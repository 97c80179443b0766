/**
 * Fault injection at each step of reserve, checkout, release, expiry and
 * fulfilment, through the local stack: the write reaches DynamoDB Local, then
 * its answer is lost (a timeout, as when a function dies or the network drops
 * after the commit). aws-sdk-client-mock wraps the handlers' own document
 * client for this — the emulator cannot lose an answer — and passes every
 * other call through to DynamoDB Local untouched.
 *
 * Each step must answer 503 with Retry-After (or, for queue and schedule
 * work, fail so the platform retries), and the retry must produce the effect
 * exactly once: one hold, one order, one charge, one dispatch, units back once.
 */
import { GetCommand, PutCommand, TransactWriteCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { type AwsClientStub, mockClient } from 'aws-sdk-client-mock';
import { ApiClient } from '../../local/api-client';
import { eventually } from '../support/eventually';
import {
  startHandWiredTestStack as startTestStack,
  type HandWiredTestStack as TestStack,
} from '../support/local-stack';

type Input = Record<string, unknown>;
type Armed = { label: string; matches: (command: string, input: Input) => boolean; fired: boolean };

let stack: TestStack;
let api: ApiClient;
let documentClient: typeof import('../../lambdas/shared/composition').documentClient;
let mock: AwsClientStub<typeof documentClient>;
let armed: Armed[] = [];
const injected: string[] = [];

class LostAnswerError extends Error {
  override readonly name = 'TimeoutError';
  readonly $retryable = { throttling: false };
}

/** Loses the answer of the next call matching `matches`, after letting its write through. */
function loseAnswerOnce(label: string, matches: Armed['matches']): Armed {
  const fault: Armed = { label, matches, fired: false };
  armed.push(fault);
  injected.push(label);
  return fault;
}

const items = (input: Input) => (input.TransactItems ?? []) as Array<Record<string, Input>>;
const putsKey = (input: Input, prefix: string) =>
  items(input).some((item) => String((item.Put?.Item as Input | undefined)?.pk ?? '').startsWith(prefix));
/** A single PutItem of an item whose key starts with `prefix`. */
const putsItemUnder = (prefix: string) => (command: string, input: Input) =>
  command === 'Put' && String((input.Item as Input).pk).startsWith(prefix);
const updatesKey = (input: Input, prefix: string) =>
  items(input).some((item) => String((item.Update?.Key as Input | undefined)?.pk ?? '').startsWith(prefix));
const ends = (input: Input, status: string) =>
  items(input).some((item) => (item.Update?.ExpressionAttributeValues as Input | undefined)?.[':to'] === status);

beforeAll(async () => {
  stack = await startTestStack();
  api = new ApiClient(stack.url, stack.adminKey, 16);
  ({ documentClient } = await import('../../lambdas/shared/composition'));
  const realSend = documentClient.send.bind(documentClient) as (command: unknown) => Promise<unknown>;
  mock = mockClient(documentClient);
  const passThrough = (name: string, Command: new (input: never) => unknown) => async (input: Input) => {
    const fault = armed.find((candidate) => !candidate.fired && candidate.matches(name, input));
    const answer = await realSend(new Command(input as never));
    if (!fault) return answer;
    fault.fired = true;
    throw new LostAnswerError('the answer was lost after the write');
  };
  mock.on(TransactWriteCommand).callsFake(passThrough('TransactWrite', TransactWriteCommand));
  mock.on(PutCommand).callsFake(passThrough('Put', PutCommand));
  mock.on(UpdateCommand).callsFake(passThrough('Update', UpdateCommand));
  mock.send.callThrough();
});

afterEach(() => {
  const unfired = armed.filter((fault) => !fault.fired).map((fault) => fault.label);
  armed = []; // disarmed whatever happens, so a fault never leaks into the next test
  expect(unfired).toEqual([]);
});

afterAll(async () => {
  mock?.restore();
  await api.close();
  await stack.stop();
  console.log(`fault injection: ${injected.length} answers lost after the write (${injected.join(', ')})`);
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
  loseAnswerOnce('reserve', (command, input) => command === 'TransactWrite' && putsKey(input, 'IDEMPOTENCY#'));

  const first = await api.reserve('fault-reserve', 'ana', 2, 'fault-reserve-key');
  expect(first.status).toBe(503);
  expect(first.headers['retry-after']).toBe('1');
  expect(first.body.error.code).toBe('UNAVAILABLE');

  const retried = await api.reserve('fault-reserve', 'ana', 2, 'fault-reserve-key');
  expect(retried.status).toBe(201);
  expect(await api.ledger('fault-reserve')).toMatchObject({ available: 8, held: 2, sold: 0 });
});

test('checkout: the charge and then the confirmation lose their answers; one charge, one order, units sold once', async () => {
  await product('fault-checkout');
  const { reservationId } = (await api.reserve('fault-checkout', 'ben', 3, 'fault-checkout-key')).body;
  loseAnswerOnce('charge', putsItemUnder('CHARGE#'));
  const checkout = () =>
    api.call('POST', `/reservations/${reservationId}/checkout`, { body: { paymentToken: 'tok_visa' } });

  expect((await checkout()).status).toBe(503);
  loseAnswerOnce('confirm', (command, input) => command === 'TransactWrite' && putsKey(input, 'ORDER#'));
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
  loseAnswerOnce('release', (command, input) => command === 'TransactWrite' && ends(input, 'RELEASED'));

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
  // Armed before the hold can expire: whichever sweep expires it first — the scheduled one (every
  // second) or this test's — meets the fault.
  const fault = loseAnswerOnce(
    'expire',
    (command, input) =>
      command === 'TransactWrite' && ends(input, 'EXPIRED') && updatesKey(input, 'STOCK#fault-expiry#'),
  );
  await api.reserve('fault-expiry', 'dev', 3, 'fault-expiry-key');
  const { expireHolds } = await import('../../lambdas/handlers/expire-holds');
  await new Promise((resolve) => setTimeout(resolve, 1200));
  await expireHolds().catch(() => undefined);
  await eventually(async () => expect(fault.fired).toBe(true), { timeoutMs: 5000 });
  await stack.runSchedules();
  await expireHolds();

  expect(await api.ledger('fault-expiry')).toMatchObject({ available: 10, held: 0, expired: 3 });
});

test('fulfilment: the dispatch commits, its answer is lost; redelivery dispatches once and fulfils the order', async () => {
  await product('fault-fulfil');
  const { reservationId } = (await api.reserve('fault-fulfil', 'eli', 1, 'fault-fulfil-key')).body;
  loseAnswerOnce('dispatch', putsItemUnder('DISPATCH#'));
  const { orderId } = (
    await api.call('POST', `/reservations/${reservationId}/checkout`, { body: { paymentToken: 'tok_visa' } })
  ).body;

  await eventually(async () => expect((await api.call('GET', `/orders/${orderId}`)).body.status).toBe('FULFILLED'), {
    timeoutMs: 30_000,
  });
  const dispatch = await item(`DISPATCH#${orderId}`);
  expect(dispatch).toBeDefined();
  const calls = mock
    .commandCalls(PutCommand)
    .filter((call) => String((call.args[0].input.Item as Input).pk) === `DISPATCH#${orderId}`);
  // The first dispatch wrote and lost its answer; the redelivery's conditional put found it and wrote nothing new.
  expect(calls.length).toBeGreaterThanOrEqual(2);
});

test('restock: the units are added, the answer is lost; 503 + Retry-After, and the retry adds nothing more', async () => {
  await product('fault-restock');
  loseAnswerOnce(
    'restock',
    (command, input) => command === 'TransactWrite' && putsKey(input, 'RESTOCK#fault-restock#'),
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
