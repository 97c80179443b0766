/**
 * Local stand-in for EventBridge Scheduler: runs each scheduled function on
 * its interval, never two runs of one function at once.
 */
import type { Context } from 'aws-lambda';
import { lambdaContext } from './lambda-context';

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
        lambdaContext(fn.name, 60_000),
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
