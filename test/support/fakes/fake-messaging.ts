/**
 * The outbox's destinations in memory, with the deduplication the real ones
 * give: the orders queue keeps one message per reservation (its dedup id),
 * the inventory topic one per `sku:version`. What was sent is kept in order.
 */
import type { DropStateEvent } from '../../../contract/edge-values';
import type { OrderPlaced, StockEvent } from '../../../contract/messages';
import type { OrderQueue, StockEventTopic } from '../../../lambdas/domain/ports';
import { FaultPlan } from './faults';

export class FakeOrderQueue implements OrderQueue {
  readonly faults = new FaultPlan<keyof OrderQueue>();
  private readonly byReservation = new Map<string, OrderPlaced>();

  /** Orders the queue holds, once each (deduplicated by reservation). */
  orders(): OrderPlaced[] {
    return [...this.byReservation.values()];
  }

  async enqueueOrders(orders: readonly OrderPlaced[]): Promise<void> {
    await this.faults.enter('enqueueOrders');
    for (const order of orders) {
      if (!this.byReservation.has(order.reservationId)) this.byReservation.set(order.reservationId, { ...order });
    }
    this.faults.leave('enqueueOrders');
  }
}

export class FakeStockEventTopic implements StockEventTopic {
  readonly faults = new FaultPlan<keyof StockEventTopic>();
  private readonly byDedupId = new Map<string, StockEvent>();

  /** Snapshots published, once per `sku:version`, in the order they were first sent. */
  events(sku?: string): StockEvent[] {
    return [...this.byDedupId.values()].filter((event) => sku === undefined || event.sku === sku);
  }

  async publishStockEvent(event: StockEvent): Promise<void> {
    await this.faults.enter('publishStockEvent');
    const dedupId = `${event.sku}:${event.version}`;
    if (!this.byDedupId.has(dedupId)) this.byDedupId.set(dedupId, structuredClone(event));
    this.faults.leave('publishStockEvent');
  }

  readonly dropStates: DropStateEvent[] = [];

  async publishDropState(event: DropStateEvent): Promise<void> {
    await this.faults.enter('publishDropState');
    if (!this.dropStates.some((sent) => sent.sku === event.sku && sent.revision === event.revision)) {
      this.dropStates.push(structuredClone(event));
    }
    this.faults.leave('publishDropState');
  }
}
