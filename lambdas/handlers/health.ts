// (API Gateway, Route 53 health check) --> one read of the table --> 200 when the data path answers
import * as z from 'zod/mini';
import { inventory } from '../shared/composition';
import { type HttpResult, httpApi, json } from '../shared/http';

export async function health(): Promise<HttpResult> {
  await inventory.probe();
  return json(200, { status: 'ok' });
}

export const handler = httpApi(z.object({}), health);
