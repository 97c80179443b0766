/**
 * The command line as a newcomer meets it: start-up failures exit at once
 * with their reason and leave nothing running; exit codes follow the table in
 * `--help`; each command has its own help; typos get a suggestion.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ownAssembly } from '../../local/assembly/own-assembly';

// `serve` runs the app's own cloud assembly: synthesized now if the cache lacks it, so no start below waits on synth.
beforeAll(() => ownAssembly(), 300_000);

const bin = join(import.meta.dirname, '../../bin/dropline.js');
const work = mkdtempSync(join(tmpdir(), 'dropline-cli-'));
const aFile = join(work, 'a-file');
writeFileSync(aFile, 'not a directory');
const ADMIN_KEY = 'cli-conventions-admin-key';
const { version } = JSON.parse(readFileSync(join(import.meta.dirname, '../../package.json'), 'utf8')) as {
  version: string;
};

/**
 * Processes of a group that still run. Zombies are not counted: where PID 1
 * does not reap orphans (some containers), an exited child lingers as one.
 */
function aliveInGroup(pgid: number): number[] {
  if (process.platform !== 'linux') {
    try {
      process.kill(-pgid, 0);
      return [pgid];
    } catch {
      return [];
    }
  }
  const alive: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      // pid (comm) state ppid pgrp …; comm may hold spaces, so read after its closing parenthesis.
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const [state, , group] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(group) === pgid && state !== 'Z') alive.push(Number(entry));
    } catch {
      // exited while we looked
    }
  }
  return alive;
}

interface Run {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
  readonly ms: number;
  /** Whether anything the CLI started (emulators included) was still alive once it had exited. */
  readonly leftBehind: boolean;
}

/** Runs the CLI in its own process group, so whatever it started can be found, and killed, after it exits. */
async function dropline(args: string[], env: NodeJS.ProcessEnv = {}, timeoutMs = 20_000): Promise<Run> {
  const started = Date.now();
  const child = spawn(process.execPath, [bin, ...args], {
    env: { ...process.env, DROPLINE_ADMIN_KEY: ADMIN_KEY, NODE_OPTIONS: '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const code = await new Promise<number | null>((resolve) => {
    const timer = setTimeout(() => resolve(null), timeoutMs);
    child.once('exit', (exitCode) => {
      clearTimeout(timer);
      resolve(exitCode);
    });
  });
  const ms = Date.now() - started;
  // A child exits a moment after its parent (tsx's esbuild service does); anything alive after 1 s was left behind.
  const deadline = Date.now() + 1000;
  while (aliveInGroup(child.pid as number).length > 0 && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  const leftBehind = aliveInGroup(child.pid as number).length > 0;
  if (code === null || leftBehind) {
    try {
      process.kill(-(child.pid as number), 'SIGKILL');
    } catch {
      // already gone
    }
  }
  return { code, stdout, stderr, ms, leftBehind };
}

function listen(): Promise<Server> {
  return new Promise((resolve) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => resolve(server));
  });
}

describe('start-up failures exit 3 within 5 s, say why, and leave no process behind', () => {
  test.each([
    ['serve', ['serve', '--port', '0']],
    ['rehearse', ['rehearse']],
  ])('%s without Java on PATH', async (_, args) => {
    const run = await dropline(args, { PATH: '/nonexistent' });

    expect(run.stderr).toMatch(/needs a Java 17\+ runtime on PATH.*apt-get install openjdk-17-jre-headless/);
    expect(run.code).toBe(3);
    expect(run.ms).toBeLessThan(5000);
    expect(run.leftBehind).toBe(false);
  });

  test('serve with a --data-dir that is a file', async () => {
    const run = await dropline(['serve', '--port', '0', '--data-dir', aFile]);

    expect(run.stderr).toMatch(/--data-dir .*a-file: cannot create the directory \(a file is in the way\)/);
    expect(run.stdout).not.toMatch(/Starting/);
    expect(run.code).toBe(3);
    expect(run.ms).toBeLessThan(5000);
    expect(run.leftBehind).toBe(false);
  });

  test('rehearse with a --report-dir under a file, before any run', async () => {
    const run = await dropline(['rehearse', '--report-dir', join(aFile, 'reports')]);

    expect(run.stderr).toMatch(/--report-dir .*a-file\/reports: cannot create the directory \(a file is in the way\)/);
    expect(run.stderr).not.toMatch(/Starting/);
    expect(run.code).toBe(3);
    expect(run.ms).toBeLessThan(5000);
    expect(run.leftBehind).toBe(false);
  });

  test('serve on a port that is in use', async () => {
    const busy = await listen();
    const { port } = busy.address() as { port: number };
    try {
      const run = await dropline(['serve', '--port', String(port)]);

      expect(run.stderr).toMatch(new RegExp(`--port ${port}: that port is in use on 127.0.0.1`));
      expect(run.code).toBe(3);
      expect(run.ms).toBeLessThan(5000);
      expect(run.leftBehind).toBe(false);
    } finally {
      busy.close();
    }
  });
});

test('serve creates a missing --data-dir and serves from it', async () => {
  const dataDir = join(work, 'data', 'nested');
  const child = spawn(process.execPath, [bin, 'serve', '--port', '0', '--data-dir', dataDir], {
    env: { ...process.env, DROPLINE_ADMIN_KEY: ADMIN_KEY, NODE_OPTIONS: '' },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  try {
    const served = await new Promise<string>((resolve, reject) => {
      let output = '';
      const timer = setTimeout(() => reject(new Error(`not serving after 60 s:\n${output}`)), 60_000);
      const collect = (chunk: Buffer) => {
        output += chunk.toString();
        if (/serving the HTTP contract at/.test(output)) {
          clearTimeout(timer);
          resolve(output);
        }
      };
      child.stdout?.on('data', collect);
      child.stderr?.on('data', collect);
      child.once('exit', (code) => reject(new Error(`exited ${code}:\n${output}`)));
    });

    expect(served).toMatch(/serving the HTTP contract/);
    expect(existsSync(dataDir)).toBe(true);
    expect(existsSync(join(dataDir, 'shared-local-instance.db'))).toBe(true);
  } finally {
    try {
      process.kill(-(child.pid as number), 'SIGKILL');
    } catch {
      // already gone
    }
  }
});

describe('exit codes: 2 for usage errors, each message naming the option and pointing to --help', () => {
  test.each([
    [
      'an unknown option, with a suggestion',
      ['rehearse', '--stok', '5'],
      /unknown option --stok \(did you mean --stock\?\)/,
    ],
    ['an unknown serve option', ['serve', '--prot', '3000'], /unknown option --prot \(did you mean --port\?\)/],
    [
      'two assemblies at once',
      ['rehearse', '--synth', '--assembly', 'cdk.out'],
      /--synth and --assembly exclude each other/,
    ],
    [
      'an assembly for a running stack',
      ['serve', '--hand-wired', '--assembly', 'cdk.out'],
      /--assembly and --hand-wired exclude each other/,
    ],
    ['a missing value', ['rehearse', '--stock'], /--stock needs a value/],
    ['a stray argument', ['rehearse', 'now'], /unexpected argument now: this command takes only options/],
    [
      'a negative value, with the range',
      ['rehearse', '--stock', '-5'],
      /--stock must be an integer from 1 to 1000000, got -5/,
    ],
    ['an out-of-range share', ['rehearse', '--bot-share', '1.5'], /--bot-share must be a number from 0 to 1, got 1.5/],
    [
      'a target that is no URL',
      ['rehearse', '--target', 'notaurl', '--admin-key', ADMIN_KEY],
      /--target must be an http\(s\) URL/,
    ],
    ['an out-of-range port', ['serve', '--port', '70000'], /--port must be an integer from 0 to 65535, got 70000/],
  ])('%s', async (_, args, message) => {
    const run = await dropline(args);

    expect(run.stderr).toMatch(message);
    expect(run.stderr).toMatch(new RegExp(`Run 'dropline ${args[0]} --help' for its options`));
    expect(run.code).toBe(2);
    expect(run.leftBehind).toBe(false);
  });

  test('an unknown command, with a suggestion', async () => {
    const run = await dropline(['reherse']);

    expect(run.stderr).toMatch(/unknown command reherse \(did you mean rehearse\?\)/);
    expect(run.code).toBe(2);
  });
});

test('a Node.js older than 24 is an environment failure (3), named with the version found', async () => {
  // Node's own version is what the entry reads: a preload makes this Node report 22.
  const preload = join(work, 'old-node.mjs');
  writeFileSync(preload, "Object.defineProperty(process.versions, 'node', { value: '22.1.0' });\n");
  const run = await dropline(['--version'], { NODE_OPTIONS: `--import ${preload}` });

  expect(run.code).toBe(3);
  expect(run.stderr).toContain('dropline needs Node.js 24 or newer (found 22.1.0)');
});

test('--version prints the package version and exits 0', async () => {
  const run = await dropline(['--version']);

  expect(run.stdout.trim()).toBe(`dropline ${version}`);
  expect(run.code).toBe(0);
});

test('the global help lists every exit code', async () => {
  const run = await dropline(['--help']);

  expect(run.code).toBe(0);
  for (const line of [
    /^ {2}0 {2}success/m,
    /^ {2}1 {2}a check failed/m,
    /^ {2}2 {2}usage error/m,
    /^ {2}3 {2}environment failure/m,
  ]) {
    expect(run.stdout).toMatch(line);
  }
});

test.each([
  ['rehearse', /--stock N/, /--data-dir|preflight --plan/],
  ['serve', /--data-dir DIR/, /--stock|preflight --plan/],
  ['preflight', /--plan FILE/, /--stock|--data-dir/],
])('%s --help prints that command’s help only', async (command, own, others) => {
  const run = await dropline([command, '--help']);

  expect(run.code).toBe(0);
  expect(run.stdout).toMatch(new RegExp(`^Usage: dropline ${command}`));
  expect(run.stdout).toMatch(own);
  expect(run.stdout).not.toMatch(others);
  expect(run.stdout).toMatch(/Exit codes:/);
});
