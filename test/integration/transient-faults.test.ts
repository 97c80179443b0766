/**
 * Faults DynamoDB Local cannot produce — transaction conflicts and throttling —
 * injected into the real store's client (the only mock here: it stands in for
 * AWS's behaviour, not for our code). The engine retries with backoff and
 * still makes exactly one hold, or refuses with BUSY having changed nothing.
 */
import { randomBytes } from 'node:crypto';
import {
  DynamoDBClient,
  ProvisionedThroughputExceededException,
  TransactionCanceledException,
} from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, TransactWriteCommand } from '@aws-sdk/lib-dynamodb';
import { DynamoDbInventoryStore } from '../../lambdas/adapters/dynamodb-inventory-store';
import { BusyError } from '../../lambdas/domain/errors';
import { Inventory } from '../../lambdas/domain/inventory';
import { StockView } from '../../lambdas/domain/stock-view';
import { LOCAL_AWS_ENV } from '../../local/emulators/embedded-aws';
import { provisionInventoryTable } from '../../local/provision';

const tableName = `dropline-faults-${randomBytes(6).toString('hex')}`;
const dynamodb = new DynamoDBClient({
  endpoint: process.env.DROPLINE_TEST_DYNAMODB_ENDPOINT,
  region: LOCAL_AWS_ENV.AWS_REGION,
  credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
});
const client = DynamoDBDocumentClient.from(dynamodb);

/** Fails the next `count` hold transactions with `fault`, then lets them through. */
let pendingFaults: Array<() => Error> = [];
const faultyClient = new Proxy(client, {
  get(target, property, receiver) {
    if (property !== 'send') return Reflect.get(target, property, receiver);
    return (command: unknown) => {
      const isHold =
        command instanceof TransactWriteCommand &&
        command.input.TransactItems?.some((item) => String(item.Put?.Item?.pk ?? '').startsWith('IDEMPOTENCY#'));
      const fault = isHold ? pendingFaults.shift() : undefined;
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

function inventory() {
  const now = Date.now;
  return new Inventory({
    store: new DynamoDbInventoryStore(faultyClient, tableName),
    view: new StockView(1000, now),
    clock: { now },
    newId: () => crypto.randomUUID(),
    sleep: async () => undefined,
  });
}

beforeAll(async () => {
  await provisionInventoryTable(dynamodb, tableName);
});

afterAll(() => dynamodb.destroy());

test('a hold that meets transaction conflicts and throttling is retried and made exactly once', async () => {
  const engine = inventory();
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
  const engine = inventory();
  await engine.upsertProduct({ sku: 'hopeless', name: 'H', priceCents: 1, stock: 10, shards: 2 });
  pendingFaults = Array.from({ length: 50 }, () => conflict);

  await expect(
    engine.reserve({ sku: 'hopeless', customerId: 'bob', quantity: 1, idempotencyKey: 'faults-2' }),
  ).rejects.toBeInstanceOf(BusyError);

  pendingFaults = [];
  expect(await engine.ledger('hopeless')).toMatchObject({ available: 10, held: 0 });
  const store = new DynamoDbInventoryStore(client, tableName);
  expect(await store.findIdempotencyRecord('faults-2')).toBeUndefined();
});
