/**
 * Local stand-in for EventBridge Scheduler: runs each scheduled function on
 * its interval, never two runs of one function at once.
 */
import { randomUUID } from 'node:crypto';
import type { Context } from 'aws-lambda';

export interface ScheduledFunction {
  readonly name: string;
  readonly everyMs: number;
  readonly run: (event: unknown, context: Context) => Promise<unknown>;
}

export interface RunningSchedules {
  /** Runs every function once now and waits for it (tests use this to sweep on demand). */
  runNow(): Promise<void>;
  stop(): Promise<void>;
}

export function startSchedules(functions: readonly ScheduledFunction[]): RunningSchedules {
  let stopped = false;
  const inFlight = new Map<string, Promise<void>>();

  const runOnce = (fn: ScheduledFunction): Promise<void> => {
    const current = inFlight.get(fn.name);
    if (current) return current;
    const run = fn
      .run(
        { source: 'dropline.schedule', 'detail-type': 'Scheduled Event', time: new Date().toISOString() },
        context(fn.name),
      )
      .then(
        () => undefined,
        (error: unknown) => {
          console.error(`[schedule] ${fn.name} failed: ${error instanceof Error ? error.message : String(error)}`);
        },
      )
      .finally(() => inFlight.delete(fn.name));
    inFlight.set(fn.name, run);
    return run;
  };

  const timers = functions.map((fn) =>
    setInterval(() => {
      if (!stopped) void runOnce(fn);
    }, fn.everyMs),
  );

  return {
    runNow: async () => {
      await Promise.all(functions.map(runOnce));
    },
    stop: async () => {
      stopped = true;
      for (const timer of timers) clearInterval(timer);
      await Promise.all(inFlight.values());
    },
  };
}

function context(name: string): Context {
  const deadline = Date.now() + 60_000;
  return {
    callbackWaitsForEmptyEventLoop: false,
    functionName: `dropline-${name}`,
    functionVersion: '$LATEST',
    invokedFunctionArn: `arn:aws:lambda:us-east-1:000000000000:function:dropline-${name}`,
    memoryLimitInMB: '512',
    awsRequestId: randomUUID(),
    logGroupName: `/aws/lambda/dropline-${name}`,
    logStreamName: 'local',
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  };
}
