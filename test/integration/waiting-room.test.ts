/**
 * The waiting room, end to end on the local stack: the edge function (the file that deploys, in the
 * CloudFront Functions sandbox) issues signed tickets and admission tokens from the KeyValueStore's keys,
 * the admission controller moves the boundary once a second from what the stock path takes, and the
 * origin checks a token again and binds it to the customer. Tickets taken before the start are shuffled,
 * not first-come: the order the room admits them in is not the order they arrived in. While the origin
 * sheds attempts for load, the controller holds the boundary back.
 */
import { request } from 'node:http';
// The KeyValueStore signs with SigV4A: this registers the SDK's pure-JavaScript signer.
import '@aws-sdk/signature-v4a';
import { CloudFrontKeyValueStoreClient, GetKeyCommand } from '@aws-sdk/client-cloudfront-keyvaluestore';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { ADMISSION_SKEW_MS } from '../../contract/drops';
import { EdgeRoom } from '../../contract/edge-values';
import { envVars } from '../../contract/env-vars';
import { DynamoDbShedCounts } from '../../lambdas/adapters/dynamodb-shed-counts';
import { ApiClient, attemptKey } from '../../local/api-client';
import { LOCAL_AWS_ENV } from '../../local/emulators/embedded-aws';
import { eventually } from '../support/eventually';
import { expectBalanced } from '../support/ledger';
import { type AssemblyTestStack, startTestStack } from '../support/local-stack';
import { codeOf, waitingRoom } from '../support/waiting-room';

let stack: AssemblyTestStack;
let api: ApiClient;

beforeAll(async () => {
  stack = await startTestStack();
  api = new ApiClient(stack.url, stack.adminKey);
});

afterAll(async () => {
  await api.close();
  await stack.stop();
});

const { queue, reserve } = waitingRoom(() => api);

async function roomOn(sku: string, product: Record<string, unknown>) {
  expect((await api.putProduct(sku, { name: sku, priceCents: 100, maxPerCustomer: 1, ...product })).status).toBe(201);
  const on = await api.call('POST', `/admin/drops/${sku}/waiting-room-on`, { admin: true });
  expect([on.status, on.body]).toEqual([200, { sku, state: 'OPEN', waitingRoom: true }]);
  // The edge knows once the writer has carried the change into the KeyValueStore: its queue issues tickets.
  await eventually(async () => expect((await queue(sku, 'probe')).body.ticket).toEqual(expect.any(String)));
}

/** Queues `customer` and waits, keeping the ticket (asking without it is arriving again, at the back), until let in. */
async function letIn(sku: string, customer: string) {
  const { ticket } = (await queue(sku, customer)).body;
  return eventually(
    async () => {
      const place = await queue(sku, customer, ticket);
      expect(place.body.admitted).toBe(true);
      return place.body;
    },
    { timeoutMs: 30_000 },
  );
}

test('tickets taken before the start are shuffled (admitted in another order than they came), and tokens admit their customer only', async () => {
  const sku = 'room-prequeue';
  // Far enough ahead that the room is on at the edge before the start on a loaded machine (the writer's
  // news took over 6 s once).
  const startsAt = new Date(Date.now() + 20_000).toISOString();
  await roomOn(sku, { stock: 20, dropStartsAt: startsAt });
  expect(Date.now()).toBeLessThan(Date.parse(startsAt) - 2_000);

  const customers = Array.from({ length: 12 }, (_, index) => `early-${index}`);
  const tickets = new Map<string, string>();
  for (const customer of customers) {
    const place = await queue(sku, customer);
    expect(place.status).toBe(200);
    expect(place.headers['x-dropline-edge']).toBe('answered');
    expect(place.body).toMatchObject({ state: 'NOT_STARTED', admitted: false });
    expect(place.body.admission).toBeUndefined();
    tickets.set(customer, place.body.ticket);
  }
  // A ticket is bound to its customer and its drop, and cannot be made up.
  const [first] = customers as [string];
  const stolen = await queue(sku, 'thief', tickets.get(first));
  expect([stolen.status, codeOf(stolen)]).toEqual([403, 'TICKET_WRONG_CUSTOMER']);
  const forged = await queue(sku, first, `${tickets.get(first)?.slice(0, -2)}xx`);
  expect([forged.status, codeOf(forged)]).toEqual([403, 'TICKET_INVALID']);

  // After the start the boundary moves through the pre-queue: everyone gets in, in rank order.
  const admittedAt = new Map<string, number>();
  await eventually(
    async () => {
      for (const customer of customers) {
        if (admittedAt.has(customer)) continue;
        const place = await queue(sku, customer, tickets.get(customer));
        expect(place.status).toBe(200);
        if (place.body.admitted) admittedAt.set(customer, admittedAt.size);
      }
      expect(admittedAt.size).toBe(customers.length);
    },
    { timeoutMs: 60_000, intervalMs: 200 },
  );
  const order = [...admittedAt.keys()];
  // Shuffled: the arrival order would be early-0, early-1, …; a keyed hash ranks them otherwise.
  expect(order).not.toEqual(customers);

  const place = await queue(sku, first, tickets.get(first));
  const admission = place.body.admission as string;
  expect(admission).toEqual(expect.any(String));
  // Without a token, with a forged one, or another customer's: refused (the edge, or the origin for a customer).
  expect(codeOf(await reserve(sku, first))).toBe('ADMISSION_REQUIRED');
  expect(codeOf(await reserve(sku, first, `${admission.slice(0, -2)}xx`))).toBe('ADMISSION_INVALID');
  const borrowed = await reserve(sku, 'someone-else', admission);
  expect([borrowed.status, codeOf(borrowed), borrowed.headers['x-dropline-edge']]).toEqual([
    403,
    'ADMISSION_WRONG_CUSTOMER',
    undefined,
  ]);
  // Spelled with a %-escape, the path names this drop at the origin (API Gateway decodes it) but not at the
  // edge (CloudFront hands the function the path as sent): the edge refuses it rather than pass it unchecked.
  const escaped = await api.call('POST', `/products/%72${sku.slice(1)}/reservations`, {
    body: { customerId: first, quantity: 1 },
    headers: { 'idempotency-key': attemptKey(), 'x-dropline-admission': admission },
  });
  expect([escaped.status, codeOf(escaped), escaped.headers['x-dropline-edge']]).toEqual([
    400,
    'VALIDATION_ERROR',
    'answered',
  ]);
  // Sent twice, a header would be read first by the edge and last by the origin: the edge refuses it.
  const twice = await postTwice(`/products/${sku}/reservations`, 'x-dropline-admission', ['junk', admission], {
    'idempotency-key': attemptKey(),
  });
  expect(twice).toEqual({ status: 400, code: 'VALIDATION_ERROR', edge: 'answered' });
  const held = await reserve(sku, first, admission);
  expect(held.status).toBe(201);
  expectBalanced(await api.ledger(sku));
});

/** POSTs a reservation with `name` sent once per value (Node sends an array's values as separate lines). */
function postTwice(path: string, name: string, values: string[], headers: Record<string, string>) {
  return new Promise<{ status: number; code: string | undefined; edge: string | undefined }>((resolve, reject) => {
    const body = JSON.stringify({ customerId: 'twice', quantity: 1 });
    const sent = request(
      new URL(path, stack.url),
      { method: 'POST', headers: { 'content-type': 'application/json', ...headers, [name]: values } },
      (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          const parsed = text === '' ? {} : (JSON.parse(text) as { error?: { code?: string } });
          const edge = response.headers['x-dropline-edge'];
          resolve({
            status: response.statusCode ?? 0,
            code: parsed.error?.code,
            edge: typeof edge === 'string' ? edge : undefined,
          });
        });
      },
    );
    sent.on('error', reject);
    sent.end(body);
  });
}

test('everyone waiting is told SOLD_OUT at once, and held-out units are announced as possibly coming back', async () => {
  const sku = 'room-sellout';
  await roomOn(sku, { stock: 1 });
  const buyer = await letIn(sku, 'buyer');
  const hold = await reserve(sku, 'buyer', buyer.admission);
  expect([hold.status, hold.body]).toEqual([201, expect.objectContaining({ customerId: 'buyer' })]);
  await eventually(async () => {
    const waiting = await queue(sku, 'late');
    // Asked again sooner while every unit is held: a unit that comes back goes to whoever is next.
    expect(waiting.body).toMatchObject({ state: 'WAITING_FOR_RETURNS', admitted: false, mayReturn: 1, pollSeconds: 1 });
  });
  const id = (hold.body as { reservationId: string }).reservationId;
  expect((await api.call('POST', `/reservations/${id}/checkout`, { body: { paymentToken: 'tok_ok' } })).status).toBe(
    201,
  );
  await eventually(async () => {
    const waiting = await queue(sku, 'late');
    expect(waiting.body).toMatchObject({ state: 'SOLD_OUT', admitted: false, pollSeconds: 2 });
    // And attempts are answered at the edge, token or not.
    const attempt = await reserve(sku, 'late');
    expect([attempt.status, codeOf(attempt), attempt.headers['x-dropline-edge']]).toEqual([
      409,
      'SOLD_OUT',
      'answered',
    ]);
  });
});

test('after the sell-out a retry of the hold is still replayed, and an attempt from since the room was on without its admission is answered at the edge', async () => {
  const sku = 'room-retry';
  await roomOn(sku, { stock: 1 });
  // The edge dated the room when its writer carried the change, before roomOn returned: keys minted from
  // here on are from after it, with the skew the edge allows.
  await new Promise((resolve) => setTimeout(resolve, ADMISSION_SKEW_MS + 500));
  const buyer = await letIn(sku, 'buyer');
  const key = attemptKey();
  const hold = await reserve(sku, 'buyer', buyer.admission, key);
  expect(hold.status).toBe(201);
  // Minted before the sell-out: within the edge's retry window (since + skew) once the drop sells out.
  const bareKey = attemptKey();
  const id = (hold.body as { reservationId: string }).reservationId;
  expect((await api.call('POST', `/reservations/${id}/checkout`, { body: { paymentToken: 'tok_ok' } })).status).toBe(
    201,
  );
  await eventually(async () => expect((await queue(sku, 'late')).body.state).toBe('SOLD_OUT'));

  // The retry of the attempt that made the hold (its key and admission): the origin replays the hold.
  const retry = await reserve(sku, 'buyer', buyer.admission, key);
  expect([retry.status, retry.body.reservationId, retry.headers['idempotent-replayed']]).toEqual([201, id, 'true']);
  expect(retry.headers['x-dropline-edge']).toBeUndefined();
  // A key as old, without an admission: its first attempt needed one too, so it made no hold. Answered here.
  const bare = await reserve(sku, 'buyer', undefined, bareKey);
  expect([bare.status, codeOf(bare), bare.headers['x-dropline-edge']]).toEqual([409, 'SOLD_OUT', 'answered']);
  expectBalanced(await api.ledger(sku));
});

test('a drop without a waiting room admits everyone, and the queue says so', async () => {
  const sku = 'room-off';
  await api.putProduct(sku, { name: sku, priceCents: 100, stock: 3 });
  await eventually(async () => {
    const place = await queue(sku, 'anyone');
    expect([place.status, place.body.admitted, place.body.position]).toEqual([200, true, 0]);
  });
  expect((await reserve(sku, 'anyone')).status).toBe(201);
});

test('while the origin sheds attempts for load, the controller holds the boundary back: the reservation function counts them, the controller reads the count', async () => {
  const sku = 'room-shedding';
  const noRoom = 'roomless-shedding';
  await roomOn(sku, { stock: 40 });
  expect((await api.putProduct(noRoom, { name: noRoom, priceCents: 100, stock: 5 })).status).toBe(201);
  const { admission } = await letIn(sku, 'shed-1');
  const local = { region: LOCAL_AWS_ENV.AWS_REGION, credentials: { accessKeyId: 'local', secretAccessKey: 'local' } };
  const dynamodb = new DynamoDBClient({ ...local, endpoint: stack.endpoints.dynamodb });
  const counts = new DynamoDbShedCounts(DynamoDBDocumentClient.from(dynamodb), stack.tableName);
  const endpoint = stack.endpoints.cloudfrontKeyValueStore;
  if (!endpoint) throw new Error('the assembly stack runs no KeyValueStore');
  const kvs = new CloudFrontKeyValueStoreClient({ ...local, endpointProvider: () => ({ url: new URL(endpoint) }) });
  const arn = stack.environment('AdvanceAdmission')[envVars.edgeStoreArn];
  const room = async () => {
    const { Value } = await kvs.send(new GetKeyCommand({ KvsARN: arn, Key: `room:${sku}` }));
    return EdgeRoom.parse(JSON.parse(String(Value)));
  };
  try {
    // DynamoDB Local never throttles: the proxy before it refuses the hold's transaction as DynamoDB does
    // under load, round after round, until the function gives up.
    stack.dynamodbRequests.injectFault(['TransactWriteItems'], {
      kind: 'error',
      type: 'ProvisionedThroughputExceededException',
    });
    const refused = await reserve(sku, 'shed-1', admission);
    // Refused for load, whichever way the function gave up (its retries spent, or its deadline near).
    const shed = ['429 BUSY', '429 THROTTLED', '503 UNAVAILABLE'];
    expect(shed).toContain(`${refused.status} ${codeOf(refused)}`);
    expect(refused.headers['retry-after']).toBe('1');
    expect(await counts.total(sku)).toBe(1);

    // Each refusal below comes over a second after the environment's last write of the count, so it writes
    // what it counted before it answers (a new environment writes at once).
    const afterAWrite = () => new Promise((resolve) => setTimeout(resolve, 1_100));
    const throttled = { kind: 'error', type: 'ProvisionedThroughputExceededException' } as const;
    // Refused for load without an admission for their SKU: a drop without a room, and a made-up SKU (its
    // product read throttled) sent with the room's admission. Neither is the room's news, nor takes one of
    // the count's SKU slots.
    await afterAWrite();
    const roomless = await reserve(noRoom, 'shed-2');
    expect(shed).toContain(`${roomless.status} ${codeOf(roomless)}`);
    expect(await counts.total(noRoom)).toBe(0);
    stack.dynamodbRequests.clearFaults();
    stack.dynamodbRequests.injectFault(['GetItem'], throttled);
    await afterAWrite();
    const madeUp = await reserve('made-up-sku', 'shed-1', admission);
    expect(shed).toContain(`${madeUp.status} ${codeOf(madeUp)}`);
    expect(await counts.total('made-up-sku')).toBe(0);
    // Through the room, refused before its admission is checked: the product's read throttled (the cached
    // copy is over a second old; the hold's transaction would go through now). Counted.
    await afterAWrite();
    const unread = await reserve(sku, 'shed-1', admission);
    stack.dynamodbRequests.clearFaults();
    expect(`${unread.status} ${codeOf(unread)}`).toBe('429 THROTTLED');
    expect(await counts.total(sku)).toBe(2);

    // Nothing taken: the boundary has been speeding up. Many environments refusing, 20 attempts a second:
    // the controller (the assembly's, ticking every second) reads the count and slows down.
    const before = (await room()).speed;
    expect(before).toBeGreaterThan(0);
    const shedding = setInterval(() => void counts.add(sku, 10), 500);
    try {
      await eventually(
        async () => {
          const now = await room();
          expect(now.shedRate).toBeGreaterThanOrEqual(1);
          expect(now.speed).toBeLessThanOrEqual(Math.round(before * (2 / 3) ** 2));
        },
        { timeoutMs: 20_000 },
      );
    } finally {
      clearInterval(shedding);
    }
  } finally {
    stack.dynamodbRequests.clearFaults();
    kvs.destroy();
    dynamodb.destroy();
  }
});
