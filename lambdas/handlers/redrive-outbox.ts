// (operator: aws lambda invoke) --> scan the table --> PLACED orders --> SQS FIFO; a snapshot per SKU --> SNS FIFO
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import * as z from 'zod/mini';
import { metricNames } from '../../contract/metrics';
import { describeIssues, Sku } from '../../contract/requests';
import type { RedriveResult } from '../domain/outbox';
import { outbox } from '../shared/composition';
import { eventHandler } from '../shared/event-handler';
import { logger } from '../shared/powertools/logger';
import { metrics } from '../shared/powertools/metrics';

/** `{}` redrives everything; `skus` narrows it; `dryRun` only counts. */
const RedriveRequest = z.strictObject({
  skus: z.optional(z.array(Sku).check(z.minLength(1), z.maxLength(100))),
  dryRun: z.optional(z.boolean()),
});

/**
 * Recovers what a lost stream range would have carried — the stream keeps
 * records 24 hours, and a batch that fails past its retries lands, as
 * metadata only, on the stream-failure queue. Reads the table itself: every
 * order still PLACED goes to the orders queue again, and every SKU gets a
 * fresh snapshot. Both are idempotent downstream (dedup ids, a conditional
 * PLACED → FULFILLED, channels applying only newer versions), so a redrive
 * while the stream is healthy changes no state.
 */
export async function redriveOutbox(event: unknown): Promise<RedriveResult> {
  const parsed = RedriveRequest.safeParse(event ?? {});
  if (!parsed.success) {
    const detail = describeIssues(parsed.error.issues);
    throw new Error(`Redrive request is not valid: ${detail}. Send {} or {"skus":["SKU"],"dryRun":true}`);
  }
  const { skus, dryRun = false } = parsed.data;
  const result = await outbox.redrive({ skus, dryRun }, (progress) => logger.info('Redrive progress', { ...progress }));
  metrics.addMetric(metricNames.ordersRedriven, MetricUnit.Count, result.dryRun ? 0 : result.orders);
  logger.info('Redrive done', { ...result });
  return result;
}

export const handler = eventHandler(redriveOutbox);
