/**
 * @jest-environment node
 *
 * Fulfilment under at-least-once delivery, on in-memory fakes: however a
 * message is redelivered, or a first delivery dies between its steps, an
 * order is dispatched once and fulfilled once.
 */
import { NotFoundError } from '../../lambdas/domain/errors';
import type { Order } from '../../lambdas/domain/model';
import { type Drop, fakeDrop } from '../support/fakes/drop';
import { TransientFaultError } from '../support/fakes/faults';

async function placedOrder(drop: Drop): Promise<Order> {
  const { sku } = await drop.product();
  const { reservation } = await drop.inventory.reserve({
    sku,
    customerId: 'alice',
    quantity: 1,
    idempotencyKey: 'alice-key',
  });
  return (await drop.checkout.checkout(reservation.reservationId, 'tok_visa')).order;
}

test('dispatches a placed order and marks it FULFILLED', async () => {
  const drop = fakeDrop();
  const order = await placedOrder(drop);

  const outcome = await drop.fulfilment.fulfil(order.orderId);

  expect(outcome).toBe('fulfilled');
  expect(drop.warehouse.shipped()).toEqual([order]);
  expect(await drop.store.getOrder(order.orderId)).toMatchObject({ status: 'FULFILLED' });
});

test('a redelivered message dispatches nothing more', async () => {
  const drop = fakeDrop();
  const order = await placedOrder(drop);
  await drop.fulfilment.fulfil(order.orderId);

  const again = await drop.fulfilment.fulfil(order.orderId);

  expect(again).toBe('already-fulfilled');
  expect(drop.warehouse.faults.calls('dispatch')).toBe(1);
});

test('two deliveries at once dispatch once and fulfil once', async () => {
  const drop = fakeDrop();
  const order = await placedOrder(drop);

  const outcomes = await Promise.all([drop.fulfilment.fulfil(order.orderId), drop.fulfilment.fulfil(order.orderId)]);

  expect(outcomes.sort()).toEqual(['already-fulfilled', 'fulfilled']);
  expect(drop.warehouse.shipped()).toHaveLength(1);
});

test('a delivery that died after dispatching is finished by its redelivery without a second shipment', async () => {
  const drop = fakeDrop();
  const order = await placedOrder(drop);
  drop.store.faults.fail('markFulfilled', new TransientFaultError('throttled'));
  await expect(drop.fulfilment.fulfil(order.orderId)).rejects.toBeInstanceOf(TransientFaultError);
  expect(await drop.store.getOrder(order.orderId)).toMatchObject({ status: 'PLACED' });

  const redelivered = await drop.fulfilment.fulfil(order.orderId);

  expect(redelivered).toBe('fulfilled');
  expect(drop.warehouse.shipped()).toHaveLength(1);
});

test('a warehouse failure leaves the order PLACED for the redelivery to ship', async () => {
  const drop = fakeDrop();
  const order = await placedOrder(drop);
  drop.warehouse.faults.fail('dispatch', new TransientFaultError('timeout'));
  await expect(drop.fulfilment.fulfil(order.orderId)).rejects.toBeInstanceOf(TransientFaultError);
  expect(await drop.store.getOrder(order.orderId)).toMatchObject({ status: 'PLACED' });

  await drop.fulfilment.fulfil(order.orderId);

  expect(drop.warehouse.shipped()).toEqual([order]);
});

test('an unknown order is NOT_FOUND and ships nothing', async () => {
  const drop = fakeDrop();

  await expect(drop.fulfilment.fulfil('no-such-order')).rejects.toBeInstanceOf(NotFoundError);

  expect(drop.warehouse.shipped()).toEqual([]);
});
