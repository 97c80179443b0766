import type { Context } from 'aws-lambda';

/**
 * No step of a long-running scheduled function (the expiry sweep, the admission ticks) begins this close to
 * its timeout: a step already running has this long to finish (each AWS call gives up within about 8 s:
 * three attempts of `awsCallLimits`). What is left is for the next invocation. An invocation Lambda cuts
 * off ends in an error, and EventBridge Scheduler invokes asynchronously, so Lambda would retry it beside
 * the next minute's run (https://docs.aws.amazon.com/lambda/latest/dg/invocation-async.html).
 */
export const STOP_BEFORE_TIMEOUT_MS = 10_000;

/** When this invocation must stop beginning new work (epoch ms). */
export function stopTimeOf(context: Pick<Context, 'getRemainingTimeInMillis'>): number {
  return Date.now() + context.getRemainingTimeInMillis() - STOP_BEFORE_TIMEOUT_MS;
}
