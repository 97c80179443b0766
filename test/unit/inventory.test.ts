/**
 * @jest-environment node
 *
 * The inventory rules (reserve, release, expiry) on in-memory fakes of the
 * ports: no emulator, no network, and time moved by hand.
 */
import * as errors from '../../lambdas/domain/errors';
import { POISON_HOLD_DEFER_MS } from '../../lambdas/domain/inventory';
import { chargeKeyFor } from '../../lambdas/domain/model';
import { CHARGE_WINDOW_MS } from '../../lambdas/domain/refunds';
import { type Drop, fakeDrop } from '../support/fakes/drop';
import { TransientFaultError } from '../support/fakes/faults';

const HOLD_MS = 300_000;

function reserve(drop: Drop, sku: string, customerId: string, quantity = 1, idempotencyKey = `${customerId}-key`) {
  return drop.inventory.reserve({ sku, customerId, quantity, idempotencyKey });
}

describe('reserve', () => {
  test('holds the units asked on one shard, at the product’s price, until holdSeconds from now', async () => {
    const drop = fakeDrop();
    const { sku } = await drop.product({ priceCents: 24_000, holdSeconds: 300 });

    const { reservation, replayed } = await reserve(drop, sku, 'alice', 2);

    expect(replayed).toBe(false);
    expect(reservation).toMatchObject({
      status: 'HELD',
      quantity: 2,
      unitPriceCents: 24_000,
      allocation: { 0: 2 },
      expiresAt: new Date(drop.clock.now() + HOLD_MS).toISOString(),
    });
    expect(await drop.inventory.ledger(sku)).toMatchObject({ supplied: 10, available: 8, held: 2 });
    expect(drop.store.unitsCountedFor(sku, 'alice')).toBe(2);
  });

  test('a retry under the same Idempotency-Key answers the first hold and takes nothing more', async () => {
    const drop = fakeDrop();
    const { sku } = await drop.product();
    const first = await reserve(drop, sku, 'alice', 2, 'key-1');

    const retry = await reserve(drop, sku, 'alice', 2, 'key-1');

    expect(retry).toEqual({ reservation: first.reservation, replayed: true });
    expect(await drop.inventory.ledger(sku)).toMatchObject({ available: 8, held: 2 });
  });

  test('a retry after an answer lost on the way back gets the hold that was placed', async () => {
    const drop = fakeDrop();
    const { sku } = await drop.product();
    drop.store.faults.loseAnswer('placeHold', new TransientFaultError('timeout'));
    await expect(reserve(drop, sku, 'alice', 1, 'key-1')).rejects.toBeInstanceOf(TransientFaultError);

    const retry = await reserve(drop, sku, 'alice', 1, 'key-1');

    expect(retry.replayed).toBe(true);
    expect(await drop.inventory.ledger(sku)).toMatchObject({ available: 9, held: 1 });
  });

  test('a retry is answered with its hold even once the product has sold out', async () => {
    const drop = fakeDrop();
    const { sku } = await drop.product({ stock: 2, shards: 1 });
    const first = await reserve(drop, sku, 'alice', 2, 'key-1');

    const retry = await reserve(drop, sku, 'alice', 2, 'key-1');

    expect(retry).toMatchObject({ replayed: true, reservation: { reservationId: first.reservation.reservationId } });
  });

  test('a retry is answered with its hold after the drop was postponed; a new request is refused', async () => {
    const drop = fakeDrop();
    const { sku } = await drop.product();
    const first = await reserve(drop, sku, 'alice', 1, 'key-1');
    const later = new Date(drop.clock.now() + 86_400_000).toISOString();
    await drop.product({ sku, dropStartsAt: later });

    const retry = await reserve(drop, sku, 'alice', 1, 'key-1');

    expect(retry).toMatchObject({ replayed: true, reservation: { reservationId: first.reservation.reservationId } });
    await expect(reserve(drop, sku, 'alice', 1, 'key-2')).rejects.toBeInstanceOf(errors.DropNotStartedError);
  });

  test('refuses a reused key with another quantity as IDEMPOTENCY_MISMATCH and changes nothing', async () => {
    const drop = fakeDrop();
    const { sku } = await drop.product();
    await reserve(drop, sku, 'alice', 1, 'key-1');

    await expect(reserve(drop, sku, 'alice', 2, 'key-1')).rejects.toBeInstanceOf(errors.IdempotencyMismatchError);

    expect(await drop.inventory.ledger(sku)).toMatchObject({ available: 9, held: 1 });
  });

  test('refuses a reused key for another product as IDEMPOTENCY_MISMATCH', async () => {
    const drop = fakeDrop();
    const shoes = await drop.product();
    const shirts = await drop.product();
    await reserve(drop, shoes.sku, 'alice', 1, 'key-1');

    await expect(reserve(drop, shirts.sku, 'alice', 1, 'key-1')).rejects.toBeInstanceOf(
      errors.IdempotencyMismatchError,
    );

    expect(await drop.inventory.ledger(shirts.sku)).toMatchObject({ available: 10, held: 0 });
  });

  test('another customer’s identical key is another request', async () => {
    const drop = fakeDrop();
    const { sku } = await drop.product();
    const alice = await reserve(drop, sku, 'alice', 1, 'key-1');

    const bob = await reserve(drop, sku, 'bob', 1, 'key-1');

    expect(bob.replayed).toBe(false);
    expect(bob.reservation.reservationId).not.toBe(alice.reservation.reservationId);
    expect(await drop.inventory.ledger(sku)).toMatchObject({ held: 2 });
  });

  test('refuses more than the per-customer limit in one request without writing', async () => {
    const drop = fakeDrop();
    const { sku } = await drop.product({ maxPerCustomer: 2 });

    await expect(reserve(drop, sku, 'alice', 3)).rejects.toEqual(new errors.LimitExceededError(2));

    expect(drop.store.faults.calls('placeHold')).toBe(0);
  });

  test('refuses a customer whose holds already reach the limit, whatever the key', async () => {
    const drop = fakeDrop();
    const { sku } = await drop.product({ maxPerCustomer: 2 });
    await reserve(drop, sku, 'alice', 2, 'key-1');

    await expect(reserve(drop, sku, 'alice', 1, 'key-2')).rejects.toBeInstanceOf(errors.LimitExceededError);

    expect(await drop.inventory.ledger(sku)).toMatchObject({ available: 8, held: 2 });
  });

  test('units bought still count against the limit', async () => {
    const drop = fakeDrop();
    const { sku } = await drop.product({ maxPerCustomer: 2 });
    const { reservation } = await reserve(drop, sku, 'alice', 2, 'key-1');
    await drop.checkout.checkout(reservation.reservationId, 'tok_visa');

    await expect(reserve(drop, sku, 'alice', 1, 'key-2')).rejects.toBeInstanceOf(errors.LimitExceededError);
  });

  test('refuses the 11th reservation when 10 units exist: SOLD_OUT', async () => {
    const drop = fakeDrop();
    const { sku } = await drop.product({ stock: 10, shards: 4 });
    for (let shopper = 1; shopper <= 10; shopper++) await reserve(drop, sku, `shopper-${shopper}`);

    const late = reserve(drop, sku, 'shopper-11');

    await expect(late).rejects.toEqual(new errors.SoldOutError(0));
    expect(await drop.inventory.ledger(sku)).toMatchObject({ supplied: 10, available: 0, held: 10 });
  });

  test('says how many are left when fewer remain than asked', async () => {
    const drop = fakeDrop();
    const { sku } = await drop.product({ stock: 3, shards: 2 });
    await reserve(drop, sku, 'alice', 2);

    const error = await reserve(drop, sku, 'bob', 2).catch((caught: unknown) => caught);

    expect(error).toBeInstanceOf(errors.SoldOutError);
    expect(error).toMatchObject({ available: 1, message: 'Only 1 left: ask for fewer' });
  });

  test('takes the last units across shards when no shard holds them all', async () => {
    const drop = fakeDrop();
    const { sku } = await drop.product({ stock: 2, shards: 2 });

    const { reservation } = await reserve(drop, sku, 'alice', 2);

    expect(reservation.allocation).toEqual({ 0: 1, 1: 1 });
    expect(await drop.inventory.ledger(sku)).toMatchObject({ available: 0, held: 2 });
  });

  test('refuses before the drop starts, without writing', async () => {
    const drop = fakeDrop();
    const startsAt = new Date(drop.clock.now() + 1).toISOString();
    const { sku } = await drop.product({ dropStartsAt: startsAt });

    await expect(reserve(drop, sku, 'alice')).rejects.toEqual(new errors.DropNotStartedError(startsAt));

    expect(drop.store.faults.calls('placeHold')).toBe(0);
  });

  test('opens at the drop’s first instant', async () => {
    const drop = fakeDrop();
    const { sku } = await drop.product({ dropStartsAt: new Date(drop.clock.now()).toISOString() });

    await expect(reserve(drop, sku, 'alice')).resolves.toMatchObject({ replayed: false });
  });

  test('a write that meets contention is retried after a backoff and makes one hold', async () => {
    const drop = fakeDrop();
    const { sku } = await drop.product();
    drop.store.faults.contend('placeHold', 3);

    await reserve(drop, sku, 'alice');

    expect(drop.sleeps).toHaveLength(3);
    expect(await drop.inventory.ledger(sku)).toMatchObject({ available: 9, held: 1 });
  });

  test('a hold that stays contended is refused BUSY after bounded retries and changes nothing', async () => {
    const drop = fakeDrop();
    const { sku } = await drop.product();
    drop.store.faults.contend('placeHold', Number.POSITIVE_INFINITY);

    await expect(reserve(drop, sku, 'alice', 1, 'key-1')).rejects.toEqual(new errors.BusyError(1));

    expect(drop.store.faults.calls('placeHold')).toBe(12);
    expect(await drop.inventory.ledger(sku)).toMatchObject({ available: 10, held: 0 });
    expect(await drop.store.findIdempotencyRecord('alice', 'key-1')).toBeUndefined();
  });

  test.each([
    ['from the request’s start', 0, 3],
    ['the product read’s time included', 2_000, 1],
  ])(
    'a hold whose tries take long (throttled calls the SDK retried for a second each) is refused BUSY once 3 s are spent, counted %s',
    async (_what, productReadMs, tries) => {
      const drop = fakeDrop();
      const { sku } = await drop.product();
      drop.store.faults.contend('placeHold', Number.POSITIVE_INFINITY);
      const place = drop.store.placeHold.bind(drop.store);
      drop.store.placeHold = async (input) => {
        drop.clock.advance(1_000);
        return place(input);
      };
      const read = drop.store.getProduct.bind(drop.store);
      drop.store.getProduct = async (...args) => {
        drop.clock.advance(productReadMs);
        return read(...args);
      };

      await expect(reserve(drop, sku, 'alice', 1, 'key-1')).rejects.toEqual(new errors.BusyError(1));

      expect(drop.store.faults.calls('placeHold')).toBe(tries);
      expect(await drop.inventory.ledger(sku)).toMatchObject({ available: 10, held: 0 });
    },
  );

  test('a stale stock view costs one refused write, then answers SOLD_OUT from the shard’s report', async () => {
    const drop = fakeDrop({ viewTtlMs: 1000 });
    const { sku } = await drop.product({ stock: 1, shards: 1 });
    const believer = drop.environment();
    expect((await believer.availability(sku)).available).toBe(1);
    await drop.environment().reserve({ sku, customerId: 'bob', quantity: 1, idempotencyKey: 'bob-key' });

    const late = believer.reserve({ sku, customerId: 'alice', quantity: 1, idempotencyKey: 'alice-key' });

    await expect(late).rejects.toEqual(new errors.SoldOutError(0));
    expect(drop.store.faults.calls('placeHold')).toBe(2);
    expect((await believer.availability(sku)).available).toBe(0);
  });
});

describe('units are whole and positive, whatever the caller validated', () => {
  test.each([0, -1, 1.5, Number.NaN, Number.POSITIVE_INFINITY])(
    'a reservation of %p units is refused and changes nothing',
    async (quantity) => {
      const drop = fakeDrop();
      const { sku } = await drop.product({ stock: 2 });
      await expect(reserve(drop, sku, 'alice', quantity)).rejects.toThrow(errors.ValidationError);
      expect(await drop.inventory.ledger(sku)).toMatchObject({ supplied: 2, available: 2, held: 0 });
      expect(drop.store.faults.calls('placeHold')).toBe(0);
    },
  );

  test.each([0, -5, 2.5])('a restock of %p units is refused and changes nothing', async (quantity) => {
    const drop = fakeDrop();
    const { sku } = await drop.product({ stock: 2 });
    await expect(drop.inventory.restock({ sku, quantity, idempotencyKey: 'restock-1' })).rejects.toThrow(
      errors.ValidationError,
    );
    expect(await drop.inventory.ledger(sku)).toMatchObject({ supplied: 2, available: 2 });
  });
});

describe('release', () => {
  test('returns the hold’s units to stock and the customer’s limit', async () => {
    const drop = fakeDrop();
    const { sku } = await drop.product({ maxPerCustomer: 2 });
    const { reservation } = await reserve(drop, sku, 'alice', 2, 'key-1');

    const released = await drop.inventory.release(reservation.reservationId);

    expect(released.status).toBe('RELEASED');
    expect(await drop.inventory.ledger(sku)).toMatchObject({ available: 10, held: 0, released: 2 });
    await expect(reserve(drop, sku, 'alice', 2, 'key-2')).resolves.toMatchObject({ replayed: false });
  });

  test('a second release answers RELEASED and returns nothing twice', async () => {
    const drop = fakeDrop();
    const { sku } = await drop.product();
    const { reservation } = await reserve(drop, sku, 'alice', 2);
    await drop.inventory.release(reservation.reservationId);

    const again = await drop.inventory.release(reservation.reservationId);

    expect(again.status).toBe('RELEASED');
    expect(await drop.inventory.ledger(sku)).toMatchObject({ available: 10, released: 2 });
  });

  test('refuses to release a confirmed hold: INVALID_STATE, the sale stands', async () => {
    const drop = fakeDrop();
    const { sku } = await drop.product();
    const { reservation } = await reserve(drop, sku, 'alice', 2);
    await drop.checkout.checkout(reservation.reservationId, 'tok_visa');

    await expect(drop.inventory.release(reservation.reservationId)).rejects.toBeInstanceOf(errors.InvalidStateError);

    expect(await drop.inventory.ledger(sku)).toMatchObject({ sold: 2, held: 0, released: 0 });
  });

  test('an unknown reservation is NOT_FOUND', async () => {
    const drop = fakeDrop();

    await expect(drop.inventory.release('nobody')).rejects.toBeInstanceOf(errors.NotFoundError);
  });

  test('a DELETE of a hold already due ends it EXPIRED and counts its units as expired', async () => {
    const drop = fakeDrop();
    const { sku } = await drop.product();
    const { reservation } = await reserve(drop, sku, 'alice', 2);
    drop.clock.advance(HOLD_MS);

    const ended = await drop.inventory.release(reservation.reservationId);

    expect(ended.status).toBe('EXPIRED');
    expect(await drop.inventory.ledger(sku)).toMatchObject({ available: 10, held: 0, expired: 2, released: 0 });
  });

  test('a DELETE of a hold the sweeper already expired answers EXPIRED and returns nothing twice', async () => {
    const drop = fakeDrop();
    const { sku } = await drop.product();
    const { reservation } = await reserve(drop, sku, 'alice', 2);
    drop.clock.advance(HOLD_MS + 1000);
    await drop.inventory.expireDueHolds();

    const ended = await drop.inventory.release(reservation.reservationId);

    expect(ended.status).toBe('EXPIRED');
    expect(await drop.inventory.ledger(sku)).toMatchObject({ available: 10, expired: 2, released: 0 });
  });

  test('a DELETE a millisecond before expiry releases the hold', async () => {
    const drop = fakeDrop();
    const { sku } = await drop.product();
    const { reservation } = await reserve(drop, sku, 'alice');
    drop.clock.advance(HOLD_MS - 1);

    expect((await drop.inventory.release(reservation.reservationId)).status).toBe('RELEASED');
  });

  test('a release that stays contended answers BUSY and leaves the hold HELD', async () => {
    const drop = fakeDrop();
    const { sku } = await drop.product();
    const { reservation } = await reserve(drop, sku, 'alice');
    drop.store.faults.contend('endHold', Number.POSITIVE_INFINITY);

    await expect(drop.inventory.release(reservation.reservationId)).rejects.toBeInstanceOf(errors.BusyError);

    expect(await drop.store.getReservation(reservation.reservationId)).toMatchObject({ status: 'HELD' });
    expect(await drop.inventory.ledger(sku)).toMatchObject({ held: 1, released: 0 });
  });

  test('a release racing a checkout’s clearance ends the hold owing the refund that clearance may charge', async () => {
    const drop = fakeDrop();
    const { sku } = await drop.product();
    const { reservation } = await reserve(drop, sku, 'alice');
    const clearedAtMs = drop.clock.now();
    drop.store.faults.interleave('endHold', () => drop.store.clearCharge(reservation.reservationId, clearedAtMs));

    const released = await drop.inventory.release(reservation.reservationId);

    expect(released.status).toBe('RELEASED');
    expect(await drop.store.getRefund(reservation.reservationId)).toMatchObject({
      status: 'OWED',
      chargeKey: chargeKeyFor(reservation.reservationId),
      chargeWindowEndsAtMs: clearedAtMs + CHARGE_WINDOW_MS,
    });
  });

  test('a hold never cleared for checkout ends owing nothing', async () => {
    const drop = fakeDrop();
    const { sku } = await drop.product();
    const { reservation } = await reserve(drop, sku, 'alice');

    await drop.inventory.release(reservation.reservationId);

    expect(await drop.store.getRefund(reservation.reservationId)).toBeUndefined();
  });
});

describe('expireDueHolds', () => {
  test('expires the holds that are due and leaves the others alone', async () => {
    const drop = fakeDrop();
    const { sku } = await drop.product();
    const early = await reserve(drop, sku, 'alice', 2);
    drop.clock.advance(100_000);
    const late = await reserve(drop, sku, 'bob', 2);
    drop.clock.advance(HOLD_MS - 100_000);

    const sweep = await drop.inventory.expireDueHolds();

    expect(sweep).toEqual({ expired: 1, failed: [], stopped: false });
    expect(await drop.store.getReservation(early.reservation.reservationId)).toMatchObject({ status: 'EXPIRED' });
    expect(await drop.store.getReservation(late.reservation.reservationId)).toMatchObject({ status: 'HELD' });
    expect(await drop.inventory.ledger(sku)).toMatchObject({ available: 8, held: 2, expired: 2 });
  });

  test('gives an expired hold’s customer their limit back', async () => {
    const drop = fakeDrop();
    const { sku } = await drop.product({ maxPerCustomer: 2 });
    await reserve(drop, sku, 'alice', 2, 'key-1');
    drop.clock.advance(HOLD_MS);
    await drop.inventory.expireDueHolds();

    await expect(reserve(drop, sku, 'alice', 2, 'key-2')).resolves.toMatchObject({ replayed: false });
  });

  test('expires every due hold, a page at a time', async () => {
    const drop = fakeDrop();
    const { sku } = await drop.product();
    for (const shopper of ['a', 'b', 'c', 'd', 'e']) await reserve(drop, sku, shopper);
    drop.clock.advance(HOLD_MS);

    const sweep = await drop.inventory.expireDueHolds(2);

    expect(sweep.expired).toBe(5);
    expect(await drop.inventory.ledger(sku)).toMatchObject({ available: 10, held: 0, expired: 5 });
  });

  test('past its stop time a sweep begins no new page: the holds left stay due for the next one', async () => {
    const drop = fakeDrop();
    const { sku } = await drop.product();
    for (const shopper of ['a', 'b', 'c', 'd', 'e']) await reserve(drop, sku, shopper);
    drop.clock.advance(HOLD_MS);

    // Already past the stop time: the first page still runs (every invocation makes progress), no second.
    const late = await drop.inventory.expireDueHolds(2, drop.clock.now());
    expect(late).toEqual({ expired: 2, failed: [], stopped: true });
    expect(await drop.inventory.ledger(sku)).toMatchObject({ available: 7, held: 3, expired: 2 });

    const next = await drop.inventory.expireDueHolds(2);
    expect(next).toEqual({ expired: 3, failed: [], stopped: false });
    expect(await drop.inventory.ledger(sku)).toMatchObject({ available: 10, held: 0, expired: 5 });
  });

  test('past its stop time a sweep begins no new chunk within a page: 8 holds at once, then it stops', async () => {
    const drop = fakeDrop();
    const { sku } = await drop.product({ stock: 20 });
    for (let shopper = 0; shopper < 20; shopper++) await reserve(drop, sku, `s${shopper}`);
    drop.clock.advance(HOLD_MS);

    const late = await drop.inventory.expireDueHolds(100, drop.clock.now());

    expect(late).toEqual({ expired: 8, failed: [], stopped: true });
    expect(await drop.inventory.ledger(sku)).toMatchObject({ held: 12, expired: 8 });
  });

  test('a poison hold is skipped, deferred behind the others and reported; the rest expire', async () => {
    const drop = fakeDrop();
    const { sku } = await drop.product();
    const good = await reserve(drop, sku, 'alice');
    // A hold claiming units no shard holds: ending it breaks the shard's condition every time.
    drop.store.plantReservation({
      ...good.reservation,
      reservationId: 'poison',
      customerId: 'mallory',
      quantity: 50,
      allocation: { 0: 50 },
      expiresAt: new Date(drop.clock.now() - 1000).toISOString(),
    });
    drop.clock.advance(HOLD_MS);

    const sweep = await drop.inventory.expireDueHolds();

    expect(sweep).toEqual({ expired: 1, failed: ['poison'], stopped: false });
    expect(drop.store.dueAtMs('poison')).toBe(drop.clock.now() + POISON_HOLD_DEFER_MS);
    expect(await drop.store.getReservation(good.reservation.reservationId)).toMatchObject({ status: 'EXPIRED' });
  });

  test('a hold whose expiry stays contended is left due for the next sweep, neither deferred nor reported', async () => {
    const drop = fakeDrop();
    const { sku } = await drop.product();
    const { reservation } = await reserve(drop, sku, 'alice');
    drop.clock.advance(HOLD_MS);
    drop.store.faults.contend('endHold', 12);

    const contended = await drop.inventory.expireDueHolds();

    expect(contended).toEqual({ expired: 0, failed: [], stopped: false });
    expect(drop.store.dueAtMs(reservation.reservationId)).toBe(drop.clock.now());
    expect(await drop.inventory.expireDueHolds()).toEqual({ expired: 1, failed: [], stopped: false });
  });

  test('a throttled read is not poison: the hold stays where it was in the expiry queue', async () => {
    const drop = fakeDrop();
    const { sku } = await drop.product();
    const { reservation } = await reserve(drop, sku, 'alice');
    drop.clock.advance(HOLD_MS);
    drop.store.faults.fail('getReservation', new TransientFaultError('throttled'));

    const sweep = await drop.inventory.expireDueHolds();

    expect(sweep).toEqual({ expired: 0, failed: [], stopped: false });
    expect(drop.store.dueAtMs(reservation.reservationId)).toBe(drop.clock.now());
    expect(drop.store.faults.calls('deferHold')).toBe(0);
  });

  test('a hold its customer ended between the listing and its read is not counted by the sweep', async () => {
    const drop = fakeDrop();
    const { sku } = await drop.product();
    const { reservation } = await reserve(drop, sku, 'alice');
    drop.clock.advance(HOLD_MS);
    drop.store.faults.interleave('getReservation', () => drop.inventory.release(reservation.reservationId));

    const sweep = await drop.inventory.expireDueHolds();

    expect(sweep).toEqual({ expired: 0, failed: [], stopped: false });
    expect(await drop.inventory.ledger(sku)).toMatchObject({ available: 10, expired: 1 });
  });
});

describe('the stock view of a replicated SKU', () => {
  test('is refreshed from the stock-vector replica this environment reads, never from the shards', async () => {
    const drop = fakeDrop({ viewTtlMs: 1000, plannedViewReplicas: { BIG: 4 } });
    await drop.product({ sku: 'BIG', stock: 10, shards: 2 });
    await drop.snapshots.publish('BIG', [], await drop.store.readShardImages('BIG', 2));
    await drop.snapshots.publishReplicated();
    drop.store.replicaSeed = 3;

    const { available } = await drop.inventory.availability('BIG');

    expect(available).toBe(10);
    expect(drop.store.faults.calls('readStockVector')).toBe(1);
    expect(drop.store.faults.calls('readShards')).toBe(0);
  });
});
