/**
 * The `dropline` command line. `serve` runs the local stack until stopped.
 */
import { readFileSync } from 'node:fs';
import { type ParseArgsOptionsConfig, parseArgs } from 'node:util';
import { DROP_ACTIONS, isDropAction } from '../contract/drops';
import { MAX_SHARDS } from '../contract/inventory-table';
import { SKU_PATTERN, SKU_RULE } from '../contract/sku';
import { AdminKeyError, MIN_ADMIN_KEY_LENGTH, resolveAdminKey } from './admin-key';
import { ApiClient } from './api-client';
import { AssemblyError, readCloudAssembly } from './assembly/cloud-assembly';
import { ownAssembly, SynthError } from './assembly/own-assembly';
import { startAssemblyStack } from './assembly/run';
import { assertJava, JavaMissingError } from './emulators/dynamodb-local';
import type { AwsEndpoints } from './emulators/embedded-aws';
import { assertPortFree, EnvironmentError, prepareWritableDir } from './emulators/environment';
import { TEST_PROVIDER_CONTEXT, type TestIssuer } from './identity/test-issuer';
import { runPreflight } from './preflight';
import type { Admission } from './rehearsal/recorder';
import {
  defaultPause,
  defaultRehearsal,
  type PauseMeasures,
  type Progress,
  type RehearsalOptions,
  rehearse,
  type WaitingRoomMeasures,
} from './rehearsal/run';
import { startLocalStack } from './stack';

export const MAX_REMOTE_SHOPPERS = 50_000;
export const MAX_REMOTE_SECONDS = 300;

/** Exit codes, as `--help` and the README list them. */
export const EXIT = { ok: 0, promiseBroke: 1, usage: 2, environment: 3 } as const;

const REHEARSE_HELP = `  rehearse [options]
        A drop rehearsal: synthesize the app (offline, cached), run its cloud assembly
        on the embedded AWS, run a spike of shoppers and bots against a limited SKU,
        wait for holds to expire and queues to drain, check every promise, print a
        summary and write JSON and HTML reports. Exits 1 naming the promise that broke.
          --stock N            units in the drop (${defaultRehearsal.stock})
          --shoppers N         arrivals, bots included (${defaultRehearsal.shoppers})
          --duration S         seconds of ramp, spike and decay (${defaultRehearsal.durationSeconds})
          --bot-share F        share of arrivals that are bots (${defaultRehearsal.botShare})
          --hold-seconds N     how long a hold lasts (${defaultRehearsal.holdSeconds})
          --max-per-customer N (${defaultRehearsal.maxPerCustomer})
          --shards N           stock shards, up to ${MAX_SHARDS} (default: from the stock)
          --seed N             same seed, same shoppers and choices; outcomes still vary
                               with timing (${defaultRehearsal.seed})
          --report-dir DIR     where reports go, created if missing (${defaultRehearsal.reportDir})
          --waiting-room       turn the drop's waiting room on: shoppers queue at the edge
                               (the drop starts 3 s after the first arrival: early ones
                               pre-queue), bots farm tickets; the report measures order
                               inversions, waits and the sold-out notice; its shoppers
                               mostly pay, so the drop sells out for good
          --pause-at S         the operator pauses the drop S s into the run (admin route)
                               and resumes it after --pause-for S (5); with --waiting-room
                               40 % into the arrivals unless given; 0: no pause
          --identity           shopper identity on: a built-in test issuer stands in for the
                               shop's provider; shoppers and each bot's one real account sign
                               in, and tickets farmed under made-up customers admit no one
          --json               print one JSON object as the last line of stdout
          --target URL --admin-key KEY [--confirm-remote]
                               rehearse against a running stack instead (a deployed
                               one needs --confirm-remote; at most ${MAX_REMOTE_SHOPPERS} shoppers
                               over at most ${MAX_REMOTE_SECONDS} s)
          --aws-endpoint URL   run the local stack on these AWS endpoints (LocalStack)
          --assembly DIR       rehearse on this synthesized cloud assembly (npx cdk synth
                               -o DIR) instead of the app's own: what is about to deploy
          --hand-wired         run the handlers' TypeScript in this process instead of the
                               assembly (faster to iterate on; not what deploys)
          --synth              the app's own assembly, synthesized (cached): the default`;

const SERVE_HELP = `  serve [--port N] [--host H] [--data-dir DIR] [--aws-endpoint URL] [--assembly DIR | --hand-wired] [--identity]
        Synthesize the app (offline, cached by a hash of its sources), run its cloud
        assembly on the embedded AWS (DynamoDB Local + fauxqs) and serve its API until
        Ctrl-C: the templates' resources, the bundled functions, their event source
        mappings and schedules; prints what it does not run. The admin key comes from
        DROPLINE_ADMIN_KEY (at least ${MIN_ADMIN_KEY_LENGTH} characters; refused otherwise), or is generated.
          --port N             (3000; 0 picks a free one)
          --host H             (127.0.0.1)
          --data-dir DIR       keep DynamoDB's data here across restarts (created if missing)
          --aws-endpoint URL   run against LocalStack (or any AWS-compatible endpoint)
          --assembly DIR       run this synthesized cloud assembly (npx cdk synth -o DIR)
                               instead of the app's own: what is about to deploy
          --hand-wired         run the handlers' TypeScript in this process instead of the
                               assembly (faster to iterate on; not what deploys)
          --identity           shopper identity on: a built-in test issuer stands in for the
                               shop's OpenID Connect provider (POST <issuer>/token {"subject"}
                               mints a token); reservations need Authorization: Bearer <token>`;

const PREFLIGHT_HELP = `  preflight --plan FILE [-c key=value ...] [--at ISO-TIME] [--json]
        What a drop plan asks of AWS: per drop its shards, provisioned concurrency per
        path, writes and a cost estimate; the stack's warm throughput and API throttles;
        every quota against what -c declares (accountConcurrency, apiAccountRps,
        apiAccountBurst, tableMaxWriteUnits, tableMaxReadUnits, warmWritesFloor,
        warmReadsFloor; AWS defaults otherwise). Exits 1 naming each quota to raise,
        2 on a bad plan (naming the field) or bad options.`;

const DROP_HELP = `  drop <pause|resume|close> --sku SKU [--target URL] [--admin-key KEY]
        An operator's control of a drop on a running stack (local or deployed): pause
        or resume new holds, or close the drop for good. Holds already placed stay.
        The edge answers the new state within seconds.
          --sku SKU            the drop's product
          --target URL         the stack's API (http://127.0.0.1:3000)
          --admin-key KEY      its admin key (default: DROPLINE_ADMIN_KEY)`;

const EXIT_CODES = `Exit codes:
  0  success (rehearse: every promise kept)
  1  a check failed: rehearse names the promise that broke, preflight each quota to raise,
     drop the stack's refusal (no such product, a closed drop)
  2  usage error: unknown command or option, missing or out-of-range value, stray
     argument, a bad DROPLINE_ADMIN_KEY, a bad plan
  3  environment failure: Java missing or older than 17, port in use, a path that
     cannot be written, the stack or the target could not be reached`;

const USAGE = `Usage: dropline <command> [options]

Commands:
${REHEARSE_HELP}

${SERVE_HELP}

${PREFLIGHT_HELP}

${DROP_HELP}

Options:
  -h, --help      Show this help (or a command's: dropline rehearse --help)
  -v, --version   Print dropline's version

${EXIT_CODES}`;

const commandHelp = (section: string) => `Usage: dropline${section.replace(/^ {2}/, ' ')}\n\n${EXIT_CODES}`;

/** A mistake on the command line: exit 2, with the message and where to read more. */
class UsageError extends Error {}

export async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (!command || command === '--help' || command === '-h' || command === 'help') {
    console.log(USAGE);
    return command ? EXIT.ok : EXIT.usage;
  }
  if (command === '--version' || command === '-v' || command === 'version') {
    console.log(`dropline ${packageVersion()}`);
    return EXIT.ok;
  }
  if (command === 'preflight') return preflightCommand(rest);
  const run =
    command === 'serve'
      ? serve
      : command === 'rehearse'
        ? rehearseCommand
        : command === 'drop'
          ? dropCommand
          : undefined;
  if (!run) {
    const guess = closest(command, ['rehearse', 'serve', 'preflight', 'drop']);
    console.error(`dropline: unknown command ${command}${guess ? ` (did you mean ${guess}?)` : ''}\n\n${USAGE}`);
    return EXIT.usage;
  }
  try {
    return await run(rest);
  } catch (error) {
    if (error instanceof UsageError) {
      console.error(`dropline ${command}: ${error.message}\nRun 'dropline ${command} --help' for its options.`);
      return EXIT.usage;
    }
    console.error(`dropline ${command}: ${describeFailure(error)}`);
    // Everything started has been stopped by now; should a handle still hold the event loop, exit anyway.
    setTimeout(() => process.exit(EXIT.environment), 2000).unref();
    return EXIT.environment;
  }
}

function packageVersion(): string {
  const manifest = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as {
    version: string;
  };
  return manifest.version;
}

/** parseArgs in strict mode, with its errors turned into usage errors that point at the likely option. */
function parseCommand<T extends ParseArgsOptionsConfig>(args: string[], options: T) {
  try {
    return parseArgs({ args: joinNegativeValues(args, options), options, strict: true, allowPositionals: false })
      .values;
  } catch (error) {
    const message = (error as Error).message;
    const unknown = /^Unknown option '(-{1,2}[^']+)'/.exec(message)?.[1];
    if (unknown) {
      const guess = closest(
        unknown.replace(/^-+/, '').split('=')[0] as string,
        Object.keys(options).filter((name) => name.length > 1),
      );
      throw new UsageError(`unknown option ${unknown}${guess ? ` (did you mean --${guess}?)` : ''}`);
    }
    const stray = /^Unexpected argument '([^']*)'/.exec(message)?.[1];
    if (stray !== undefined) throw new UsageError(`unexpected argument ${stray}: this command takes only options`);
    const missing = /^Option '(-[^ ']*(?: --[^ ']*)?)[^']*' argument missing/.exec(message)?.[1];
    if (missing) throw new UsageError(`${missing.split(', ').at(-1)} needs a value`);
    const flag = /^Option '(--[^']+)' does not take an argument/.exec(message)?.[1];
    if (flag) throw new UsageError(`${flag} takes no value`);
    throw new UsageError(message);
  }
}

/** `--stock -5` is the value -5, as a person means it (parseArgs alone calls it ambiguous), so the range check answers. */
function joinNegativeValues(args: string[], options: ParseArgsOptionsConfig): string[] {
  const joined: string[] = [];
  for (let index = 0; index < args.length; index++) {
    const arg = args[index] as string;
    const next = args[index + 1];
    const name = /^--([^=]+)$/.exec(arg)?.[1];
    if (name && options[name]?.type === 'string' && next !== undefined && /^-\.?\d/.test(next)) {
      joined.push(`${arg}=${next}`);
      index++;
    } else {
      joined.push(arg);
    }
  }
  return joined;
}

/** The candidate within two edits of `typed`, if any: "did you mean --stock?". */
function closest(typed: string, candidates: readonly string[]): string | undefined {
  const distance = (a: string, b: string) => {
    let previous = Array.from({ length: b.length + 1 }, (_, index) => index);
    for (let i = 1; i <= a.length; i++) {
      const current = [i];
      for (let j = 1; j <= b.length; j++) {
        current[j] = Math.min(
          (previous[j] as number) + 1,
          (current[j - 1] as number) + 1,
          (previous[j - 1] as number) + (a[i - 1] === b[j - 1] ? 0 : 1),
        );
      }
      previous = current;
    }
    return previous[b.length] as number;
  };
  const ranked = candidates
    .map((candidate) => ({ candidate, edits: distance(typed, candidate) }))
    .sort((a, b) => a.edits - b.edits)[0];
  return ranked && ranked.edits <= 2 ? ranked.candidate : undefined;
}

function urlOption(name: string, value: string): string {
  let parsed: URL | undefined;
  try {
    parsed = new URL(value);
  } catch {
    parsed = undefined;
  }
  if (!parsed || !/^https?:$/.test(parsed.protocol)) {
    throw new UsageError(`--${name} must be an http(s) URL such as http://127.0.0.1:3000, got ${value}`);
  }
  return value;
}

async function serve(args: string[]): Promise<number> {
  const values = parseCommand(args, {
    port: { type: 'string', default: '3000' },
    host: { type: 'string', default: '127.0.0.1' },
    'data-dir': { type: 'string' },
    'aws-endpoint': { type: 'string' },
    assembly: { type: 'string' },
    'hand-wired': { type: 'boolean', default: false },
    identity: { type: 'boolean', default: false },
    help: { type: 'boolean', short: 'h' },
  });
  if (values.help) {
    console.log(commandHelp(SERVE_HELP));
    return EXIT.ok;
  }
  const port = Number(values.port);
  if (!/^\d+$/.test(values.port) || port > 65_535) {
    throw new UsageError(`--port must be an integer from 0 to 65535, got ${values.port}`);
  }
  let adminKey: string;
  try {
    adminKey = resolveAdminKey();
  } catch (error) {
    if (!(error instanceof AdminKeyError)) throw error;
    throw new UsageError(error.message);
  }
  const endpoints = values['aws-endpoint']
    ? awsEndpoints(urlOption('aws-endpoint', values['aws-endpoint']))
    : undefined;
  // What the machine must offer is checked before anything starts, so a failure leaves nothing running.
  const dataDir = values['data-dir'] ? prepareWritableDir(values['data-dir'], '--data-dir') : undefined;
  await assertPortFree(values.host, port, '--port');
  if (!endpoints) assertJava();
  const identity = values.identity === true;
  const assemblyDir = await chooseAssembly(
    values.assembly,
    values['hand-wired'],
    (line) => console.log(line),
    // The app's own, as deployed with an identity provider: the test issuer stands in for it.
    identity ? TEST_PROVIDER_CONTEXT : {},
  );
  if (assemblyDir !== undefined) {
    return serveAssembly(assemblyDir, { port, host: values.host, adminKey, endpoints, dataDir, identity });
  }
  console.log(endpoints ? `Starting on ${endpoints.dynamodb}…` : 'Starting the embedded AWS (DynamoDB Local, fauxqs)…');
  const stack = await startLocalStack({
    port,
    adminKey,
    host: values.host,
    ...(dataDir ? { dataDir } : {}),
    ...(endpoints ? { endpoints } : {}),
    identity,
  });
  console.log(`dropline is serving the HTTP contract at ${stack.url}`);
  console.log(`  drop page:             ${stack.url}/?sku=<sku>`);
  if (stack.identity) printIdentity(stack.identity);
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
  return EXIT.ok;
}

/**
 * The assembly to run: the one given, none with `--hand-wired`, else the app's own (synthesized
 * now, or found in the cache).
 */
async function chooseAssembly(
  given: string | undefined,
  handWired: boolean | undefined,
  log: (line: string) => void,
  context: Readonly<Record<string, string>> = {},
): Promise<string | undefined> {
  if (given !== undefined && handWired) throw new UsageError('--assembly and --hand-wired exclude each other');
  if (handWired) return undefined;
  if (given !== undefined) {
    assertAssembly(given);
    return given;
  }
  const own = await ownAssembly({ log, context });
  if (!own.cached) log(`Synthesized in ${(own.synthMs / 1000).toFixed(1)} s.`);
  return own.dir;
}

function assertAssembly(dir: string): void {
  try {
    readCloudAssembly(dir);
  } catch (error) {
    if (error instanceof AssemblyError) throw new UsageError(`--assembly: ${error.message}`);
    throw error;
  }
}

async function serveAssembly(
  dir: string,
  options: {
    port: number;
    host: string;
    adminKey: string;
    endpoints: AwsEndpoints | undefined;
    dataDir: string | undefined;
    identity: boolean;
  },
): Promise<number> {
  console.log(`Starting the cloud assembly ${dir}…`);
  let stack: Awaited<ReturnType<typeof startAssemblyStack>>;
  try {
    stack = await startAssemblyStack({
      assemblyDir: dir,
      adminKey: options.adminKey,
      identity: options.identity,
      port: options.port,
      host: options.host,
      ...(options.dataDir ? { dataDir: options.dataDir } : {}),
      ...(options.endpoints ? { endpoints: options.endpoints } : {}),
    });
  } catch (error) {
    // An assembly that names no identity provider for --identity: the operator's mistake, not the machine's.
    if (options.identity && error instanceof AssemblyError && error.message.includes('identity provider')) {
      throw new UsageError(`--identity: the assembly ${error.message}`);
    }
    throw error;
  }
  console.log(`dropline is serving the HTTP contract at ${stack.url}`);
  if (stack.identity) printIdentity(stack.identity);
  console.log(`  cloud assembly:        ${dir} (${stack.routes} routes, ${stack.functions} functions)`);
  if (stack.pageUrl) console.log(`  drop page:             ${stack.pageUrl}?sku=<sku>`);
  console.log(`  admin key (x-api-key): ${stack.adminKey}`);
  console.log(`  DynamoDB:              ${stack.endpoints.dynamodb}`);
  console.log(`  SQS/SNS:               ${stack.endpoints.sqs}`);
  console.log('Not run locally:');
  for (const note of stack.notes) console.log(`  - ${note}`);
  console.log('Press Ctrl-C to stop.');
  await new Promise<void>((resolve) => {
    process.once('SIGINT', () => resolve());
    process.once('SIGTERM', () => resolve());
  });
  console.log('\nStopping…');
  await stack.stop();
  console.log('Stopped.');
  return EXIT.ok;
}

function printIdentity(issuer: TestIssuer): void {
  console.log(`  identity (test issuer): ${issuer.issuer}`);
  console.log(`    a token:  curl -s -X POST ${issuer.issuer}/token -d '{"subject":"alice"}'`);
  console.log('    then:     Authorization: Bearer <access_token> on POST /products/{sku}/reservations');
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
    console.log(commandHelp(PREFLIGHT_HELP));
    return 0;
  }
  return runPreflight({ plan: values.plan, context: values.context ?? [], at: values.at, json: values.json ?? false });
}

/** `dropline drop <action>`: the admin route, from the command line. */
async function dropCommand(args: string[]): Promise<number> {
  const [action, ...rest] = args;
  if (action === undefined || action === '--help' || action === '-h') {
    console.log(commandHelp(DROP_HELP));
    return action === undefined ? EXIT.usage : EXIT.ok;
  }
  if (!isDropAction(action)) {
    const guess = closest(action, Object.keys(DROP_ACTIONS));
    throw new UsageError(`unknown action ${action}${guess ? ` (did you mean ${guess}?)` : ''}: pause, resume or close`);
  }
  const values = parseCommand(rest, {
    sku: { type: 'string' },
    target: { type: 'string', default: 'http://127.0.0.1:3000' },
    'admin-key': { type: 'string' },
    help: { type: 'boolean', short: 'h' },
  });
  if (values.help) {
    console.log(commandHelp(DROP_HELP));
    return EXIT.ok;
  }
  if (!values.sku || !SKU_PATTERN.test(values.sku)) {
    throw new UsageError(`--sku is required: ${SKU_RULE}${values.sku ? `, got ${values.sku}` : ''}`);
  }
  const target = urlOption('target', values.target).replace(/\/+$/, '');
  const adminKey = values['admin-key'] ?? process.env.DROPLINE_ADMIN_KEY;
  if (!adminKey) throw new UsageError('--admin-key is required (or set DROPLINE_ADMIN_KEY)');
  const api = new ApiClient(target, adminKey);
  try {
    const answer = await api
      .call<{ state?: string; error?: { code: string; message: string } }>(
        'POST',
        `/admin/drops/${values.sku}/${action}`,
        { admin: true },
      )
      .catch((error: unknown) => {
        throw new EnvironmentError(`${target} could not be reached: ${(error as Error).message}`);
      });
    if (answer.status === 200) {
      console.log(`${values.sku}: ${answer.body.state}`);
      return EXIT.ok;
    }
    const refusal = answer.body.error ? `${answer.body.error.code}: ${answer.body.error.message}` : answer.text;
    console.error(`dropline drop ${action}: ${target} answered ${answer.status} ${refusal}`);
    return answer.status === 403 ? EXIT.usage : EXIT.promiseBroke;
  } finally {
    await api.close();
  }
}

export function describeFailure(error: unknown): string {
  if (error instanceof JavaMissingError || error instanceof EnvironmentError || error instanceof SynthError) {
    return error.message;
  }
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
  const values = parseCommand(args, {
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
    assembly: { type: 'string' },
    synth: { type: 'boolean', default: false },
    'hand-wired': { type: 'boolean', default: false },
    'waiting-room': { type: 'boolean', default: false },
    'pause-at': { type: 'string' },
    'pause-for': { type: 'string' },
    identity: { type: 'boolean', default: false },
    help: { type: 'boolean', short: 'h' },
  });
  if (values.help) {
    console.log(commandHelp(REHEARSE_HELP));
    return EXIT.ok;
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
    ...(values.shards ? { shards: number('shards', 1, { min: 1, max: MAX_SHARDS }) } : {}),
    ...(values['waiting-room'] ? { waitingRoom: true } : {}),
    ...(values.identity ? { identity: true } : {}),
  };
  const pauseAt = number('pause-at', values['waiting-room'] ? defaultPause(options.durationSeconds).atSeconds : 0, {
    min: 0,
    max: 3600,
    integer: false,
  });
  const pauseFor = number('pause-for', 5, { min: 1, max: 600, integer: false });
  if (pauseAt > 0) Object.assign(options, { pause: { atSeconds: pauseAt, forSeconds: pauseFor } });
  if (values['aws-endpoint']) {
    Object.assign(options, { awsEndpoints: awsEndpoints(urlOption('aws-endpoint', values['aws-endpoint'])) });
  }
  if (values.target && values.assembly !== undefined) {
    throw new UsageError('--assembly and --target are two different stacks: give one');
  }
  if (values.target && values.synth) throw new UsageError('--synth runs a local stack: not with --target');
  if (values.target && values['hand-wired']) throw new UsageError('--hand-wired runs a local stack: not with --target');
  if (values.synth && values['hand-wired']) throw new UsageError('--synth and --hand-wired exclude each other');
  if (values.assembly !== undefined && values['hand-wired']) {
    throw new UsageError('--assembly and --hand-wired exclude each other');
  }
  if (values.target && values.identity) {
    throw new UsageError('--identity signs shoppers in with the local test issuer: not with --target');
  }
  if (values.synth && values.assembly !== undefined) throw new UsageError('--synth and --assembly exclude each other');
  if (values.target) {
    urlOption('target', values.target);
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
  // Reports are written after the run: a path that cannot take them is refused before it.
  prepareWritableDir(options.reportDir, '--report-dir');
  if (!options.target && !options.awsEndpoints) assertJava();
  const progress = progressBar();
  if (!options.target) {
    const assemblyDir = await chooseAssembly(
      values.assembly,
      values['hand-wired'],
      (line) => progress.log(line),
      // The app's own, as deployed with an identity provider: the test issuer stands in for it.
      values.identity ? TEST_PROVIDER_CONTEXT : {},
    );
    if (assemblyDir !== undefined) Object.assign(options, { assemblyDir });
  }
  const result = await rehearse(options, progress);
  printSummary(result);
  if (values.json) process.stdout.write(`${JSON.stringify(result.summary)}\n`);
  return result.passed ? EXIT.ok : EXIT.promiseBroke;
}

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
    admission: Admission & {
      waitingRoom?: WaitingRoomMeasures;
      goals?: Array<{ goal: string; met: boolean; detail: string }>;
    };
    pause: PauseMeasures | null;
  };
  const pause = s.pause;
  const lines = [
    '',
    `Drop rehearsal ${result.passed ? 'PASSED: every promise kept' : `FAILED: ${s.failures.join(', ')}`}`,
    '',
    `  sold ${s.sold} of ${s.stock} units in ${s.orders} orders; oversold ${s.oversold}; expired ${s.expired}, released ${s.released}`,
    `  ${s.attempts} reservation attempts by ${s.shoppers} shoppers and ${s.bots} bots over ${s.durationSeconds} s (peak ≈ ${s.peakArrivalRps} arrivals/s)`,
    `  ${s.throughputRps} answers/s; latency p50 ${s.latencyMs.p50} ms, p95 ${s.latencyMs.p95} ms, p99 ${s.latencyMs.p99} ms; 5xx ${s.errors5xx}`,
    `  the edge answered ${s.admission.edgeAnswered} attempts${
      s.admission.edgeAnsweredShare === null
        ? ''
        : `, ${Math.round(s.admission.edgeAnsweredShare * 100)} % of those after the sell-out`
    }; ${s.admission.originRequestsPerUnitSold ?? '—'} attempts reached the API per unit sold`,
    ...(s.admission.waitingRoom
      ? [
          `  waiting room: ${s.admission.waitingRoom.humansAdmitted} of ${s.admission.waitingRoom.humansQueued} queued shoppers let in (${s.admission.waitingRoom.preQueue.shoppers} of them pre-queued, with ${s.admission.waitingRoom.preQueue.botTickets} bots' tickets), ${s.admission.waitingRoom.orderInversions} out of order; longest wait ${s.admission.waitingRoom.maxQueueWaitSeconds} s; sold-out told ${s.admission.waitingRoom.soldOutNoticeSeconds ?? '—'} s after it; bots took ${Math.round(s.admission.waitingRoom.botUnitShare * 100)} % of units as ${Math.round(s.admission.waitingRoom.botArrivalShare * 100)} % of arrivals, a bot holding ${s.admission.waitingRoom.botHoldRatio ?? '—'}× as often as a shopper`,
        ]
      : []),
    ...(pause
      ? [
          `  paused at ${pause.pausedAtSecond} s: first DROP_PAUSED ${pause.firstPausedAnswerSeconds ?? '—'} s after the call, from the edge ${pause.edgePausedAfterSeconds ?? '—'} s; ${pause.holdsWhilePaused} new holds while paused; resumed at ${pause.resumedAtSecond ?? '—'} s, ${pause.holdsAfterResume} new holds after it (first ${pause.firstHoldAfterResumeSeconds ?? '—'} s after)`,
        ]
      : []),
    ...(s.admission.goals ?? []).map(
      (goal) => `  goal ${goal.met ? 'met   ' : 'MISSED'}  ${goal.goal}: ${goal.detail}`,
    ),
    '',
    ...result.checks.map(
      (check) => `  ${check.passed ? 'kept  ' : 'BROKEN'}  ${check.promise.padEnd(22)} ${check.detail}`,
    ),
    '',
    `  report: ${result.reportPath}`,
    '',
  ];
  process.stdout.write(lines.join('\n'));
}
