import type { ApiClient } from '../../local/api-client';
import { eventually } from './eventually';

/**
 * Waits until the event pipeline has caught up with a SKU (every channel view
 * at the current version) and every given order is FULFILLED (the dispatcher
 * has written its dispatch and the order's last state), so the pipeline's
 * asynchronous writes don't mingle with what a test counts. The wait is
 * generous: on a loaded machine the order pipeline lags by tens of seconds.
 */
export async function pipelineSettled(api: ApiClient, sku: string, orderIds: readonly string[] = []): Promise<void> {
  const patience = { timeoutMs: 60_000, intervalMs: 200 };
  await eventually(async () => {
    const { body } = await api.call('GET', `/admin/products/${sku}/channels`, { admin: true });
    expect(body.channels.every((channel: { synced: boolean }) => channel.synced)).toBe(true);
  }, patience);
  for (const orderId of orderIds) {
    await eventually(
      async () => expect((await api.call('GET', `/orders/${orderId}`)).body.status).toBe('FULFILLED'),
      patience,
    );
  }
}
