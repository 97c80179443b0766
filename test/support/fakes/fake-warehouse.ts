/** The warehouse in memory: one dispatch per order, however often it is asked (the simulated warehouse's contract). */
import type { Order } from '../../../lambdas/domain/model';
import type { Warehouse } from '../../../lambdas/domain/ports';
import { FaultPlan } from './faults';

export class FakeWarehouse implements Warehouse {
  readonly faults = new FaultPlan<keyof Warehouse>();
  private readonly dispatched = new Map<string, Order>();

  /** Orders shipped, once each. */
  shipped(): Order[] {
    return [...this.dispatched.values()];
  }

  async dispatch(order: Order): Promise<boolean> {
    await this.faults.enter('dispatch');
    const first = !this.dispatched.has(order.orderId);
    if (first) this.dispatched.set(order.orderId, structuredClone(order));
    this.faults.leave('dispatch');
    return first;
  }
}
