/**
 * @jest-environment node
 *
 * Checkout's money rules on in-memory fakes of the ports: a hold is cleared
 * before it is charged, charged once at its own price, confirmed only while
 * HELD, and a hold that ends unsold after a clearance owes its refund, made
 * once the provider confirms it. No order ever stands on a refunded charge.
 */
import * as errors from '../../lambdas/domain/errors';
import { chargeKeyFor, type Reservation } from '../../lambdas/domain/model';
import { CHARGE_WINDOW_MS, REFUND_OVERDUE_MS } from '../../lambdas/domain/refunds';
import { type Drop, fakeDrop } from '../support/fakes/drop';
import { TransientFaultError } from '../support/fakes/faults';

const HOLD_MS = 300_000;
const MAX_ATTEMPTS = 12;

async function holdOne(drop: Drop, options: { quantity?: number; priceCents?: number } = {}): Promise<Reservation> {
  const { sku } = await drop.product({ priceCents: options.priceCents ?? 24_000, holdSeconds: HOLD_MS / 1000 });
  const { reservation } = await drop.inventory.reserve({
    sku,
    customerId: 'alice',
    quantity: options.quantity ?? 1,
    idempotencyKey: 'alice-key',
  });
  return reservation;
}

const chargeOf = (drop: Drop, hold: Reservation) => drop.payments.chargeFor(chargeKeyFor(hold.reservationId));

/** A checkout answered BUSY after its charge: the confirmation met contention on every try. */
async function busyCheckout(drop: Drop, hold: Reservation): Promise<void> {
  drop.store.faults.contend('confirmHold', MAX_ATTEMPTS);
  await expect(drop.checkout.checkout(hold.reservationId, 'tok_visa')).rejects.toBeInstanceOf(errors.BusyError);
}

describe('checkout', () => {
  test('turns a HELD hold into one order, charged unit price × quantity under the hold’s key', async () => {
    const drop = fakeDrop();
    const hold = await holdOne(drop, { priceCents: 24_000, quantity: 2 });

    const { order, replayed } = await drop.checkout.checkout(hold.reservationId, 'tok_visa');

    expect(replayed).toBe(false);
    expect(order).toMatchObject({ reservationId: hold.reservationId, amountCents: 48_000, status: 'PLACED' });
    expect(chargeOf(drop, hold)).toMatchObject({ chargeId: order.chargeId, amountCents: 48_000, refunded: false });
    expect(await drop.store.getReservation(hold.reservationId)).toMatchObject({
      status: 'CONFIRMED',
      orderId: order.orderId,
    });
    expect(await drop.inventory.ledger(hold.sku)).toMatchObject({ held: 0, sold: 2 });
  });

  test('clears the charge on the hold before it charges', async () => {
    const drop = fakeDrop();
    const hold = await holdOne(drop);
    let atCharge: Reservation | undefined;
    drop.payments.faults.interleave('charge', async () => {
      atCharge = await drop.store.getReservation(hold.reservationId);
    });

    await drop.checkout.checkout(hold.reservationId, 'tok_visa');

    expect(atCharge).toMatchObject({ status: 'HELD', lastChargeAttemptAtMs: drop.clock.now() });
  });

  test('never charges a hold released before its checkout was cleared', async () => {
    const drop = fakeDrop();
    const hold = await holdOne(drop);
    drop.store.faults.interleave('clearCharge', () => drop.inventory.release(hold.reservationId));

    await expect(drop.checkout.checkout(hold.reservationId, 'tok_visa')).rejects.toBeInstanceOf(
      errors.InvalidStateError,
    );

    expect(drop.payments.allCharges()).toEqual([]);
  });

  test('never charges a hold the sweeper expired before its checkout was cleared', async () => {
    const drop = fakeDrop();
    const hold = await holdOne(drop);
    // The checkout read the hold a moment before its expiry; the sweeper ends it before the clearance.
    drop.clock.advance(HOLD_MS - 1);
    drop.store.faults.interleave('clearCharge', async () => {
      drop.clock.advance(1);
      await drop.inventory.expireDueHolds();
    });

    await expect(drop.checkout.checkout(hold.reservationId, 'tok_visa')).rejects.toBeInstanceOf(
      errors.ReservationExpiredError,
    );

    expect(drop.payments.allCharges()).toEqual([]);
  });

  test('a repeated checkout answers the same order and charges once', async () => {
    const drop = fakeDrop();
    const hold = await holdOne(drop);
    const first = await drop.checkout.checkout(hold.reservationId, 'tok_visa');

    const again = await drop.checkout.checkout(hold.reservationId, 'tok_other_card');

    expect(again).toEqual({ order: first.order, replayed: true });
    expect(drop.payments.allCharges()).toHaveLength(1);
  });

  test('two concurrent checkouts of one hold place one order on one charge', async () => {
    const drop = fakeDrop();
    const hold = await holdOne(drop);

    const [a, b] = await Promise.all([
      drop.checkout.checkout(hold.reservationId, 'tok_visa'),
      drop.checkout.checkout(hold.reservationId, 'tok_visa'),
    ]);

    expect(a.order).toEqual(b.order);
    expect([a.replayed, b.replayed].sort()).toEqual([false, true]);
    expect(drop.payments.allCharges()).toHaveLength(1);
    expect(await drop.inventory.ledger(hold.sku)).toMatchObject({ sold: 1, held: 0 });
  });

  test('charges the price fixed on the hold, whatever the product says later', async () => {
    const drop = fakeDrop();
    const hold = await holdOne(drop, { priceCents: 24_000 });
    await drop.product({ sku: hold.sku, priceCents: 100 });

    const { order } = await drop.checkout.checkout(hold.reservationId, 'tok_visa');

    expect(order.amountCents).toBe(24_000);
    expect(chargeOf(drop, hold)?.amountCents).toBe(24_000);
  });

  test('a declined payment answers PAYMENT_DECLINED and keeps the hold for another card', async () => {
    const drop = fakeDrop();
    const hold = await holdOne(drop);

    await expect(drop.checkout.checkout(hold.reservationId, 'tok_decline')).rejects.toBeInstanceOf(
      errors.PaymentDeclinedError,
    );

    expect(await drop.store.getReservation(hold.reservationId)).toMatchObject({ status: 'HELD' });
    await expect(drop.checkout.checkout(hold.reservationId, 'tok_visa')).resolves.toMatchObject({ replayed: false });
  });

  test('a provider timeout places no order; the retry confirms on the charge that was made', async () => {
    const drop = fakeDrop();
    const hold = await holdOne(drop);
    drop.payments.faults.loseAnswer('charge', new TransientFaultError('timeout'));
    await expect(drop.checkout.checkout(hold.reservationId, 'tok_visa')).rejects.toBeInstanceOf(TransientFaultError);
    expect(await drop.store.getReservation(hold.reservationId)).toMatchObject({ status: 'HELD' });

    const { order } = await drop.checkout.checkout(hold.reservationId, 'tok_visa');

    expect(drop.payments.allCharges()).toEqual([expect.objectContaining({ chargeId: order.chargeId })]);
  });

  test.each([
    ['amount', { amountCents: 1, currency: 'USD' }],
    ['currency', { amountCents: 24_000, currency: 'EUR' }],
  ])('a charge on record with another %s is PAYMENT_MISMATCH, never an order', async (_, onRecord) => {
    const drop = fakeDrop();
    const hold = await holdOne(drop, { priceCents: 24_000 });
    await drop.payments.charge({ idempotencyKey: chargeKeyFor(hold.reservationId), token: 'tok_visa', ...onRecord });

    await expect(drop.checkout.checkout(hold.reservationId, 'tok_visa')).rejects.toBeInstanceOf(
      errors.PaymentMismatchError,
    );

    expect(await drop.store.getReservation(hold.reservationId)).toMatchObject({ status: 'HELD' });
    expect(await drop.inventory.ledger(hold.sku)).toMatchObject({ sold: 0, held: 1 });
  });

  test('the end of a hold refused for PAYMENT_MISMATCH refunds the charge on record', async () => {
    const drop = fakeDrop();
    const hold = await holdOne(drop, { priceCents: 24_000 });
    await drop.payments.charge({
      idempotencyKey: chargeKeyFor(hold.reservationId),
      amountCents: 1,
      currency: 'USD',
      token: 'tok_visa',
    });
    await expect(drop.checkout.checkout(hold.reservationId, 'tok_visa')).rejects.toBeInstanceOf(
      errors.PaymentMismatchError,
    );

    await drop.inventory.release(hold.reservationId);

    expect(chargeOf(drop, hold)).toMatchObject({ amountCents: 1, refunded: true });
    expect(await drop.store.getRefund(hold.reservationId)).toMatchObject({ status: 'REFUNDED' });
  });

  test('a hold that falls due while the provider charges is not confirmed, and its charge is not refunded yet', async () => {
    const drop = fakeDrop();
    const hold = await holdOne(drop);
    drop.payments.faults.interleave('charge', () => drop.clock.advance(HOLD_MS));

    await expect(drop.checkout.checkout(hold.reservationId, 'tok_visa')).rejects.toBeInstanceOf(
      errors.ReservationExpiredError,
    );

    expect(await drop.store.getReservation(hold.reservationId)).toMatchObject({ status: 'HELD' });
    expect(await drop.store.getRefund(hold.reservationId)).toBeUndefined();
    expect(chargeOf(drop, hold)).toMatchObject({ refunded: false });
  });

  test('the sweep that expires a hold charged too late refunds that charge', async () => {
    const drop = fakeDrop();
    const hold = await holdOne(drop);
    drop.payments.faults.interleave('charge', () => drop.clock.advance(HOLD_MS));
    await expect(drop.checkout.checkout(hold.reservationId, 'tok_visa')).rejects.toBeInstanceOf(
      errors.ReservationExpiredError,
    );

    const sweep = await drop.inventory.expireDueHolds();

    expect(sweep).toEqual({ expired: 1, failed: [], stopped: false });
    expect(chargeOf(drop, hold)).toMatchObject({ refunded: true });
    expect(await drop.store.getRefund(hold.reservationId)).toMatchObject({ status: 'REFUNDED' });
  });

  test('a hold released while its cleared checkout charges gets no order, and the charge is refunded', async () => {
    const drop = fakeDrop();
    const hold = await holdOne(drop);
    drop.payments.faults.interleave('charge', () => drop.inventory.release(hold.reservationId));

    await expect(drop.checkout.checkout(hold.reservationId, 'tok_visa')).rejects.toBeInstanceOf(
      errors.InvalidStateError,
    );

    expect(await drop.store.getReservation(hold.reservationId)).toMatchObject({ status: 'RELEASED' });
    expect(chargeOf(drop, hold)).toMatchObject({ refunded: true });
    expect(await drop.store.getRefund(hold.reservationId)).toMatchObject({ status: 'REFUNDED' });
    expect(await drop.inventory.ledger(hold.sku)).toMatchObject({ sold: 0, released: 1 });
  });

  test('a checkout that stays contended answers BUSY keeping its charge; the retry confirms on that charge', async () => {
    const drop = fakeDrop();
    const hold = await holdOne(drop);
    await busyCheckout(drop, hold);
    expect(chargeOf(drop, hold)).toMatchObject({ refunded: false });

    const { order } = await drop.checkout.checkout(hold.reservationId, 'tok_visa');

    expect(drop.payments.allCharges()).toEqual([expect.objectContaining({ chargeId: order.chargeId })]);
  });

  test.each([
    ['clearCharge', 'from the checkout’s start (its read of the hold included)', 2_000, 1],
    ['confirmHold', 'from the charge: a budget of its own, whatever came before', 2_000, 3],
  ] as const)(
    'a checkout whose %s tries take long (throttled calls the SDK retried for a second each) answers BUSY once 3 s are spent, counted %s',
    async (method, _what, readMs, tries) => {
      const drop = fakeDrop();
      const hold = await holdOne(drop);
      drop.store.faults.contend(method, Number.POSITIVE_INFINITY);
      const slow = (name: 'getReservation' | typeof method, ms: number) => {
        const original = drop.store[name].bind(drop.store) as (...args: unknown[]) => Promise<unknown>;
        (drop.store as unknown as Record<string, unknown>)[name] = async (...args: unknown[]) => {
          drop.clock.advance(ms);
          return original(...args);
        };
      };
      slow('getReservation', readMs);
      slow(method, 1_000);

      await expect(drop.checkout.checkout(hold.reservationId, 'tok_visa')).rejects.toBeInstanceOf(errors.BusyError);

      expect(drop.store.faults.calls(method)).toBe(tries);
    },
  );

  test('the release of a BUSY checkout’s hold refunds its charge at once', async () => {
    const drop = fakeDrop();
    const hold = await holdOne(drop);
    await busyCheckout(drop, hold);

    await drop.inventory.release(hold.reservationId);

    expect(chargeOf(drop, hold)).toMatchObject({ refunded: true });
    expect(await drop.store.getRefund(hold.reservationId)).toMatchObject({ status: 'REFUNDED' });
  });

  test.each(['swept', 'not yet swept'])(
    'a checkout after the hold expired (%s) is RESERVATION_EXPIRED and charges nothing',
    async (swept) => {
      const drop = fakeDrop();
      const hold = await holdOne(drop);
      drop.clock.advance(HOLD_MS);
      if (swept === 'swept') await drop.inventory.expireDueHolds();

      await expect(drop.checkout.checkout(hold.reservationId, 'tok_visa')).rejects.toBeInstanceOf(
        errors.ReservationExpiredError,
      );

      expect(drop.payments.allCharges()).toEqual([]);
    },
  );

  test('a released hold cannot be checked out: INVALID_STATE', async () => {
    const drop = fakeDrop();
    const hold = await holdOne(drop);
    await drop.inventory.release(hold.reservationId);

    await expect(drop.checkout.checkout(hold.reservationId, 'tok_visa')).rejects.toBeInstanceOf(
      errors.InvalidStateError,
    );

    expect(drop.payments.allCharges()).toEqual([]);
  });

  test('an unknown reservation is NOT_FOUND', async () => {
    const drop = fakeDrop();

    await expect(drop.checkout.checkout('nobody', 'tok_visa')).rejects.toBeInstanceOf(errors.NotFoundError);
  });
});

describe('refunds owed by a hold that ends unsold', () => {
  /** A checkout was cleared to charge the hold and has not charged (yet): then the hold is released. */
  async function releasedAfterClearance(drop: Drop) {
    const hold = await holdOne(drop);
    const clearedAtMs = drop.clock.now();
    await drop.store.clearCharge(hold.reservationId, clearedAtMs);
    drop.clock.advance(1000);
    await drop.inventory.release(hold.reservationId);
    return { hold, windowEndsAtMs: clearedAtMs + CHARGE_WINDOW_MS };
  }

  test('is written with the hold’s end, open until the cleared checkout’s charge window closes', async () => {
    const drop = fakeDrop();

    const { hold, windowEndsAtMs } = await releasedAfterClearance(drop);

    expect(await drop.store.getRefund(hold.reservationId)).toEqual({
      reservationId: hold.reservationId,
      sku: hold.sku,
      chargeKey: chargeKeyFor(hold.reservationId),
      status: 'OWED',
      owedSinceMs: drop.clock.now(),
      chargeWindowEndsAtMs: windowEndsAtMs,
      attempts: 0,
    });
  });

  test('stays owed while the charge window is open, even with nothing charged', async () => {
    const drop = fakeDrop();
    const { hold, windowEndsAtMs } = await releasedAfterClearance(drop);
    drop.clock.set(windowEndsAtMs - 1);

    const report = await drop.refunds.settleDue();

    expect(report).toMatchObject({ refunded: 0, closed: 0 });
    expect(await drop.store.getRefund(hold.reservationId)).toMatchObject({ status: 'OWED' });
  });

  test('closes as NOTHING_CHARGED once the charge window has passed with no charge', async () => {
    const drop = fakeDrop();
    const { hold, windowEndsAtMs } = await releasedAfterClearance(drop);
    drop.clock.set(windowEndsAtMs);

    const report = await drop.refunds.settleDue();

    expect(report).toMatchObject({ refunded: 0, closed: 1 });
    expect(await drop.store.getRefund(hold.reservationId)).toMatchObject({ status: 'NOTHING_CHARGED' });
  });

  test('refunds a charge that landed inside the window', async () => {
    const drop = fakeDrop();
    const { hold, windowEndsAtMs } = await releasedAfterClearance(drop);
    // The cleared checkout's charge reaches the provider after the release.
    await drop.payments.charge({
      idempotencyKey: chargeKeyFor(hold.reservationId),
      amountCents: 24_000,
      currency: 'USD',
      token: 'tok_visa',
    });
    drop.clock.set(windowEndsAtMs);

    const report = await drop.refunds.settleDue();

    expect(report).toMatchObject({ refunded: 1 });
    expect(chargeOf(drop, hold)).toMatchObject({ refunded: true });
  });

  test('stays owed when the provider fails, and the next sweep after its backoff refunds it', async () => {
    const drop = fakeDrop();
    const hold = await holdOne(drop);
    await busyCheckout(drop, hold);
    drop.payments.faults.fail('refundFor', new TransientFaultError('timeout'));
    await drop.inventory.release(hold.reservationId);
    expect(await drop.store.getRefund(hold.reservationId)).toMatchObject({ status: 'OWED', attempts: 1 });

    const beforeBackoff = await drop.refunds.settleDue();
    drop.clock.advance(2000);
    const afterBackoff = await drop.refunds.settleDue();

    expect(beforeBackoff).toMatchObject({ refunded: 0, failed: 0 });
    expect(afterBackoff).toMatchObject({ refunded: 1, failed: 0 });
    expect(chargeOf(drop, hold)).toMatchObject({ refunded: true });
  });

  test('is reported overdue once open past its bound', async () => {
    const drop = fakeDrop();
    const hold = await holdOne(drop);
    await busyCheckout(drop, hold);
    drop.payments.faults.fail('refundFor', new TransientFaultError('timeout'), Number.POSITIVE_INFINITY);
    await drop.inventory.release(hold.reservationId);

    drop.clock.advance(REFUND_OVERDUE_MS);
    const onTheBound = await drop.refunds.settleDue();
    drop.clock.advance(REFUND_OVERDUE_MS);
    const past = await drop.refunds.settleDue();

    expect(onTheBound).toMatchObject({ failed: 1, overdue: 0 });
    expect(past).toMatchObject({ failed: 1, overdue: 1 });
    expect(await drop.store.getRefund(hold.reservationId)).toMatchObject({ status: 'OWED' });
  });

  test('is made once: settling it again changes nothing', async () => {
    const drop = fakeDrop();
    const hold = await holdOne(drop);
    await busyCheckout(drop, hold);
    await drop.inventory.release(hold.reservationId);

    const again = await drop.refunds.settle(hold.reservationId);

    expect(again.outcome).toBe('none');
    expect(drop.payments.faults.calls('refundFor')).toBe(1);
  });
});
