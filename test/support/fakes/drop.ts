/**
 * The use cases of a drop wired to in-memory fakes of every port, as the
 * composition root wires them to DynamoDB, SQS and SNS: one store, one
 * payment provider, one warehouse, one orders queue, one inventory topic, one
 * set of channel views and one clock that every use case shares.
 */

import { channels } from '../../../contract/topology';
import { ChannelSync } from '../../../lambdas/domain/channel-sync';
import { Checkout } from '../../../lambdas/domain/checkout';
import { Fulfilment } from '../../../lambdas/domain/fulfilment';
import { Inventory, type ProductInput } from '../../../lambdas/domain/inventory';
import type { Product } from '../../../lambdas/domain/model';
import { Outbox, Snapshots } from '../../../lambdas/domain/outbox';
import type { Allocator } from '../../../lambdas/domain/ports';
import { Refunds } from '../../../lambdas/domain/refunds';
import { planAllocation } from '../../../lambdas/domain/stock';
import { StockView } from '../../../lambdas/domain/stock-view';
import { Storefront } from '../../../lambdas/domain/storefront';
import { FakeClock } from './fake-clock';
import { FakeOrderQueue, FakeStockEventTopic } from './fake-messaging';
import { FakePaymentProvider } from './fake-payment-provider';
import { FakeWarehouse } from './fake-warehouse';
import { isTransientFault } from './faults';
import { InMemoryChannelViews } from './in-memory-channel-views';
import { InMemoryInventoryStore } from './in-memory-inventory-store';

/** The domain's allocation rule with its one random pick fixed: the first shard that can serve the whole quantity. */
export const firstFitAllocator: Allocator = (available, quantity) => planAllocation(available, quantity, () => 0);

/** The channels the topology subscribes, as the composition root passes them to channel sync. */
export const DROP_CHANNELS = channels.map(({ name }) => name);

export interface DropOptions {
  readonly start?: number | string;
  /** How long this environment trusts a believed stock level; 0 (the default) reads the shards for every decision. */
  readonly viewTtlMs?: number;
  /** Stock-vector replicas the plan sizes for a SKU, as PLANNED_VIEW_REPLICAS carries them. */
  readonly plannedViewReplicas?: Readonly<Record<string, number>>;
}

export type Drop = ReturnType<typeof fakeDrop>;

export function fakeDrop(options: DropOptions = {}) {
  const clock = new FakeClock(options.start);
  const store = new InMemoryInventoryStore();
  const payments = new FakePaymentProvider();
  const warehouse = new FakeWarehouse();
  const queue = new FakeOrderQueue();
  const topic = new FakeStockEventTopic();
  const channelViews = new InMemoryChannelViews();
  /** Every backoff a use case asked for; none is waited. */
  const sleeps: number[] = [];
  const sleep = async (ms: number) => {
    sleeps.push(ms);
  };
  const refunds = new Refunds({ store, payments, clock });
  let ids = 0;
  const newId = () => `id-${++ids}`;

  /** Another execution environment of the same drop: its own stock view, the same store and clock. */
  const environment = () =>
    new Inventory({
      isTransientFault,
      store,
      refunds,
      view: new StockView(options.viewTtlMs ?? 0, clock.now),
      clock,
      newId,
      sleep,
      allocate: firstFitAllocator,
      ...(options.plannedViewReplicas ? { plannedViewReplicas: options.plannedViewReplicas } : {}),
    });
  const inventory = environment();
  const checkout = new Checkout({ store, payment: payments, refunds, clock, newId, sleep });
  const fulfilment = new Fulfilment({ store, warehouse });
  /** Every drift a snapshot reported, in order. */
  const drifts: Array<{ sku: string; drift: number; version: number }> = [];
  /** Every SKU whose reconciliation failed, with the error, in order. */
  const reconcileFailures: Array<{ sku: string; error: unknown }> = [];
  const snapshots = new Snapshots({
    products: store,
    store,
    topic,
    clock,
    reportDrift: (sku, drift, version) => drifts.push({ sku, drift, version }),
    reportReconcileFailure: (sku, error) => reconcileFailures.push({ sku, error }),
  });
  const outbox = new Outbox({ reader: store, queue, snapshots, topic });
  const storefront = new Storefront({ inventory, views: channelViews, ttlMs: options.viewTtlMs ?? 0, clock });
  const channelSync = new ChannelSync({ inventory, store, views: channelViews, channels: DROP_CHANNELS });

  /** A product on sale since an hour ago: 10 units over 2 shards, 2 per customer, 5-minute holds, unless told. */
  const product = async (input: Partial<ProductInput> = {}): Promise<Product> => {
    const sku = input.sku ?? `sku-${++ids}`;
    const { product: created } = await inventory.upsertProduct({
      name: sku,
      priceCents: 24_000,
      stock: 10,
      shards: 2,
      maxPerCustomer: 2,
      holdSeconds: 300,
      dropStartsAt: new Date(clock.now() - 3_600_000).toISOString(),
      ...input,
      sku,
    });
    return created;
  };

  return {
    clock,
    store,
    payments,
    warehouse,
    queue,
    topic,
    channelViews,
    sleeps,
    drifts,
    reconcileFailures,
    refunds,
    inventory,
    checkout,
    fulfilment,
    snapshots,
    outbox,
    storefront,
    channelSync,
    environment,
    product,
  };
}
