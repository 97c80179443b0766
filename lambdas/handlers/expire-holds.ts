// (schedule) --> expire due holds --> DynamoDB transactions (reservation + shards + limit)
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import { captureLambdaHandler } from '@aws-lambda-powertools/tracer/middleware';
import middy from '@middy/core';
import { inventory } from '../shared/inventory';
import { logger, metrics, tracer } from '../shared/powertools';

export async function expireHolds(): Promise<{ expired: number }> {
  const expired = await inventory.expireDueHolds();
  metrics.addMetric('HoldsExpired', MetricUnit.Count, expired);
  if (expired > 0) logger.info('Expired due holds', { expired });
  return { expired };
}

export const handler = middy()
  .use(captureLambdaHandler(tracer))
  .use(injectLambdaContext(logger))
  .use(logMetrics(metrics))
  .handler(expireHolds);
