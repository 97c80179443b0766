import type { Server as HttpServer } from 'node:http';
import { type AddressInfo, createServer, type ListenOptions, type Server } from 'node:net';

/** Asks the OS for a free loopback port. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() =>
        typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port')),
      );
    });
  });
}

export async function waitFor(
  what: string,
  probe: () => Promise<boolean>,
  {
    timeoutMs = 60_000,
    intervalMs = 100,
    failed = () => undefined,
  }: { timeoutMs?: number; intervalMs?: number; failed?: () => Error | undefined } = {},
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const failure = failed();
    if (failure) throw failure;
    if (await probe().catch(() => false)) return;
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
  throw new Error(`${what} did not become ready within ${timeoutMs / 1000} s`);
}

/**
 * Listening sockets on a server's one port, where the system spreads connections over several (Linux's
 * SO_REUSEPORT). Node's event loop (libuv since libuv/libuv#3696) accepts one connection per listening socket
 * and loop turn, and a loop that also runs a rehearsal's crowd turns some 5–25 times a second: in one
 * waiting-room rehearsal the drop's opening burst of ~4,000 connections waited 20–45 s to be accepted, their
 * requests already sent, and most of the run's timeouts were that wait. No edge location, and no identity
 * provider, makes a client wait on another's connection; with 128 sockets the same loop accepts 128 a turn.
 * Elsewhere one listens: macOS, for one, gives every connection to a single socket of such a group.
 */
const LISTENERS = process.platform === 'linux' ? 128 : 1;

/**
 * Has `server` listen on `LISTENERS` sockets sharing one port: its own, and plain TCP servers that hand it
 * each connection they accept (the documented way to give an HTTP server a connection). The port is first
 * taken without sharing: Linux refuses a port another socket holds without sharing anyway, and the probe
 * also refuses one a program of the same user holds with sharing, which the group would otherwise join.
 * Between the probe's close and the group's listen the port is free, and a program that binds it then wins
 * (EADDRINUSE here). Returns a function that stops the server: every socket closed, every connection ended.
 */
export async function listenShared(
  server: HttpServer,
  at: { port: number; host: string; backlog?: number },
): Promise<() => Promise<void>> {
  const options: ListenOptions = { port: at.port, host: at.host, ...(at.backlog ? { backlog: at.backlog } : {}) };
  const acceptors: Server[] = [];
  const stop = async () => {
    await Promise.all([
      ...acceptors.map((acceptor) => new Promise((resolve) => acceptor.close(resolve))),
      new Promise((resolve) => {
        server.close(resolve);
        // Keep-alive clients (the SDK's, a crowd's) hold connections open; close() alone would wait for them.
        server.closeAllConnections();
      }),
    ]);
  };
  if (LISTENERS === 1) {
    await listen(server, options);
    server.on('error', ignoreAcceptFailure);
    return stop;
  }
  const probe = createServer();
  await listen(probe, options);
  const { port } = probe.address() as AddressInfo;
  await new Promise((resolve) => probe.close(resolve));
  const shared: ListenOptions = { ...options, port, reusePort: true };
  await listen(server, shared);
  server.on('error', ignoreAcceptFailure);
  try {
    for (let i = 1; i < LISTENERS; i++) {
      // As an HTTP server's own sockets are: half-open allowed (it ends its answer), no Nagle delay.
      const acceptor = createServer({ allowHalfOpen: true, noDelay: true }, (socket) =>
        server.emit('connection', socket),
      );
      acceptors.push(acceptor);
      await listen(acceptor, shared);
      acceptor.on('error', ignoreAcceptFailure);
    }
  } catch (error) {
    await stop();
    throw error;
  }
  return stop;
}

function listen(server: Server, options: ListenOptions): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(options, () => {
      server.off('error', reject);
      resolve();
    });
  });
}

/**
 * A listening socket's failure to accept (EMFILE: out of descriptors) drops that one connection, which its
 * client sees closed; the server goes on. Any other error after listening is not expected, and is thrown.
 */
function ignoreAcceptFailure(error: NodeJS.ErrnoException): void {
  if (error.syscall !== 'accept') throw error;
}
