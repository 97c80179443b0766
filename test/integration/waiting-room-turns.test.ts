/**
 * Units that come back go to the next in line. A shopper let in has a window of open drop to use their
 * turn (`ADMISSION_WINDOW_SECONDS`, 5 s here, the shortest, for speed; 30 s by default); once it has run while every unit
 * was held, the room's floor passes them: the queue tells them their turn passed and the edge refuses
 * their admission, so a unit released afterwards goes to the shopper queued behind them, not to the one
 * who kept their token and retried.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { ADMISSION_SKEW_MS } from '../../contract/drops';
import { ApiClient, attemptKey } from '../../local/api-client';
import { eventually } from '../support/eventually';
import { expectBalanced } from '../support/ledger';
import { startTestStack, type TestStack } from '../support/local-stack';
import { codeOf, type Place, waitingRoom } from '../support/waiting-room';

let stack: TestStack;
let api: ApiClient;

beforeAll(async () => {
  stack = await startTestStack({ environment: { ADMISSION_WINDOW_SECONDS: '5' } });
  api = new ApiClient(stack.url, stack.adminKey);
});

afterAll(async () => {
  await api.close();
  await stack.stop();
});

const { queue, reserve } = waitingRoom(() => api);

async function admittedPlace(sku: string, customerId: string, ticket: string): Promise<Place> {
  return eventually(
    async () => {
      const place = await queue(sku, customerId, ticket);
      expect(place.body.admitted).toBe(true);
      return place.body;
    },
    { timeoutMs: 30_000 },
  );
}

test('a released unit goes to the next in line: the shopper whose turn passed is refused at the edge', async () => {
  const sku = 'room-turns';
  expect((await api.putProduct(sku, { name: sku, priceCents: 100, stock: 1, maxPerCustomer: 1 })).status).toBe(201);
  expect((await api.call('POST', `/admin/drops/${sku}/waiting-room-on`, { admin: true })).status).toBe(200);
  await eventually(async () => expect((await queue(sku, 'probe')).body.ticket).toEqual(expect.any(String)));

  const firstTicket = (await queue(sku, 'first')).body.ticket;
  const first = await admittedPlace(sku, 'first', firstTicket);
  const hold = await reserve(sku, 'first', first.admission);
  expect(hold.status).toBe(201);
  // Another attempt while the turn is still on: refused (one per customer), and its key kept for later.
  const earlyKey = attemptKey();
  expect((await reserve(sku, 'first', first.admission, earlyKey)).status).toBe(409);

  // Every unit held: the boundary stands, and a shopper arriving now queues behind it.
  await eventually(async () => expect((await queue(sku, 'probe')).body.state).toBe('WAITING_FOR_RETURNS'));
  const secondTicket = (await queue(sku, 'second')).body.ticket;
  expect((await queue(sku, 'second', secondTicket)).body).toMatchObject({ admitted: false, mayReturn: 1 });

  // A window (or two) of open drop later, the first shopper's turn has passed.
  const passed = await eventually(
    async () => {
      const place = await queue(sku, 'first', firstTicket);
      expect(place.body).toMatchObject({ admitted: false, turnPassed: true });
      return place;
    },
    { timeoutMs: 20_000 },
  );
  expect(passed.headers['x-dropline-edge']).toBe('answered');
  expect(passed.body.admission).toBeUndefined();
  // An attempt keyed (UUIDv7) up to the skew after the floor rose may be the retry of one that made a hold,
  // and the edge passes it on: the first shopper's next attempt comes later than that.
  await sleep(ADMISSION_SKEW_MS);

  // The hold is given back. The first shopper's token has not expired (2 minutes), but the turn it was for has.
  const released = await api.call('DELETE', `/reservations/${hold.body.reservationId}`);
  expect(released.status).toBe(200);
  await eventually(async () => expect((await queue(sku, 'probe')).body.state).toBe('OPEN'));
  const again = await reserve(sku, 'first', first.admission);
  expect([again.status, codeOf(again), again.headers['x-dropline-edge']]).toEqual([
    403,
    'ADMISSION_EXPIRED',
    'answered',
  ]);

  // Resending the key made before the turn passed reaches the origin (it might retry a hold), marked by the
  // edge: the origin replays a hold or refuses, and makes no new one.
  const resent = await reserve(sku, 'first', first.admission, earlyKey);
  expect([resent.status, codeOf(resent), resent.headers['x-dropline-edge']]).toEqual([
    403,
    'ADMISSION_EXPIRED',
    undefined,
  ]);

  // The next in line is let in and gets the unit.
  const second = await admittedPlace(sku, 'second', secondTicket);
  const secondHold = await reserve(sku, 'second', second.admission);
  expect(secondHold.status).toBe(201);
  expectBalanced(await api.ledger(sku));
  expect(await api.ledger(sku)).toMatchObject({ supplied: 1, held: 1, released: 1 });
});
