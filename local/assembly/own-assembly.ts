/**
 * The project's own cloud assembly, synthesized offline by the CDK CLI
 * (`cdk synth`, the command whose output `cdk deploy` uploads) and cached by
 * a hash of everything it is made from: the app (`bin/`, `lib/`), the
 * functions it bundles (`lambdas/`, `contract/`), the page it uploads
 * (`site/`), `cdk.json` and `cdk.context.json`, `package.json`,
 * `tsconfig.json` (both read by esbuild), the lockfile (the bundled
 * dependencies and the esbuild that bundles them), the user's `~/.cdk.json`
 * and the context given (with the drop plan file it names). A warm start finds the assembly by its hash and pays
 * nothing for synth. The synth sees no AWS or CDK settings of the user's
 * (profile, region, account, credentials): what it makes depends only on
 * what is hashed, and it makes no network call.
 */
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, utimesSync } from 'node:fs';
import { createRequire } from 'node:module';
import { homedir, tmpdir } from 'node:os';
import { delimiter, dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { EnvironmentError } from '../emulators/environment';

/** The folders and files an assembly is made from, relative to the project. */
export const ASSEMBLY_SOURCES = [
  'bin',
  'lib',
  'lambdas',
  'contract',
  'edge',
  'site',
  'cdk.json',
  'cdk.context.json',
  'package.json',
  'tsconfig.json',
  'package-lock.json',
];

/** The context key that names a drop plan file, read relative to the project as `cdk synth` runs there. */
const DROP_PLAN_CONTEXT = 'dropPlan';

/** Assemblies kept besides the newest (a branch switch back and forth stays warm). */
const KEEP = 3;

export const PROJECT_DIR = fileURLToPath(new URL('../..', import.meta.url));

export interface OwnAssemblyOptions {
  readonly projectDir?: string;
  /** Where synthesized assemblies are kept, one folder per hash (default `<project>/.dropline/assemblies`). */
  readonly cacheDir?: string;
  /** `-c key=value` context for the app, part of the hash. */
  readonly context?: Readonly<Record<string, string>>;
  /** One line per step, for a progress display. */
  readonly log?: (line: string) => void;
}

export interface OwnAssembly {
  readonly dir: string;
  readonly hash: string;
  /** False when this call ran `cdk synth`. */
  readonly cached: boolean;
  readonly synthMs: number;
}

export class SynthError extends Error {
  constructor(
    message: string,
    readonly output: string,
  ) {
    super(message);
    this.name = 'SynthError';
  }
}

/** The hash of what the assembly is made from: file paths and contents, and the context. */
export function assemblyHash(projectDir: string, context: Readonly<Record<string, string>> = {}): string {
  const hash = createHash('sha256');
  for (const file of sourceFiles(projectDir)) {
    hash.update(`${relative(projectDir, file)}\0`);
    hash.update(readFileSync(file));
    hash.update('\0');
  }
  const userContext = join(homedir(), '.cdk.json');
  if (existsSync(userContext)) hash.update(readFileSync(userContext));
  const entries = Object.entries(context).sort(([a], [b]) => a.localeCompare(b));
  hash.update(JSON.stringify(entries));
  // A drop plan is named by its path and read by the app (lib/config/settings.ts): an edit to it is an edit
  // to the assembly, whatever the path. Every plan named anywhere the CLI reads context from is hashed.
  for (const named of [
    context[DROP_PLAN_CONTEXT],
    contextIn(join(projectDir, 'cdk.json'), 'context'),
    contextIn(join(projectDir, 'cdk.context.json')),
    contextIn(userContext, 'context'),
  ]) {
    const plan = typeof named === 'string' ? resolve(projectDir, named) : undefined;
    if (plan && existsSync(plan)) hash.update(readFileSync(plan));
  }
  return hash.digest('hex').slice(0, 16);
}

/** The cached assembly for the project as it is now, synthesized first when there is none. */
export async function ownAssembly(options: OwnAssemblyOptions = {}): Promise<OwnAssembly> {
  const projectDir = resolve(options.projectDir ?? PROJECT_DIR);
  const cacheDir = resolve(options.cacheDir ?? join(projectDir, '.dropline', 'assemblies'));
  const context = options.context ?? {};
  const hash = assemblyHash(projectDir, context);
  const dir = join(cacheDir, hash);
  if (isComplete(dir)) {
    // Marked as used, so pruning after another state's synth keeps it while it runs.
    utimesSync(dir, new Date(), new Date());
    return { dir, hash, cached: true, synthMs: 0 };
  }

  mkdirSync(cacheDir, { recursive: true });
  removeAbandonedStaging(cacheDir);
  // Synthesized aside and renamed into place, so a reader never sees half an assembly and two
  // processes starting at once (test workers) both end with a whole one.
  const staging = join(cacheDir, `.synth-${process.pid}-${randomBytes(4).toString('hex')}`);
  options.log?.(`Synthesizing the app into ${relative(process.cwd(), dir) || dir} (cdk synth, offline; cached after)…`);
  const started = performance.now();
  try {
    await synth(projectDir, staging, context);
    try {
      renameSync(staging, dir);
    } catch (error) {
      if (!isComplete(dir)) throw error;
    }
  } finally {
    rmSync(staging, { recursive: true, force: true });
  }
  prune(cacheDir, dir);
  return { dir, hash, cached: false, synthMs: Math.round(performance.now() - started) };
}

/** The drop plan a context file names (at `under`, or at its top), if it parses and names one. */
function contextIn(file: string, under?: string): unknown {
  try {
    const parsed = JSON.parse(readFileSync(file, 'utf8')) as Record<string, Record<string, unknown> | undefined>;
    return (under === undefined ? (parsed as Record<string, unknown>) : parsed[under])?.[DROP_PLAN_CONTEXT];
  } catch {
    return undefined;
  }
}

function sourceFiles(projectDir: string): string[] {
  const files: string[] = [];
  const walk = (path: string) => {
    const stat = statSync(path, { throwIfNoEntry: false });
    if (!stat) return;
    if (stat.isDirectory()) {
      for (const name of readdirSync(path).sort()) {
        if (name === 'node_modules' || name === '.git') continue;
        walk(join(path, name));
      }
    } else if (stat.isFile()) files.push(path);
  };
  for (const source of ASSEMBLY_SOURCES) walk(join(projectDir, source));
  return files;
}

function isComplete(dir: string): boolean {
  return existsSync(join(dir, 'manifest.json'));
}

function cdkCli(projectDir: string): string {
  try {
    return createRequire(join(projectDir, 'package.json')).resolve('aws-cdk/bin/cdk');
  } catch {
    throw new EnvironmentError(
      `The CDK CLI (aws-cdk) is not installed in ${projectDir}: run npm install there (with its devDependencies), ` +
        'give --assembly DIR, or run --hand-wired',
    );
  }
}

function synth(projectDir: string, outdir: string, context: Readonly<Record<string, string>>): Promise<void> {
  const args = [
    cdkCli(projectDir),
    'synth',
    '--quiet',
    '--no-notices',
    '--no-version-reporting',
    '--output',
    outdir,
    ...Object.entries(context).flatMap(([key, value]) => ['--context', `${key}=${value}`]),
  ];
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, args, {
      cwd: projectDir,
      env: synthEnvironment(),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    const keep = (chunk: Buffer) => {
      output = (output + chunk.toString('utf8')).slice(-20_000);
    };
    child.stdout.on('data', keep);
    child.stderr.on('data', keep);
    child.once('error', (error) => reject(new SynthError(`cdk synth could not start: ${error.message}`, output)));
    child.once('close', (code) => {
      if (code === 0 && isComplete(outdir)) resolvePromise();
      else {
        reject(
          new SynthError(
            `cdk synth failed (exit ${code}); fix the app, or run --hand-wired. Its output ends:\n${tail(output)}`,
            output,
          ),
        );
      }
    });
  });
}

/**
 * The user's environment without what would make the synth depend on them or reach AWS: `AWS_*`
 * (profile, region, credentials) and `CDK_*` (default account and region); no credentials file or
 * instance metadata to look an account up with. This Node first on PATH, so `npx tsx` in cdk.json
 * runs the app on it. No telemetry, no notices; `CI` keeps the CLI's output plain.
 */
function synthEnvironment(): NodeJS.ProcessEnv {
  const env = Object.fromEntries(
    Object.entries(process.env).filter(([name]) => !name.startsWith('AWS_') && !name.startsWith('CDK_')),
  );
  const nowhere = join(tmpdir(), 'dropline-no-aws-config');
  return {
    ...env,
    PATH: `${dirname(process.execPath)}${delimiter}${process.env.PATH ?? ''}`,
    AWS_CONFIG_FILE: nowhere,
    AWS_SHARED_CREDENTIALS_FILE: nowhere,
    AWS_EC2_METADATA_DISABLED: 'true',
    CI: 'true',
    CDK_DISABLE_CLI_TELEMETRY: 'true',
  };
}

/** Staging folders of synths that were killed (their process is gone): never renamed, never pruned otherwise. */
function removeAbandonedStaging(cacheDir: string): void {
  for (const name of readdirSync(cacheDir)) {
    const pid = /^\.synth-(\d+)-/.exec(name)?.[1];
    if (!pid || Number(pid) === process.pid || isAlive(Number(pid))) continue;
    rmSync(join(cacheDir, name), { recursive: true, force: true });
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function tail(output: string): string {
  return output.trim().split('\n').slice(-25).join('\n');
}

/**
 * Keeps the newest assemblies by last use (a cache hit marks its folder), best-effort: another
 * process may be pruning the same folder at once.
 */
function prune(cacheDir: string, newest: string): void {
  const entries = readdirSync(cacheDir)
    .filter((name) => !name.startsWith('.'))
    .map((name) => join(cacheDir, name))
    .filter((path) => path !== newest)
    .flatMap((path) => {
      const stat = statSync(path, { throwIfNoEntry: false });
      return stat ? [{ path, mtime: stat.mtimeMs }] : [];
    })
    .sort((a, b) => b.mtime - a.mtime);
  for (const { path } of entries.slice(KEEP)) {
    try {
      rmSync(path, { recursive: true, force: true });
    } catch {
      // Gone already, or in use where the system will not let it go: the next prune tries again.
    }
  }
}
