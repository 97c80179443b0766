// (API Gateway, API key) --> channel views + stock snapshot --> DynamoDB
import type * as z from 'zod/mini';
import { skuPath } from '../../contract/requests';
import { channelSync } from '../shared/composition';
import { type HttpResult, httpApi, json } from '../shared/http';

/** Each channel's view of a SKU beside the truth, and how far behind it is. */
export async function getChannels(event: z.infer<typeof skuPath>): Promise<HttpResult> {
  const { sku } = event.pathParameters;
  const { truth, channels, views } = await channelSync.report(sku);
  const now = Date.now();
  return json(200, {
    sku,
    available: truth.available,
    version: truth.version,
    channels: channels.map((name) => {
      const view = views.find((candidate) => candidate.channel === name);
      if (!view) return { channel: name, synced: false, available: null, version: null };
      return {
        channel: name,
        synced: view.version === truth.version,
        available: view.available,
        version: view.version,
        versionsBehind: truth.version - view.version,
        /** Publish-to-apply delay of the last snapshot applied. */
        lastLagMs: Date.parse(view.appliedAt) - Date.parse(view.publishedAt),
        appliedAgoMs: now - Date.parse(view.appliedAt),
      };
    }),
  });
}

export const handler = httpApi(skuPath, getChannels);
