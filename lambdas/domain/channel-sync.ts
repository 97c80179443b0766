/** How far each sales channel's view of a SKU is behind the truth its shards hold. */
import type { Inventory } from './inventory';
import type { StockSnapshot } from './model';
import type { ChannelView, ChannelViewStore, StockSnapshotStore } from './ports';

export interface ChannelSyncDeps {
  readonly inventory: Pick<Inventory, 'product'>;
  readonly store: Pick<StockSnapshotStore, 'snapshot'>;
  readonly views: Pick<ChannelViewStore, 'views'>;
  /** Every channel the topology subscribes, in the order to report them. */
  readonly channels: readonly string[];
}

export interface ChannelSyncReport {
  /** Every shard read transactionally: an operator's read, never on the hot path. */
  readonly truth: StockSnapshot;
  /** Every channel, whether or not it holds a view yet. */
  readonly channels: readonly string[];
  /** The views that exist, in the order of `channels`. */
  readonly views: readonly ChannelView[];
}

export class ChannelSync {
  constructor(private readonly deps: ChannelSyncDeps) {}

  async report(sku: string): Promise<ChannelSyncReport> {
    const product = await this.deps.inventory.product(sku, { fresh: true });
    const truth = await this.deps.store.snapshot(sku, product.shards);
    const { channels } = this.deps;
    return { truth, channels, views: await this.deps.views.views(channels, sku) };
  }
}
