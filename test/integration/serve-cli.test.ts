/**
 * `dropline serve` as a user runs it: boots, prints the URL and key, serves,
 * stops cleanly on SIGTERM; refuses a key that would leave the admin routes open.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import { ApiClient } from '../../local/api-client';

const bin = join(import.meta.dirname, '../../bin/dropline.js');

function waitForLine(child: ChildProcess, pattern: RegExp, timeoutMs = 60_000): Promise<RegExpMatchArray> {
  return new Promise((resolve, reject) => {
    let output = '';
    const timer = setTimeout(() => reject(new Error(`no line matching ${pattern} in:\n${output}`)), timeoutMs);
    child.stdout?.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      const match = output.match(pattern);
      if (match) {
        clearTimeout(timer);
        resolve(match);
      }
    });
    child.once('exit', (code) => reject(new Error(`exited with ${code} before ${pattern}:\n${output}`)));
  });
}

test('serves the contract on the asked port with the given admin key and stops on SIGTERM', async () => {
  const child = spawn(process.execPath, [bin, 'serve', '--port', '0'], {
    env: { ...process.env, DROPLINE_ADMIN_KEY: 'serve-test-admin-key', NODE_OPTIONS: '' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
  try {
    const [, url] = (await waitForLine(child, /serving the HTTP contract at (http:\/\/\S+)/)) as [string, string];
    const api = new ApiClient(url, 'serve-test-admin-key');
    expect((await api.putProduct('cli-sku', { name: 'CLI', priceCents: 1, stock: 3 })).status).toBe(201);
    expect((await api.call('GET', '/products/cli-sku')).body).toMatchObject({ available: 3 });
    await api.close();

    child.kill('SIGTERM');
    expect(await exited).toBe(0);
  } finally {
    if (child.exitCode === null) child.kill('SIGKILL');
  }
});

test('answers usage with exit code 2 for an unknown command', async () => {
  const child = spawn(process.execPath, [bin, 'launch-rockets'], { env: { ...process.env, NODE_OPTIONS: '' } });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  expect(code).toBe(2);
  expect(stderr).toMatch(/unknown command launch-rockets[\s\S]*Usage: dropline/);
});

test.each([
  ['empty', ''],
  ['15 characters long', 'fifteen-chars-k'],
])('refuses at once, with exit code 2 and nothing left running, an admin key that is %s', async (_, key) => {
  // Its own process group: once the CLI has exited, anything it started would still be found in it.
  const child = spawn(process.execPath, [bin, 'serve', '--port', '0'], {
    env: { ...process.env, DROPLINE_ADMIN_KEY: key, NODE_OPTIONS: '' },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const started = Date.now();
  const code = await new Promise<number | null>((resolve) => {
    const timer = setTimeout(() => resolve(null), 20_000);
    child.once('exit', (exitCode) => {
      clearTimeout(timer);
      resolve(exitCode);
    });
  });
  const groupAlive = () => {
    try {
      process.kill(-(child.pid as number), 0);
      return true;
    } catch {
      return false;
    }
  };
  const leftBehind = groupAlive();
  if (code === null || leftBehind) process.kill(-(child.pid as number), 'SIGKILL');

  expect(code).toBe(2);
  expect(Date.now() - started).toBeLessThan(15_000);
  expect(stderr).toMatch(/DROPLINE_ADMIN_KEY must be at least 16 characters/);
  expect(stdout).not.toMatch(/Starting|serving/);
  expect(leftBehind).toBe(false);
});
