/**
 * The project's own cloud assembly, synthesized offline by the CDK CLI
 * (`cdk synth`, the command whose output `cdk deploy` uploads) and cached by
 * a hash of everything it is made from: the app (`bin/`, `lib/`), the
 * functions it bundles (`lambdas/`, `contract/`), the page it uploads
 * (`site/`), `cdk.json`, the lockfile (the bundled dependencies and the
 * esbuild that bundles them) and the context given. A warm start finds the
 * assembly by its hash and pays nothing for synth.
 */
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { EnvironmentError } from '../emulators/environment';

/** The folders and files an assembly is made from, relative to the project. */
export const ASSEMBLY_SOURCES = ['bin', 'lib', 'lambdas', 'contract', 'site', 'cdk.json', 'package-lock.json'];

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
  const entries = Object.entries(context).sort(([a], [b]) => a.localeCompare(b));
  hash.update(JSON.stringify(entries));
  return hash.digest('hex').slice(0, 16);
}

/** The cached assembly for the project as it is now, synthesized first when there is none. */
export async function ownAssembly(options: OwnAssemblyOptions = {}): Promise<OwnAssembly> {
  const projectDir = resolve(options.projectDir ?? PROJECT_DIR);
  const cacheDir = resolve(options.cacheDir ?? join(projectDir, '.dropline', 'assemblies'));
  const context = options.context ?? {};
  const hash = assemblyHash(projectDir, context);
  const dir = join(cacheDir, hash);
  if (isComplete(dir)) return { dir, hash, cached: true, synthMs: 0 };

  mkdirSync(cacheDir, { recursive: true });
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

function sourceFiles(projectDir: string): string[] {
  const files: string[] = [];
  const walk = (path: string) => {
    const stat = statSync(path, { throwIfNoEntry: false });
    if (!stat) return;
    if (stat.isDirectory()) {
      for (const name of readdirSync(path).sort()) {
        if (name === 'node_modules' || name.startsWith('.')) continue;
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
      `The CDK CLI (aws-cdk) is not installed in ${projectDir}: run npm install there, or give --assembly DIR`,
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
      // Offline: no telemetry, no notices; `CI` keeps the CLI's output plain.
      env: { ...process.env, CI: 'true', CDK_DISABLE_CLI_TELEMETRY: 'true' },
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
      else reject(new SynthError(`cdk synth failed (exit ${code}); its output ends:\n${tail(output)}`, output));
    });
  });
}

function tail(output: string): string {
  return output.trim().split('\n').slice(-25).join('\n');
}

function prune(cacheDir: string, newest: string): void {
  const entries = readdirSync(cacheDir)
    .filter((name) => !name.startsWith('.'))
    .map((name) => join(cacheDir, name))
    .filter((path) => path !== newest)
    .map((path) => ({ path, mtime: statSync(path).mtimeMs }))
    .sort((a, b) => b.mtime - a.mtime);
  for (const { path } of entries.slice(KEEP)) rmSync(path, { recursive: true, force: true });
}
