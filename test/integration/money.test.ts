/**
 * Money and state around a hold, each defect of the hostile review replayed
 * on the real store and the simulated provider over DynamoDB Local. Time is
 * given to each checkout as its own clock (environments disagree), and the
 * order in which two checkouts reach DynamoDB is forced by holding one
 * back — a gate in front of the real store, not a stand-in for it.
 * Transaction conflicts (which DynamoDB Local never raises) and provider
 * timeouts are injected and named where they are.
 */
import { randomUUID } from 'node:crypto';
import { TransactionCanceledException } from '@aws-sdk/client-dynamodb';
import { GetCommand, PutCommand, ScanCommand } from '@aws-sdk/lib-dynamodb';
import { DynamoDbInventoryStore } from '../../lambdas/adapters/dynamodb-inventory-store';
import { SimulatedPaymentProvider } from '../../lambdas/adapters/simulated-payment-provider';
import { Checkout } from '../../lambdas/domain/checkout';
import { BusyError, PaymentMismatchError, ReservationExpiredError } from '../../lambdas/domain/errors';
import { Inventory } from '../../lambdas/domain/inventory';
import { chargeKeyFor, type Order, type Reservation } from '../../lambdas/domain/model';
import type { InventoryStore, PaymentProvider } from '../../lambdas/domain/ports';
import { CHARGE_WINDOW_MS, REFUND_OVERDUE_MS, Refunds } from '../../lambdas/domain/refunds';
import { StockView } from '../../lambdas/domain/stock-view';
import { expectBalanced } from '../support/ledger';
import { isTransientFault, testTable } from '../support/test-table';

const { tableName, dynamodb, client, provision } = testTable('dropline-money');
const store = new DynamoDbInventoryStore(client, tableName);
const payments = new SimulatedPaymentProvider(client, tableName);

type Clock = () => number;

function inventoryAt(
  now: Clock,
  options: { payments?: Pick<PaymentProvider, 'refundFor'>; store?: InventoryStore } = {},
) {
  const used = options.store ?? store;
  return new Inventory({
    isTransientFault,
    store: used,
    refunds: new Refunds({ store: used, payments: options.payments ?? payments, clock: { now } }),
    view: new StockView(0, now),
    clock: { now },
    newId: randomUUID,
    sleep: async () => undefined,
  });
}

function checkoutAt(
  now: Clock,
  options: { store?: InventoryStore; payment?: Pick<PaymentProvider, 'charge' | 'refundFor'> } = {},
) {
  const used = options.store ?? store;
  const provider = options.payment ?? payments;
  return new Checkout({
    store: used,
    payment: provider,
    refunds: new Refunds({ store: used, payments: provider, clock: { now } }),
    clock: { now },
    newId: randomUUID,
    sleep: async () => undefined,
  });
}

async function chargeOf(reservationId: string) {
  const { Items = [] } = await client.send(
    new ScanCommand({
      TableName: tableName,
      FilterExpression: 'idempotencyKey = :key',
      ExpressionAttributeValues: { ':key': chargeKeyFor(reservationId) },
      ConsistentRead: true,
    }),
  );
  expect(Items.length).toBeLessThanOrEqual(1);
  return Items[0];
}

async function ordersOf(reservationId: string) {
  const { Items = [] } = await client.send(
    new ScanCommand({
      TableName: tableName,
      FilterExpression: 'kind = :order AND reservationId = :id',
      ExpressionAttributeValues: { ':order': 'order', ':id': reservationId },
      ConsistentRead: true,
    }),
  );
  return Items as Order[];
}

let skuCount = 0;
async function holdOne(options: { priceCents?: number; quantity?: number; holdSeconds?: number } = {}) {
  const sku = `money-${++skuCount}`;
  const inventory = inventoryAt(Date.now);
  await inventory.upsertProduct({
    sku,
    name: sku,
    priceCents: options.priceCents ?? 24_000,
    stock: 10,
    shards: 2,
    holdSeconds: options.holdSeconds ?? 60,
    dropStartsAt: '2026-01-01T00:00:00Z',
  });
  const { reservation } = await inventory.reserve({
    sku,
    customerId: `buyer-${skuCount}`,
    quantity: options.quantity ?? 1,
    idempotencyKey: `key-${skuCount}`,
  });
  return reservation;
}

/** The store as one environment sees it, with its confirmation held until `gate` opens. */
function gatedConfirmation(gate: Promise<void>): InventoryStore {
  return new Proxy(store, {
    get(target, property, receiver) {
      if (property !== 'confirmHold') return Reflect.get(target, property, receiver);
      return async (reservation: Reservation, order: Order, nowMs: number) => {
        await gate;
        return target.confirmHold(reservation, order, nowMs);
      };
    },
  });
}

/** A client that answers every TransactWrite putting an ORDER# with a conflict cancellation (nothing written). */
const conflictedClient = new Proxy(client, {
  get(target, property, receiver) {
    if (property !== 'send') return Reflect.get(target, property, receiver);
    return (command: { input?: { TransactItems?: Array<{ Put?: { Item?: { pk?: string } } }> } }) => {
      const putsOrder = command.input?.TransactItems?.some((item) => item.Put?.Item?.pk?.startsWith('ORDER#'));
      if (putsOrder) {
        return Promise.reject(
          new TransactionCanceledException({
            message: 'Transaction cancelled [TransactionConflict]',
            $metadata: {},
            CancellationReasons: [{ Code: 'TransactionConflict' }],
          }),
        );
      }
      return target.send(command as never);
    };
  },
});

beforeAll(async () => {
  await provision();
});

afterAll(() => dynamodb.destroy());

describe('1. no order on a refunded charge', () => {
  test('two checkouts straddling expiry: the late clock answers 410 without refunding, the early one places the order on a charge that stands', async () => {
    const hold = await holdOne({ holdSeconds: 60 });
    const expiresAtMs = Date.parse(hold.expiresAt);
    let openGate = (): void => undefined;
    const gate = new Promise<void>((resolve) => {
      openGate = resolve;
    });

    // A: its clock is just before expiry throughout; its confirmation reaches DynamoDB last.
    const a = checkoutAt(() => expiresAtMs - 5, { store: gatedConfirmation(gate) }).checkout(
      hold.reservationId,
      'tok_visa',
    );
    // B: cleared and charged before expiry by its clock, which has passed expiry when it confirms.
    let bNow = expiresAtMs - 10;
    const bPayment: Pick<PaymentProvider, 'charge' | 'refundFor'> = {
      charge: async (request) => {
        const charged = await payments.charge(request);
        bNow = expiresAtMs + 1;
        return charged;
      },
      refundFor: (key) => payments.refundFor(key),
    };
    await expect(
      checkoutAt(() => bNow, { payment: bPayment }).checkout(hold.reservationId, 'tok_visa'),
    ).rejects.toBeInstanceOf(ReservationExpiredError);
    openGate();
    const { order } = await a;

    const charge = await chargeOf(hold.reservationId);
    expect(charge).toMatchObject({ chargeId: order.chargeId, refunded: false, amountCents: 24_000 });
    expect(await ordersOf(hold.reservationId)).toHaveLength(1);
    // A sweep long after: the hold is sold, nothing to expire, nothing refunded.
    await inventoryAt(() => expiresAtMs + 3_600_000).expireDueHolds();
    expect(await chargeOf(hold.reservationId)).toMatchObject({ refunded: false });
    expect(await inventoryAt(Date.now).ledger(hold.sku)).toMatchObject({ sold: 1, held: 0 });
  });

  test('the confirmation itself refuses a hold that is due when it commits (the store checks expiry, not only the caller)', async () => {
    const hold = await holdOne({ holdSeconds: 60 });
    const expiresAtMs = Date.parse(hold.expiresAt);
    let now = expiresAtMs - 10;
    const slowPayment: Pick<PaymentProvider, 'charge' | 'refundFor'> = {
      charge: async (request) => {
        const charged = await payments.charge(request);
        now = expiresAtMs + 1; // the provider took long: the hold is due before the confirmation is sent
        return charged;
      },
      refundFor: (key) => payments.refundFor(key),
    };

    await expect(
      checkoutAt(() => now, { payment: slowPayment }).checkout(hold.reservationId, 'tok_visa'),
    ).rejects.toBeInstanceOf(ReservationExpiredError);

    expect(await ordersOf(hold.reservationId)).toHaveLength(0);
    expect(await store.getReservation(hold.reservationId)).toMatchObject({ status: 'HELD' });
    // The charge is refunded once the hold has durably expired, not before.
    expect(await chargeOf(hold.reservationId)).toMatchObject({ refunded: false });
    const sweep = inventoryAt(() => expiresAtMs + 1000);
    expect((await sweep.expireDueHolds()).expired).toBe(1);
    expect(await chargeOf(hold.reservationId)).toMatchObject({ refunded: true, refunds: 1 });
  });
});

describe('2. the amount charged is the hold’s', () => {
  test('charge and order are unit price × quantity', async () => {
    const hold = await holdOne({ priceCents: 24_000, quantity: 2 });

    const { order } = await checkoutAt(Date.now).checkout(hold.reservationId, 'tok_visa');

    expect(order.amountCents).toBe(48_000);
    expect(await chargeOf(hold.reservationId)).toMatchObject({ amountCents: 48_000, currency: 'USD' });
  });

  test('a price change between a BUSY checkout and its retry changes nothing: the order is the hold’s price on the first charge', async () => {
    const hold = await holdOne({ priceCents: 24_000, quantity: 2 });
    const contended = new DynamoDbInventoryStore(conflictedClient, tableName);
    await expect(
      checkoutAt(Date.now, { store: contended }).checkout(hold.reservationId, 'tok_visa'),
    ).rejects.toBeInstanceOf(BusyError);
    await inventoryAt(Date.now).upsertProduct({ sku: hold.sku, name: hold.sku, priceCents: 100, stock: 10 });

    const { order } = await checkoutAt(Date.now).checkout(hold.reservationId, 'tok_visa');

    const charge = await chargeOf(hold.reservationId);
    expect(order).toMatchObject({ amountCents: 48_000, chargeId: charge?.chargeId });
    expect(charge).toMatchObject({ amountCents: 48_000, refunded: false });
  });

  test('a charge on record that disagrees with the hold is an error, never an order; the hold’s end refunds it', async () => {
    const hold = await holdOne({ priceCents: 24_000 });
    // The provider already holds a charge under the hold's key for another amount.
    const seeded = await payments.charge({
      idempotencyKey: chargeKeyFor(hold.reservationId),
      amountCents: 1,
      currency: 'USD',
      token: 'tok_visa',
    });

    await expect(checkoutAt(Date.now).checkout(hold.reservationId, 'tok_visa')).rejects.toBeInstanceOf(
      PaymentMismatchError,
    );

    expect(await ordersOf(hold.reservationId)).toHaveLength(0);
    await inventoryAt(Date.now).release(hold.reservationId);
    expect(await chargeOf(hold.reservationId)).toMatchObject({
      chargeId: seeded.kind === 'charged' ? seeded.chargeId : '',
      refunded: true,
    });
  });
});

describe('3. a refund owed cannot be lost', () => {
  const failingOnce = () => {
    let failures = 1;
    return {
      refundFor: async (key: string) => {
        if (failures-- > 0) throw Object.assign(new Error('provider timed out'), { name: 'TimeoutError' });
        return payments.refundFor(key);
      },
    };
  };

  async function busyHold() {
    const hold = await holdOne();
    const contended = new DynamoDbInventoryStore(conflictedClient, tableName);
    await expect(
      checkoutAt(Date.now, { store: contended }).checkout(hold.reservationId, 'tok_visa'),
    ).rejects.toBeInstanceOf(BusyError);
    return hold;
  }

  test('a sweep whose refund fails leaves it owed; the next sweep refunds it', async () => {
    const hold = await busyHold();
    const later = Date.parse(hold.expiresAt) + 1000;
    const provider = failingOnce();

    const first = inventoryAt(() => later, { payments: provider });
    expect((await first.expireDueHolds()).expired).toBe(1);
    expect(await chargeOf(hold.reservationId)).toMatchObject({ refunded: false });
    expect(await store.getRefund(hold.reservationId)).toMatchObject({ status: 'OWED', attempts: 1 });

    // The retry waits its backoff; a sweep after it refunds.
    const refunds = new Refunds({ store, payments: provider, clock: { now: () => later + 60_000 } });
    expect(await refunds.settleDue()).toMatchObject({ refunded: 1 });
    expect(await chargeOf(hold.reservationId)).toMatchObject({ refunded: true, refunds: 1 });
    expect(await store.getRefund(hold.reservationId)).toMatchObject({ status: 'REFUNDED' });
  });

  test('a refund owed while a cleared checkout is still charging waits for the charge, then refunds it', async () => {
    const hold = await holdOne();
    let releaseDone = (): void => undefined;
    const released = new Promise<void>((resolve) => {
      releaseDone = resolve;
    });
    // The checkout is cleared, then the shopper's other tab releases the hold before the charge lands.
    const slowCharge: Pick<PaymentProvider, 'charge' | 'refundFor'> = {
      charge: async (request) => {
        await released;
        return payments.charge(request);
      },
      // The checkout dies before it can refund anything itself.
      refundFor: async () => {
        throw new Error('the checkout environment was frozen');
      },
    };
    const checkout = checkoutAt(Date.now, { payment: slowCharge }).checkout(hold.reservationId, 'tok_visa');
    await new Promise((resolve) => setTimeout(resolve, 200));
    await inventoryAt(Date.now).release(hold.reservationId);
    // Nothing was charged yet, and the charge window is open: the refund stays owed.
    expect(await store.getRefund(hold.reservationId)).toMatchObject({ status: 'OWED' });
    releaseDone();
    await expect(checkout).rejects.toMatchObject({ code: 'INVALID_STATE' });
    expect(await chargeOf(hold.reservationId)).toMatchObject({ refunded: false });

    const windowEnd = Date.now() + CHARGE_WINDOW_MS;
    const report = await new Refunds({ store, payments, clock: { now: () => windowEnd } }).settleDue();

    expect(report.refunded).toBe(1);
    expect(await chargeOf(hold.reservationId)).toMatchObject({ refunded: true, refunds: 1 });
  });

  test('a cleared checkout that never charged closes its owed refund once the charge window has passed', async () => {
    const hold = await holdOne();
    await store.clearCharge(hold.reservationId, Date.now());
    await inventoryAt(Date.now).release(hold.reservationId);
    expect(await store.getRefund(hold.reservationId)).toMatchObject({ status: 'OWED' });

    const afterWindow = Date.now() + CHARGE_WINDOW_MS + 1000;
    await new Refunds({ store, payments, clock: { now: () => afterWindow } }).settleDue();

    expect(await store.getRefund(hold.reservationId)).toMatchObject({ status: 'NOTHING_CHARGED' });
    expect(await chargeOf(hold.reservationId)).toBeUndefined();
  });

  test('an owed refund the provider keeps failing is reported overdue past its bound', async () => {
    const hold = await busyHold();
    const broken = {
      refundFor: async () => {
        throw Object.assign(new Error('provider down'), { name: 'TimeoutError' });
      },
    };
    await inventoryAt(Date.now, { payments: broken }).release(hold.reservationId);

    const early = await new Refunds({ store, payments: broken, clock: { now: () => Date.now() + 60_000 } }).settleDue();
    const late = await new Refunds({
      store,
      payments: broken,
      clock: { now: () => Date.now() + REFUND_OVERDUE_MS + 60_000 },
    }).settleDue();

    expect(early).toMatchObject({ failed: 1, overdue: 0 });
    expect(late).toMatchObject({ failed: 1, overdue: 1 });
    expect(await store.getRefund(hold.reservationId)).toMatchObject({ status: 'OWED' });
    await new Refunds({ store, payments, clock: { now: () => Date.now() + 3_600_000 } }).settleDue();
    expect(await chargeOf(hold.reservationId)).toMatchObject({ refunded: true });
  });
});

describe('8. one poison hold does not stall expiry', () => {
  test('a hold whose expiry fails is skipped, deferred and reported; every other due hold expires', async () => {
    const sku = `money-poison-${++skuCount}`;
    const inventory = inventoryAt(Date.now);
    await inventory.upsertProduct({ sku, name: sku, priceCents: 1, stock: 20, shards: 2, holdSeconds: 1 });
    const good = await Promise.all(
      Array.from({ length: 5 }, (_, index) =>
        inventory.reserve({ sku, customerId: `good-${index}`, quantity: 1, idempotencyKey: `good-${index}` }),
      ),
    );
    // Two holds claiming units no shard holds: ending them breaks the shard's condition every time.
    const poison = [randomUUID(), randomUUID()];
    for (const reservationId of poison) {
      await client.send(
        new PutCommand({
          TableName: tableName,
          Item: {
            pk: `RESERVATION#${reservationId}`,
            kind: 'reservation',
            reservationId,
            sku,
            customerId: `poison-${reservationId}`,
            quantity: 50,
            unitPriceCents: 1,
            currency: 'USD',
            status: 'HELD',
            expiresAt: new Date(Date.now() - 60_000).toISOString(),
            expiresAtMs: Date.now() - 60_000,
            allocation: { 0: 50 },
            holdLane: 'LANE#00',
            holdExpiresAt: Date.now() - 60_000,
          },
        }),
      );
    }

    // Pages of 2: the two poison holds are the oldest and fill the first page.
    const sweep = await inventoryAt(() => Date.now() + 5000).expireDueHolds(2);

    expect([...sweep.failed].sort()).toEqual([...poison].sort());
    expect(sweep.expired).toBeGreaterThanOrEqual(5);
    const ledger = await inventory.ledger(sku);
    expect(ledger).toMatchObject({ supplied: 20, available: 20, held: 0, expired: 5 });
    expectBalanced(ledger);
    for (const { reservation } of good) {
      expect(await store.getReservation(reservation.reservationId)).toMatchObject({ status: 'EXPIRED' });
    }
    // Deferred: the next sweep does not start with them again.
    const next = await inventoryAt(() => Date.now() + 6000).expireDueHolds(2);
    expect(next.failed).toEqual([]);
  });
});

describe('8. contention at the peak is not poison', () => {
  test('a hold whose expiry stays contended is left due for the next sweep, not deferred or reported', async () => {
    const hold = await holdOne({ holdSeconds: 1 });
    // Conflicts on every try (DynamoDB Local never conflicts): the sweep runs out of retries on this hold.
    const contended = new Proxy(store, {
      get(target, property, receiver) {
        if (property !== 'endHold') return Reflect.get(target, property, receiver);
        return async (reservation: Reservation, ...rest: unknown[]) =>
          reservation.reservationId === hold.reservationId
            ? { kind: 'contended' }
            : (target.endHold as (...args: unknown[]) => unknown)(reservation, ...rest);
      },
    }) as InventoryStore;
    const later = Date.parse(hold.expiresAt) + 1000;

    const sweep = await inventoryAt(() => later, { store: contended }).expireDueHolds();

    expect(sweep.failed).toEqual([]);
    expect(await store.listDueHolds(later, 1000)).toContain(hold.reservationId);
    expect((await inventoryAt(() => later).expireDueHolds()).expired).toBeGreaterThanOrEqual(1);
    expect(await store.getReservation(hold.reservationId)).toMatchObject({ status: 'EXPIRED' });
  });
});

describe('contract: DELETE of a hold past its expiry', () => {
  test('ends it as EXPIRED and says so, whether or not the sweeper got there first', async () => {
    const hold = await holdOne({ holdSeconds: 1, quantity: 2 });
    const later = Date.parse(hold.expiresAt) + 10;

    const released = await inventoryAt(() => later).release(hold.reservationId);

    expect(released.status).toBe('EXPIRED');
    expect(await inventoryAt(Date.now).ledger(hold.sku)).toMatchObject({ expired: 2, released: 0, held: 0 });
  });
});

describe('6, 10. idempotency keys', () => {
  test('a retry of a reservation is answered with its hold after the drop was postponed', async () => {
    const hold = await holdOne();
    const inventory = inventoryAt(Date.now);
    await inventory.upsertProduct({
      sku: hold.sku,
      name: hold.sku,
      priceCents: 24_000,
      stock: 10,
      dropStartsAt: new Date(Date.now() + 86_400_000).toISOString(),
    });

    const retry = await inventory.reserve({
      sku: hold.sku,
      customerId: hold.customerId,
      quantity: 1,
      idempotencyKey: `key-${hold.sku.split('-')[1]}`,
    });

    expect(retry).toMatchObject({ replayed: true, reservation: { reservationId: hold.reservationId } });
    await expect(
      inventory.reserve({ sku: hold.sku, customerId: hold.customerId, quantity: 1, idempotencyKey: 'fresh-key' }),
    ).rejects.toMatchObject({ code: 'DROP_NOT_STARTED' });
  });

  test('keys are per customer: another customer’s identical key and body is another request', async () => {
    const hold = await holdOne();
    const inventory = inventoryAt(Date.now);
    const key = `key-${hold.sku.split('-')[1]}`;

    const other = await inventory.reserve({
      sku: hold.sku,
      customerId: 'someone-else',
      quantity: 1,
      idempotencyKey: key,
    });

    expect(other.replayed).toBe(false);
    expect(other.reservation.reservationId).not.toBe(hold.reservationId);
    const record = await client.send(
      new GetCommand({ TableName: tableName, Key: { pk: `IDEMPOTENCY#someone-else#${key}` }, ConsistentRead: true }),
    );
    expect(record.Item).toMatchObject({ reservationId: other.reservation.reservationId });
  });
});
