/**
 * Fulfilment of a placed order, safe under at-least-once delivery: each step
 * is idempotent, so a redelivered message, or one whose first delivery crashed
 * between the steps, dispatches once and fulfils once.
 */
import { NotFoundError } from './errors';
import type { InventoryStore, Warehouse } from './ports';

export type FulfilmentOutcome = 'fulfilled' | 'already-fulfilled';

export class Fulfilment {
  constructor(private readonly deps: { store: InventoryStore; warehouse: Warehouse }) {}

  async fulfil(orderId: string): Promise<FulfilmentOutcome> {
    const order = await this.deps.store.getOrder(orderId);
    if (!order) throw new NotFoundError(`No such order`);
    if (order.status === 'FULFILLED') return 'already-fulfilled';
    await this.deps.warehouse.dispatch(order);
    return (await this.deps.store.markFulfilled(orderId)) ? 'fulfilled' : 'already-fulfilled';
  }
}
