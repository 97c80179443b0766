/**
 * The channels' views in memory, with the DynamoDB adapter's condition
 * (lambdas/adapters/dynamodb-channel-views.ts): a snapshot is applied only
 * when newer than the view's version, so a view never moves backwards.
 */
import type { StockEvent } from '../../../contract/messages';
import type { ChannelView, ChannelViewStore } from '../../../lambdas/domain/ports';
import { FaultPlan } from './faults';

export class InMemoryChannelViews implements ChannelViewStore {
  readonly faults = new FaultPlan<keyof ChannelViewStore>();
  private readonly held = new Map<string, ChannelView>();

  async apply(channel: string, event: StockEvent, now = new Date()): Promise<boolean> {
    await this.faults.enter('apply');
    const key = `${channel}#${event.sku}`;
    const current = this.held.get(key);
    const newer = current === undefined || current.version < event.version;
    if (newer) {
      this.held.set(key, {
        channel,
        sku: event.sku,
        available: event.available,
        soldOut: event.available === 0,
        version: event.version,
        publishedAt: event.publishedAt,
        appliedAt: now.toISOString(),
      });
    }
    this.faults.leave('apply');
    return newer;
  }

  async views(channels: readonly string[], sku: string): Promise<ChannelView[]> {
    await this.faults.enter('views');
    const views = channels.flatMap((channel) => {
      const view = this.held.get(`${channel}#${sku}`);
      return view ? [{ ...view }] : [];
    });
    this.faults.leave('views');
    return views;
  }
}
