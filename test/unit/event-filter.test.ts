/**
 * The relay's stream filter, applied as Lambda applies it: every write the
 * outbox needs (stock shards, orders) reaches the relay; nothing else invokes it.
 */
import { marshall } from '@aws-sdk/util-dynamodb';
import { streamConsumer } from '../../contract/topology';
import { matchesFilter } from '../../local/event-sources/event-filter';

const record = (eventName: 'INSERT' | 'MODIFY' | 'REMOVE', item?: Record<string, unknown>) => ({
  eventName,
  dynamodb: { Keys: marshall({ pk: String(item?.pk ?? 'X') }), ...(item ? { NewImage: marshall(item) } : {}) },
});

test.each([
  ['a stock shard written', record('MODIFY', { pk: 'STOCK#sku#0', kind: 'stock', available: 3 })],
  ['a stock shard created', record('INSERT', { pk: 'STOCK#sku#1', kind: 'stock', available: 5 })],
  ['an order placed', record('INSERT', { pk: 'ORDER#o', kind: 'order', status: 'PLACED' })],
])('%s reaches the relay', (_label, stream) => {
  expect(matchesFilter(stream, streamConsumer.filterPattern)).toBe(true);
});

test.each([
  ['a reservation', record('INSERT', { pk: 'RESERVATION#r', kind: 'reservation' })],
  ['an idempotency record', record('INSERT', { pk: 'IDEMPOTENCY#c#k', kind: 'idempotency' })],
  ['a customer limit', record('MODIFY', { pk: 'LIMIT#sku#c', units: 2 })],
  ['an owed refund', record('INSERT', { pk: 'REFUND#r', kind: 'refund' })],
  ['the snapshot item', record('MODIFY', { pk: 'SNAPSHOT#sku', kind: 'snapshot' })],
  ['a charge', record('INSERT', { pk: 'CHARGE#c', kind: 'charge' })],
  ['a removal (TTL)', record('REMOVE')],
])('%s does not invoke the relay', (_label, stream) => {
  expect(matchesFilter(stream, streamConsumer.filterPattern)).toBe(false);
});

test('a rule the local runtime does not emulate is refused, not matched differently', () => {
  expect(() => matchesFilter({ a: 'x' }, { a: [{ prefix: 'x' } as unknown as string] })).toThrow('not emulated');
});
