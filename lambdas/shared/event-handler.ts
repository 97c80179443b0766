/**
 * The middy stack of every function: tracer (when the function traces with the X-Ray SDK), logger,
 * metrics, in that order.
 * `eventHandler()` wraps the functions that events invoke (SQS batches,
 * stream records, schedules, an operator's invoke); `httpApi()`
 * (`./http.ts`) builds the API's on top of the same stack.
 */
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import middy from '@middy/core';
import type { Context } from 'aws-lambda';
import { logger } from './powertools/logger';
import { metrics } from './powertools/metrics';
import { tracing } from './powertools/tracer';

export function observed<TEvent, TResult>(options: { readonly captureColdStartMetric?: boolean } = {}) {
  return middy<TEvent, TResult>().use(tracing).use(injectLambdaContext(logger)).use(logMetrics(metrics, options));
}

/** Wraps a handler that an event source, a schedule or an operator invokes. */
export function eventHandler<TEvent, TResult>(handler: (event: TEvent, context: Context) => Promise<TResult>) {
  return observed<TEvent, TResult>().handler(handler);
}
