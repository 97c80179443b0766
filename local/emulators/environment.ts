/**
 * What the machine must offer before anything starts: a free port, writable
 * directories. Checked first, so a start-up failure leaves nothing running
 * and says which option to change.
 */
import { mkdirSync, unlinkSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join, resolve } from 'node:path';

/** The machine, not the command line, stops the run: a missing runtime, a busy port, a path that cannot be written. */
export class EnvironmentError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'EnvironmentError';
  }
}

const REASONS: Readonly<Record<string, string>> = {
  EEXIST: 'a file is in the way',
  ENOTDIR: 'a file is in the way',
  EACCES: 'permission denied',
  EPERM: 'permission denied',
  EROFS: 'read-only file system',
  ENOSPC: 'no space left',
};

const reason = (error: unknown) => {
  const code = (error as NodeJS.ErrnoException).code;
  return code ? `${REASONS[code] ?? code}` : (error as Error).message;
};

/** Creates `dir` when missing (with its parents) and proves a file can be written there. */
export function prepareWritableDir(dir: string, what: string): string {
  const absolute = resolve(dir);
  try {
    mkdirSync(absolute, { recursive: true });
  } catch (error) {
    throw new EnvironmentError(`${what} ${dir}: cannot create the directory (${reason(error)})`);
  }
  const probe = join(absolute, `.dropline-write-check-${process.pid}`);
  try {
    writeFileSync(probe, '');
    unlinkSync(probe);
  } catch (error) {
    throw new EnvironmentError(`${what} ${dir}: cannot write there (${reason(error)})`);
  }
  return absolute;
}

/** Fails at once when `port` on `host` is taken, instead of after the emulators have booted. */
export function assertPortFree(host: string, port: number, what: string): Promise<void> {
  if (port === 0) return Promise.resolve();
  return new Promise((resolvePromise, reject) => {
    const server = createServer();
    server.once('error', (error: NodeJS.ErrnoException) =>
      reject(
        new EnvironmentError(
          error.code === 'EADDRINUSE'
            ? `${what} ${port}: that port is in use on ${host}; stop what holds it or pick another port`
            : `${what} ${port}: cannot listen on ${host} (${reason(error)})`,
        ),
      ),
    );
    server.listen(port, host, () => server.close(() => resolvePromise()));
  });
}
