// (operator: aws lambda invoke) --> scan the table --> PLACED orders --> SQS FIFO; a snapshot per SKU --> SNS FIFO
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import { captureLambdaHandler } from '@aws-lambda-powertools/tracer/middleware';
import middy from '@middy/core';
import * as z from 'zod/mini';
import { metricNames } from '../../contract/metrics';
import { describeIssues, Sku } from '../../contract/requests';
import { store } from '../shared/inventory';
import { enqueueOrders, orderPlaced, publishSnapshot } from '../shared/outbox';
import { logger, metrics, tracer } from '../shared/powertools';

/** `{}` redrives everything; `skus` narrows it; `dryRun` only counts. */
const RedriveRequest = z.strictObject({
  skus: z.optional(z.array(Sku).check(z.minLength(1), z.maxLength(100))),
  dryRun: z.optional(z.boolean()),
});

export interface RedriveResult {
  readonly dryRun: boolean;
  /** Items read by the Scan. */
  readonly scanned: number;
  /** PLACED orders sent to the orders queue (or that would be, in a dry run). */
  readonly orders: number;
  /** SKUs given a fresh snapshot on the inventory topic. */
  readonly snapshots: number;
}

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
  const wanted = parsed.data.skus ? new Set(parsed.data.skus) : undefined;
  const dryRun = parsed.data.dryRun ?? false;
  let scanned = 0;
  let orders = 0;
  const skus = new Set<string>();
  for await (const page of store.scanOutbox()) {
    const placed = page.placed.filter((order) => !wanted || wanted.has(order.sku)).map(orderPlaced);
    if (!dryRun) await enqueueOrders(placed);
    scanned += page.scanned;
    orders += placed.length;
    for (const sku of page.skus) if (!wanted || wanted.has(sku)) skus.add(sku);
    logger.info('Redrive progress', { scanned, orders, skus: skus.size });
  }
  let snapshots = 0;
  for (const sku of skus) {
    if (dryRun || (await publishSnapshot(sku, []))) snapshots++;
  }
  metrics.addMetric(metricNames.ordersRedriven, MetricUnit.Count, dryRun ? 0 : orders);
  const result = { dryRun, scanned, orders, snapshots };
  logger.info('Redrive done', { ...result });
  return result;
}

export const handler = middy()
  .use(captureLambdaHandler(tracer))
  .use(injectLambdaContext(logger))
  .use(logMetrics(metrics))
  .handler(redriveOutbox);
