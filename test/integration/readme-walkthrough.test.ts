/**
 * The README's "Try it by hand" block, pasted into bash against `dropline
 * serve` as a reader would: it must run top to bottom, and every `# →` line
 * must be what the command above it printed.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ownAssembly } from '../../local/assembly/own-assembly';

// `serve` runs the app's own cloud assembly: synthesized now if the cache lacks it, so no start below waits on synth.
beforeAll(() => ownAssembly(), 300_000);

const root = join(import.meta.dirname, '../..');
const readme = readFileSync(join(root, 'README.md'), 'utf8');
const README_URL = 'http://127.0.0.1:3000';

/** The first ```bash block after the "Try it by hand" heading. */
function walkthrough(): string {
  const section = readme.slice(readme.indexOf('## Try it by hand'));
  const block = /```bash\n([\s\S]*?)```/.exec(section)?.[1];
  if (!block) throw new Error('README.md has no bash block under "Try it by hand"');
  return block;
}

/** Each `# → …` line as a whole-line pattern, `…` standing for any text. */
function expectations(block: string): RegExp[] {
  return block
    .split('\n')
    .filter((line) => line.startsWith('# → '))
    .map((line) => {
      const expected = line.slice('# → '.length).trim();
      const pattern = expected
        .split('…')
        .map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))
        .join('.+');
      return new RegExp(`^${pattern}$`);
    });
}

function startServe(adminKey: string): { child: ChildProcess; url: Promise<string> } {
  const child = spawn(process.execPath, [join(root, 'bin/dropline.js'), 'serve', '--port', '0'], {
    env: { ...process.env, DROPLINE_ADMIN_KEY: adminKey, NODE_OPTIONS: '' },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  const url = new Promise<string>((resolve, reject) => {
    let output = '';
    const timer = setTimeout(() => reject(new Error(`serve did not start within 60 s:\n${output}`)), 60_000);
    const collect = (chunk: Buffer) => {
      output += chunk.toString();
      const match = /serving the HTTP contract at (http:\/\/\S+)/.exec(output);
      if (match) {
        clearTimeout(timer);
        resolve(match[1] as string);
      }
    };
    child.stdout?.on('data', collect);
    child.stderr?.on('data', collect);
    child.once('exit', (code) => reject(new Error(`serve exited ${code}:\n${output}`)));
  });
  return { child, url };
}

function bash(script: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn('bash', ['-e', '-o', 'pipefail', '-c', script], {
      env: { ...process.env, NODE_OPTIONS: '' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.once('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

test('the README block runs as pasted against dropline serve and prints what it says', async () => {
  const block = walkthrough();
  const adminKey = /^KEY=(\S+)/m.exec(block)?.[1];
  expect(adminKey).toBeDefined();
  expect(block.split(README_URL)).toHaveLength(2);
  // The block is run as a reader pastes it; only the port differs, because the test takes a free one.

  const serve = startServe(adminKey as string);
  try {
    const url = await serve.url;
    const run = await bash(block.replace(README_URL, url));

    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    const printed = run.stdout.trimEnd().split('\n');
    const expected = expectations(block);
    expect(expected.length).toBeGreaterThan(10);
    expect(printed).toHaveLength(expected.length);
    printed.forEach((line, index) => {
      expect({ line: index + 1, printed: line.trim() }).toEqual({
        line: index + 1,
        printed: expect.stringMatching(expected[index] as RegExp),
      });
    });
  } finally {
    try {
      process.kill(-(serve.child.pid as number), 'SIGKILL');
    } catch {
      // already gone
    }
  }
});
