import { ProvisionedThroughputExceededException, TransactionCanceledException } from '@aws-sdk/client-dynamodb';
import { ScanCommand, TransactWriteCommand } from '@aws-sdk/lib-dynamodb';
import { DynamoDbInventoryStore } from '../../lambdas/adapters/dynamodb-inventory-store';
import { SimulatedPaymentProvider } from '../../lambdas/adapters/simulated-payment-provider';
import { Checkout } from '../../lambdas/domain/checkout';
import { BusyError } from '../../lambdas/domain/errors';
import { Inventory } from '../../lambdas/domain/inventory';
import { chargeKeyFor } from '../../lambdas/domain/model';
import type { PaymentProvider } from '../../lambdas/domain/ports';
import { Refunds } from '../../lambdas/domain/refunds';
import { StockView } from '../../lambdas/domain/stock-view';
import { isTransientFault, testTable } from '../support/test-table';

const { tableName, dynamodb, client, provision } = testTable('dropline-faults');
const payments = new SimulatedPaymentProvider(client, tableName);

/**
 * Fails the next transactions that put an item under `faultsOn` (the hold's
 * IDEMPOTENCY# record, or checkout's ORDER#) with the pending faults, then
 * lets them through.
 */
let pendingFaults: Array<() => Error> = [];
let faultsOn = 'IDEMPOTENCY#';
const faultyClient = new Proxy(client, {
  get(target, property, receiver) {
    if (property !== 'send') return Reflect.get(target, property, receiver);
    return (command: unknown) => {
      const targeted =
        command instanceof TransactWriteCommand &&
        command.input.TransactItems?.some((item) => String(item.Put?.Item?.pk ?? '').startsWith(faultsOn));
      const fault = targeted ? pendingFaults.shift() : undefined;
      if (fault) return Promise.reject(fault());
      return target.send(command as TransactWriteCommand);
    };
  },
});

const conflict = () =>
  new TransactionCanceledException({
    message: 'Transaction cancelled, please refer cancellation reasons for specific reasons [TransactionConflict]',
    $metadata: {},
    CancellationReasons: [{ Code: 'TransactionConflict' }, { Code: 'None' }, { Code: 'None' }, { Code: 'None' }],
  });
const throttled = () =>
  new ProvisionedThroughputExceededException({ message: 'Throughput exceeds the current capacity', $metadata: {} });

function makeEngine(options: { payments?: Pick<PaymentProvider, 'refundFor'>; now?: () => number } = {}) {
  const now = options.now ?? Date.now;
  const store = new DynamoDbInventoryStore(faultyClient, tableName);
  return new Inventory({
    isTransientFault,
    store,
    refunds: new Refunds({ store, payments: options.payments ?? payments, clock: { now } }),
    view: new StockView(1000, now),
    clock: { now },
    newId: () => crypto.randomUUID(),
    sleep: async () => undefined,
  });
}

beforeAll(async () => {
  await provision();
});

afterAll(() => dynamodb.destroy());

test('a hold that meets transaction conflicts and throttling is retried and made exactly once', async () => {
  const engine = makeEngine();
  await engine.upsertProduct({ sku: 'conflicted', name: 'C', priceCents: 1, stock: 10, shards: 2 });
  pendingFaults = [conflict, throttled, conflict];

  const { reservation, replayed } = await engine.reserve({
    sku: 'conflicted',
    customerId: 'alice',
    quantity: 2,
    idempotencyKey: 'faults-1',
  });

  expect(replayed).toBe(false);
  expect(pendingFaults).toHaveLength(0);
  expect(await engine.ledger('conflicted')).toMatchObject({ supplied: 10, available: 8, held: 2 });
  const again = await engine.reserve({
    sku: 'conflicted',
    customerId: 'alice',
    quantity: 2,
    idempotencyKey: 'faults-1',
  });
  expect(again).toMatchObject({ replayed: true, reservation: { reservationId: reservation.reservationId } });
});

test('a hold that stays contended is refused BUSY and changes nothing', async () => {
  const engine = makeEngine();
  await engine.upsertProduct({ sku: 'hopeless', name: 'H', priceCents: 1, stock: 10, shards: 2 });
  pendingFaults = Array.from({ length: 50 }, () => conflict);

  await expect(
    engine.reserve({ sku: 'hopeless', customerId: 'bob', quantity: 1, idempotencyKey: 'faults-2' }),
  ).rejects.toBeInstanceOf(BusyError);

  pendingFaults = [];
  expect(await engine.ledger('hopeless')).toMatchObject({ available: 10, held: 0 });
  const store = new DynamoDbInventoryStore(client, tableName);
  expect(await store.findIdempotencyRecord('bob', 'faults-2')).toBeUndefined();
});

describe('checkout that stays contended', () => {
  const checkout = () => {
    const store = new DynamoDbInventoryStore(faultyClient, tableName);
    return new Checkout({
      store,
      payment: payments,
      refunds: new Refunds({ store, payments, clock: { now: Date.now } }),
      clock: { now: Date.now },
      newId: () => crypto.randomUUID(),
      sleep: async () => undefined,
    });
  };
  /** Every charge made for a reservation, read from the simulated provider's ledger. */
  const chargesOf = async (reservationId: string) => {
    const { Items = [] } = await client.send(
      new ScanCommand({
        TableName: tableName,
        FilterExpression: 'idempotencyKey = :key',
        ExpressionAttributeValues: { ':key': chargeKeyFor(reservationId) },
        ConsistentRead: true,
      }),
    );
    return Items;
  };

  beforeEach(() => {
    faultsOn = 'ORDER#';
  });
  afterEach(() => {
    faultsOn = 'IDEMPOTENCY#';
    pendingFaults = [];
  });

  async function busyCheckout(sku: string, customerId: string) {
    const inventory = makeEngine();
    await inventory.upsertProduct({ sku, name: sku, priceCents: 700, stock: 5, shards: 2 });
    const { reservation } = await inventory.reserve({ sku, customerId, quantity: 1, idempotencyKey: `${sku}-key` });
    pendingFaults = Array.from({ length: 50 }, () => conflict);
    await expect(checkout().checkout(reservation.reservationId, 'tok_visa')).rejects.toBeInstanceOf(BusyError);
    pendingFaults = [];
    return { inventory, reservation };
  }

  test('answers BUSY keeping its charge, so the retry confirms on a charge that stands', async () => {
    const { inventory, reservation } = await busyCheckout('busy-checkout', 'carol');

    const { order } = await checkout().checkout(reservation.reservationId, 'tok_visa');

    const charges = await chargesOf(reservation.reservationId);
    expect(charges).toHaveLength(1);
    expect(charges[0]).toMatchObject({ chargeId: order.chargeId, amountCents: 700, refunded: false });
    expect(await inventory.ledger('busy-checkout')).toMatchObject({ held: 0, sold: 1 });
  });

  test('a refund the provider fails after the release committed stays owed and is made by the next attempt', async () => {
    const { reservation } = await busyCheckout('busy-refund-lost', 'fay');
    let lost = 0;
    // The provider times out on the first refund: the release has committed, its refund has not.
    const flaky = makeEngine({
      payments: {
        refundFor: async (key) => {
          if (lost++ === 0) throw Object.assign(new Error('the payment provider timed out'), { name: 'TimeoutError' });
          return payments.refundFor(key);
        },
      },
    });

    // The release stands (its refund is recorded as owed in the same transaction) and answers at once.
    expect(await flaky.release(reservation.reservationId)).toMatchObject({ status: 'RELEASED' });
    expect(await chargesOf(reservation.reservationId)).toEqual([expect.objectContaining({ refunded: false })]);

    expect(await flaky.release(reservation.reservationId)).toMatchObject({ status: 'RELEASED' });
    expect(await chargesOf(reservation.reservationId)).toEqual([
      expect.objectContaining({ refunded: true, refunds: 1 }),
    ]);
    expect(await flaky.ledger('busy-refund-lost')).toMatchObject({ available: 5, held: 0, released: 1 });
  });

  test('refunds the charge of a BUSY checkout whose hold is then released or expires', async () => {
    const released = await busyCheckout('busy-release', 'dan');
    await released.inventory.release(released.reservation.reservationId);
    expect(await chargesOf(released.reservation.reservationId)).toEqual([expect.objectContaining({ refunded: true })]);

    const expiring = await busyCheckout('busy-expire', 'erin');
    // A sweep an hour later: the hold is due.
    const later = makeEngine({ now: () => Date.now() + 3_600_000 });
    expect((await later.expireDueHolds()).expired).toBeGreaterThanOrEqual(1);
    expect(await chargesOf(expiring.reservation.reservationId)).toEqual([expect.objectContaining({ refunded: true })]);
    expect(await later.ledger('busy-expire')).toMatchObject({ available: 5, held: 0, sold: 0 });
  });
});
