// (schedule) --> expire due holds --> DynamoDB transactions (reservation + shards + limit)
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import { captureLambdaHandler } from '@aws-lambda-powertools/tracer/middleware';
import middy from '@middy/core';
import { numberEnv } from '../shared/env';
import { inventory, sleep } from '../shared/inventory';
import { logger, metrics, tracer } from '../shared/powertools';

/**
 * Schedules fire at most once a minute on AWS, and a hold should come back
 * within about a second of its expiry: one invocation sweeps every second for
 * this long. Locally the runtime calls the function every second (0 = one sweep).
 */
const SWEEP_FOR_MS = numberEnv('SWEEP_FOR_SECONDS', 0) * 1000;
const SWEEP_EVERY_MS = 1000;

export async function expireHolds(): Promise<{ expired: number; sweeps: number }> {
  const until = Date.now() + SWEEP_FOR_MS;
  let expired = 0;
  let sweeps = 0;
  do {
    const started = Date.now();
    expired += await inventory.expireDueHolds();
    sweeps++;
    const next = started + SWEEP_EVERY_MS;
    if (next >= until) break;
    await sleep(next - Date.now());
  } while (Date.now() < until);
  metrics.addMetric('HoldsExpired', MetricUnit.Count, expired);
  if (expired > 0) logger.info('Expired due holds', { expired, sweeps });
  return { expired, sweeps };
}

export const handler = middy()
  .use(captureLambdaHandler(tracer))
  .use(injectLambdaContext(logger))
  .use(logMetrics(metrics))
  .handler(expireHolds);
