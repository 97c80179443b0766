/**
 * The `dropline` command line. `serve` runs the local stack until stopped.
 */
import { parseArgs } from 'node:util';
import { JavaMissingError } from './emulators/dynamodb-local';
import type { AwsEndpoints } from './emulators/embedded-aws';
import { runPreflight } from './preflight';
import { defaultRehearsal, type Progress, type RehearsalOptions, rehearse } from './rehearsal/run';
import { AdminKeyError, MIN_ADMIN_KEY_LENGTH, resolveAdminKey, startLocalStack } from './stack';

export const MAX_REMOTE_SHOPPERS = 50_000;
export const MAX_REMOTE_SECONDS = 300;

const USAGE = `Usage: dropline <command> [options]

Commands:
  rehearse [options]
        A drop rehearsal: boot the embedded stack, run a spike of shoppers and bots
        against a limited SKU, wait for holds to expire and queues to drain, check
        every promise, print a summary and write JSON and HTML reports. Exits 1
        naming the promise that broke.
          --stock N            units in the drop (${defaultRehearsal.stock})
          --shoppers N         arrivals, bots included (${defaultRehearsal.shoppers})
          --duration S         seconds of ramp, spike and decay (${defaultRehearsal.durationSeconds})
          --bot-share F        share of arrivals that are bots (${defaultRehearsal.botShare})
          --hold-seconds N     how long a hold lasts (${defaultRehearsal.holdSeconds})
          --max-per-customer N (${defaultRehearsal.maxPerCustomer})
          --shards N           stock shards (default: from the stock)
          --seed N             same seed, same shoppers (${defaultRehearsal.seed})
          --report-dir DIR     where reports go (${defaultRehearsal.reportDir})
          --json               print one JSON object as the last line of stdout
          --target URL --admin-key KEY [--confirm-remote]
                               rehearse against a running stack instead (a deployed
                               one needs --confirm-remote; at most ${MAX_REMOTE_SHOPPERS} shoppers
                               over at most ${MAX_REMOTE_SECONDS} s)
          --aws-endpoint URL   run the local stack on these AWS endpoints (LocalStack)

  serve [--port N] [--host H] [--data-dir DIR] [--aws-endpoint URL]
        Boot the embedded AWS (DynamoDB Local + fauxqs) and serve the HTTP contract
        until Ctrl-C. The admin key comes from DROPLINE_ADMIN_KEY (at least
        ${MIN_ADMIN_KEY_LENGTH} characters; refused otherwise), or is generated.
        --aws-endpoint runs it against LocalStack (or any AWS-compatible endpoint).

  preflight --plan FILE [-c key=value ...] [--at ISO-TIME] [--json]
        What a drop plan asks of AWS: per drop its shards, provisioned concurrency per
        path, writes and a cost estimate; the stack's warm throughput and API throttles;
        every quota against what -c declares (accountConcurrency, apiAccountRps,
        apiAccountBurst, tableMaxWriteUnits, tableMaxReadUnits, warmWritesFloor,
        warmReadsFloor; AWS defaults otherwise). Exits 1 naming each quota to raise,
        2 on a bad plan (naming the field) or bad options.

Options:
  -h, --help    Show this help`;

export async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (!command || command === '--help' || command === '-h' || command === 'help') {
    console.log(USAGE);
    return command ? 0 : 2;
  }
  if (command === 'serve') return serve(rest);
  if (command === 'rehearse') return rehearseCommand(rest);
  if (command === 'preflight') return preflightCommand(rest);
  console.error(`Unknown command: ${command}\n\n${USAGE}`);
  return 2;
}

async function serve(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      port: { type: 'string', default: '3000' },
      host: { type: 'string', default: '127.0.0.1' },
      'data-dir': { type: 'string' },
      'aws-endpoint': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  });
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  const port = Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65_535) {
    console.error(`--port must be an integer from 0 to 65535, got ${values.port}`);
    return 2;
  }
  let adminKey: string;
  try {
    adminKey = resolveAdminKey();
  } catch (error) {
    if (!(error instanceof AdminKeyError)) throw error;
    console.error(`dropline serve: ${error.message}`);
    return 2;
  }
  const endpoints = values['aws-endpoint'] ? awsEndpoints(values['aws-endpoint']) : undefined;
  console.log(endpoints ? `Starting on ${endpoints.dynamodb}…` : 'Starting the embedded AWS (DynamoDB Local, fauxqs)…');
  const stack = await startLocalStack({
    port,
    adminKey,
    host: values.host,
    ...(values['data-dir'] ? { dataDir: values['data-dir'] } : {}),
    ...(endpoints ? { endpoints } : {}),
  });
  console.log(`dropline is serving the HTTP contract at ${stack.url}`);
  console.log(`  admin key (x-api-key): ${stack.adminKey}`);
  console.log(`  DynamoDB Local:        ${stack.endpoints.dynamodb}`);
  console.log(`  SQS/SNS (fauxqs):      ${stack.endpoints.sqs}`);
  console.log('Press Ctrl-C to stop.');

  await new Promise<void>((resolve) => {
    const shutdown = (signal: string) => {
      console.log(`\n${signal}: stopping…`);
      resolve();
    };
    process.once('SIGINT', () => shutdown('SIGINT'));
    process.once('SIGTERM', () => shutdown('SIGTERM'));
  });
  await stack.stop();
  console.log('Stopped.');
  return 0;
}

function preflightCommand(args: string[]): number {
  let values: { plan?: string; context?: string[]; at?: string; json?: boolean; help?: boolean };
  try {
    ({ values } = parseArgs({
      args,
      options: {
        plan: { type: 'string' },
        context: { type: 'string', short: 'c', multiple: true },
        at: { type: 'string' },
        json: { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
    }));
  } catch (error) {
    console.error(`dropline preflight: ${(error as Error).message}`);
    return 2;
  }
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  return runPreflight({ plan: values.plan, context: values.context ?? [], at: values.at, json: values.json ?? false });
}

export function describeFailure(error: unknown): string {
  if (error instanceof JavaMissingError) return error.message;
  if (error instanceof Error) {
    if ((error as NodeJS.ErrnoException).code === 'EADDRINUSE') return `That port is in use: ${error.message}`;
    return error.message;
  }
  return String(error);
}

function awsEndpoints(url: string): AwsEndpoints {
  const parsed = new URL(url);
  return { dynamodb: parsed.origin, sqs: parsed.origin, sns: parsed.origin };
}

function isLoopback(url: string): boolean {
  const host = new URL(url).hostname.replace(/^\[|\]$/g, '');
  return host === 'localhost' || host === '::1' || /^127\./.test(host);
}

async function rehearseCommand(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      stock: { type: 'string' },
      shoppers: { type: 'string' },
      duration: { type: 'string' },
      'bot-share': { type: 'string' },
      'hold-seconds': { type: 'string' },
      'max-per-customer': { type: 'string' },
      shards: { type: 'string' },
      seed: { type: 'string' },
      'report-dir': { type: 'string' },
      json: { type: 'boolean', default: false },
      target: { type: 'string' },
      'admin-key': { type: 'string' },
      'confirm-remote': { type: 'boolean', default: false },
      'aws-endpoint': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  });
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  const number = (
    name: keyof typeof values,
    fallback: number,
    { min, max, integer = true }: { min: number; max: number; integer?: boolean },
  ) => {
    const raw = values[name];
    if (raw === undefined) return fallback;
    const value = Number(raw);
    if (!Number.isFinite(value) || value < min || value > max || (integer && !Number.isInteger(value))) {
      throw new UsageError(
        `--${name} must be ${integer ? 'an integer' : 'a number'} from ${min} to ${max}, got ${raw}`,
      );
    }
    return value;
  };
  try {
    const options: RehearsalOptions = {
      ...defaultRehearsal,
      stock: number('stock', defaultRehearsal.stock, { min: 1, max: 1_000_000 }),
      shoppers: number('shoppers', defaultRehearsal.shoppers, { min: 1, max: 200_000 }),
      durationSeconds: number('duration', defaultRehearsal.durationSeconds, { min: 1, max: 3600 }),
      botShare: number('bot-share', defaultRehearsal.botShare, { min: 0, max: 1, integer: false }),
      holdSeconds: number('hold-seconds', defaultRehearsal.holdSeconds, { min: 1, max: 3600 }),
      maxPerCustomer: number('max-per-customer', defaultRehearsal.maxPerCustomer, { min: 1, max: 100 }),
      seed: number('seed', defaultRehearsal.seed, { min: 0, max: 2 ** 31 }),
      reportDir: values['report-dir'] ?? defaultRehearsal.reportDir,
      ...(values.shards ? { shards: number('shards', 1, { min: 1, max: 64 }) } : {}),
    };
    if (values['aws-endpoint']) Object.assign(options, { awsEndpoints: awsEndpoints(values['aws-endpoint']) });
    if (values.target) {
      if (!values['admin-key']) throw new UsageError('--target needs --admin-key');
      if (!isLoopback(values.target)) {
        if (!values['confirm-remote']) {
          throw new UsageError(
            `${values.target} is not this machine: add --confirm-remote to load a deployed stack on purpose`,
          );
        }
        if (options.shoppers > MAX_REMOTE_SHOPPERS || options.durationSeconds > MAX_REMOTE_SECONDS) {
          throw new UsageError(
            `against a remote target: at most ${MAX_REMOTE_SHOPPERS} shoppers over at most ${MAX_REMOTE_SECONDS} s`,
          );
        }
      }
      Object.assign(options, { target: { url: values.target.replace(/\/$/, ''), adminKey: values['admin-key'] } });
    } else {
      // The local stack reads DROPLINE_ADMIN_KEY: refuse a bad one now, not after booting the emulators.
      checkAdminKey();
    }
    const result = await rehearse(options, progressBar());
    printSummary(result);
    if (values.json) process.stdout.write(`${JSON.stringify(result.summary)}\n`);
    return result.passed ? 0 : 1;
  } catch (error) {
    if (error instanceof UsageError) {
      console.error(`dropline rehearse: ${error.message}`);
      return 2;
    }
    throw error;
  }
}

class UsageError extends Error {}

function checkAdminKey(): void {
  try {
    resolveAdminKey();
  } catch (error) {
    if (error instanceof AdminKeyError) throw new UsageError(error.message);
    throw error;
  }
}

function progressBar(): Progress {
  const tty = process.stderr.isTTY === true;
  let lastPrinted = 0;
  return {
    update(fraction, line) {
      if (tty) {
        const width = 28;
        const filled = Math.round(fraction * width);
        process.stderr.write(
          `\r[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${line}`.padEnd(110).slice(0, 130),
        );
      } else if (Date.now() - lastPrinted > 5000) {
        lastPrinted = Date.now();
        process.stderr.write(`${Math.round(fraction * 100)}% ${line}\n`);
      }
    },
    done() {
      if (tty) process.stderr.write('\n');
    },
    log(line) {
      process.stderr.write(`${line}\n`);
    },
  };
}

function printSummary(result: Awaited<ReturnType<typeof rehearse>>): void {
  const s = result.summary as Record<string, string | number> & {
    latencyMs: Record<string, number>;
    failures: string[];
  };
  const lines = [
    '',
    `Drop rehearsal ${result.passed ? 'PASSED: every promise held' : `FAILED: ${s.failures.join(', ')}`}`,
    '',
    `  sold ${s.sold} of ${s.stock} units in ${s.orders} orders; oversold ${s.oversold}; expired ${s.expired}, released ${s.released}`,
    `  ${s.attempts} reservation attempts by ${s.shoppers} shoppers and ${s.bots} bots over ${s.durationSeconds} s (peak ≈ ${s.peakArrivalRps} arrivals/s)`,
    `  ${s.throughputRps} answers/s; latency p50 ${s.latencyMs.p50} ms, p95 ${s.latencyMs.p95} ms, p99 ${s.latencyMs.p99} ms; 5xx ${s.errors5xx}`,
    '',
    ...result.checks.map(
      (check) => `  ${check.passed ? 'held  ' : 'BROKEN'}  ${check.promise.padEnd(22)} ${check.detail}`,
    ),
    '',
    `  report: ${result.reportPath}`,
    '',
  ];
  process.stdout.write(lines.join('\n'));
}
