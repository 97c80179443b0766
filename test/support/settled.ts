import type { ApiClient } from '../../local/api-client';
import { eventually } from './eventually';

/**
 * Waits until the event pipeline has caught up with a SKU (every channel view
 * at the current version), so its asynchronous writes don't mingle with what
 * a test counts.
 */
export async function pipelineSettled(api: ApiClient, sku: string): Promise<void> {
  await eventually(async () => {
    const { body } = await api.call('GET', `/admin/products/${sku}/channels`, { admin: true });
    expect(body.channels.every((channel: { synced: boolean }) => channel.synced)).toBe(true);
  });
}
