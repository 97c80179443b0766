// (API Gateway) --> availability --> the storefront read model (DynamoDB), shards until it exists
import { createHash } from 'node:crypto';
import * as z from 'zod/mini';
import { skuPath } from '../../contract/requests';
import { storefront } from '../shared/composition';
import { etagMatches, type HttpResult, httpApi } from '../shared/http';
import { productView } from '../shared/representations';

/** Short enough that a release shows within a second or two; long enough that a spike of refreshes hits the cache. */
export const CACHE_CONTROL = 'public, max-age=1, stale-while-revalidate=2';

const Request = z.extend(skuPath, {
  headers: z.nullish(z.object({ 'if-none-match': z.optional(z.string().check(z.maxLength(512))) })),
});

export async function getProduct(event: z.infer<typeof Request>): Promise<HttpResult> {
  const body = JSON.stringify(productView(await storefront.availability(event.pathParameters.sku)));
  const etag = `"${createHash('sha256').update(body).digest('base64url').slice(0, 27)}"`;
  const headers = { 'content-type': 'application/json', 'cache-control': CACHE_CONTROL, etag };
  if (etagMatches(event.headers?.['if-none-match'], etag)) return { statusCode: 304, headers, body: '' };
  return { statusCode: 200, headers, body };
}

export const handler = httpApi(Request, getProduct);
