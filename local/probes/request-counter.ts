/**
 * A pass-through proxy in front of an AWS endpoint that counts requests by
 * operation (`X-Amz-Target`). Tests and benchmarks point handlers at it to
 * prove claims such as "a sold-out attempt costs no DynamoDB write".
 *
 * It can also answer in DynamoDB's place with what DynamoDB Local never
 * sends — throttling errors, and BatchGetItem answers that leave every key
 * unprocessed — so the SDK's own parsing and retries meet them on the wire;
 * and lose the answer to a write DynamoDB Local has committed, as when the
 * network drops after the commit, so a function in its own execution
 * environment (the assembly's worker threads) meets the fault as deployed.
 */
import { Agent, createServer, type IncomingMessage, request, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export const DYNAMODB_WRITE_OPERATIONS = new Set([
  'PutItem',
  'UpdateItem',
  'DeleteItem',
  'BatchWriteItem',
  'TransactWriteItems',
]);

/** An answer DynamoDB gives under load, given instead of forwarding. */
export type WireFault =
  | {
      readonly kind: 'error';
      readonly type: 'ProvisionedThroughputExceededException' | 'ThrottlingException' | 'RequestLimitExceeded';
    }
  /** BatchGetItem: 200, nothing returned, every requested key unprocessed. */
  | { readonly kind: 'unprocessed' };

/** A request as the SDK sends it: DynamoDB's JSON protocol (attribute values typed, `{ S: "…" }`). */
export type WireRequest = Readonly<Record<string, unknown>>;

/**
 * Answers to lose: DynamoDB Local runs the request (a write commits) and its answer never reaches the
 * caller. `reset` closes the connection once DynamoDB has answered (the SDK sees a reset socket); `hang`
 * keeps it open and silent until the caller gives up (only the caller's own timeout ends the wait).
 */
export interface LostAnswers {
  readonly matches: (operation: string, request: WireRequest) => boolean;
  /**
   * How many answers of the first matching call are lost: its attempt and the SDK's resends of it (its
   * retry strategy: `maxAttempts`), so losing every attempt of one call fails it, and losing fewer lets a
   * resend through.
   */
  readonly times: number;
  readonly how: 'reset' | 'hang';
}

/**
 * An armed `LostAnswers`: how many answers it has lost so far, and of which SDK call. It follows the first
 * call it matches (the SDK's `amz-sdk-invocation-id`, the same on every resend of one call) and no other,
 * so its losses are that call's attempts (`amz-sdk-request: attempt=N`), not another caller's look-alike.
 */
export interface ArmedLoss {
  readonly lost: number;
  /** The SDK invocation id of the call whose answers it lost. */
  readonly invocation: string | undefined;
  /** The attempt number of each lost answer, in order (1, 2, 3 for a call that gave up after three). */
  readonly attempts: readonly number[];
  /** What the matcher threw, if it did: the request then went through as if it had not matched. */
  readonly matcherError: string | undefined;
}

export interface RequestCounter {
  readonly endpoint: string;
  /** Requests seen so far, by operation name. */
  counts(): Record<string, number>;
  writes(): number;
  /** With `trackItemWrites`: item writes by partition key (`pk`), transaction parts counted one by one. */
  itemWrites(): Map<string, number>;
  /** With `trackItemWrites`: keys asked for by BatchGetItem, by partition key. */
  batchReads(): Map<string, number>;
  /**
   * With `trackItemWrites`: write requests that touch any item outside these
   * key prefixes — e.g. leaving out the items the outbox relay and the
   * sweeper keep in the background (`SNAPSHOT#`, `STOCKVIEW#`).
   */
  writesExcept(prefixes: readonly string[]): number;
  reset(): void;
  /** Answers every request for these operations with `fault` until `clearFaults`. */
  injectFault(operations: readonly string[], fault: WireFault): void;
  /** Loses the answers of the requests `loss` matches, up to its `times`; cleared by `clearFaults` too. */
  loseAnswers(loss: LostAnswers): ArmedLoss;
  clearFaults(): void;
  stop(): Promise<void>;
}

export async function startRequestCounter(
  target: string,
  options: { trackItemWrites?: boolean } = {},
): Promise<RequestCounter> {
  const upstream = new URL(target);
  const agent = new Agent({ keepAlive: true, maxSockets: 256 });
  let counts: Record<string, number> = {};
  let itemWrites = new Map<string, number>();
  let batchReads = new Map<string, number>();
  let writeRequests: string[][] = [];
  const faults = new Map<string, WireFault>();
  let losses: Array<
    LostAnswers & { lost: number; invocation: string | undefined; attempts: number[]; matcherError: string | undefined }
  > = [];
  /** The armed loss that takes this request's answer, if any: its call's, or a fresh match. */
  const lossFor = (operation: string, body: Buffer, incoming: IncomingMessage) => {
    const invocation = String(incoming.headers['amz-sdk-invocation-id'] ?? '');
    const attempt = Number(/attempt=(\d+)/.exec(String(incoming.headers['amz-sdk-request'] ?? ''))?.[1] ?? 0);
    const loss = losses.find((armed) => {
      if (armed.lost >= armed.times) return false;
      if (armed.invocation !== undefined) return armed.invocation === invocation;
      try {
        return armed.matches(operation, parsed(body));
      } catch (error) {
        armed.matcherError ??= error instanceof Error ? error.message : String(error);
        return false;
      }
    });
    if (!loss) return undefined;
    loss.invocation = invocation;
    loss.lost++;
    loss.attempts.push(attempt);
    return loss;
  };
  const server = createServer((incoming, outgoing) => {
    const operation =
      String(incoming.headers['x-amz-target'] ?? 'unknown')
        .split('.')
        .pop() ?? 'unknown';
    counts[operation] = (counts[operation] ?? 0) + 1;
    const fault = faults.get(operation);
    if (fault) {
      answerWithFault(incoming, outgoing, fault);
      return;
    }
    const tracked =
      options.trackItemWrites && (DYNAMODB_WRITE_OPERATIONS.has(operation) || operation === 'BatchGetItem');
    if (!tracked && losses.length === 0) {
      forward(incoming, outgoing);
      return;
    }
    const chunks: Buffer[] = [];
    incoming.on('data', (chunk: Buffer) => chunks.push(chunk));
    incoming.on('end', () => {
      const body = Buffer.concat(chunks);
      if (tracked) {
        const text = body.toString('utf8');
        const [keys, tally] =
          operation === 'BatchGetItem' ? [batchGetKeys(text), batchReads] : [writtenKeys(operation, text), itemWrites];
        for (const key of keys) tally.set(key, (tally.get(key) ?? 0) + 1);
        if (operation !== 'BatchGetItem') writeRequests.push(keys);
      }
      forward(incoming, outgoing, body, lossFor(operation, body, incoming)?.how);
    });
  });

  /** Passes the request on (its body, when already read) and its answer back, or loses the answer. */
  function forward(incoming: IncomingMessage, outgoing: ServerResponse, body?: Buffer, lose?: LostAnswers['how']) {
    const upstreamRequest = request(
      {
        agent,
        host: upstream.hostname,
        port: upstream.port,
        method: incoming.method,
        path: incoming.url,
        headers: incoming.headers,
      },
      (answer) => {
        if (!lose) {
          outgoing.writeHead(answer.statusCode ?? 502, answer.headers);
          answer.pipe(outgoing);
          return;
        }
        // DynamoDB has answered (the write is in); the caller hears nothing of it.
        answer.resume();
        answer.on('end', () => {
          if (lose === 'reset') outgoing.socket?.resetAndDestroy();
        });
      },
    );
    upstreamRequest.on('error', () => outgoing.destroy());
    if (body) upstreamRequest.end(body);
    else incoming.pipe(upstreamRequest);
  }

  server.keepAliveTimeout = 60_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    counts: () => ({ ...counts }),
    itemWrites: () => new Map(itemWrites),
    batchReads: () => new Map(batchReads),
    writesExcept: (prefixes) =>
      writeRequests.filter((keys) => keys.some((key) => !prefixes.some((prefix) => key.startsWith(prefix)))).length,
    reset: () => {
      counts = {};
      itemWrites = new Map();
      batchReads = new Map();
      writeRequests = [];
    },
    injectFault: (operations, fault) => {
      for (const operation of operations) faults.set(operation, fault);
    },
    loseAnswers: (loss) => {
      const armed = { ...loss, lost: 0, invocation: undefined, attempts: [], matcherError: undefined };
      losses.push(armed);
      return armed;
    },
    clearFaults: () => {
      faults.clear();
      losses = [];
    },
    writes: () => Object.entries(counts).reduce((sum, [op, n]) => sum + (DYNAMODB_WRITE_OPERATIONS.has(op) ? n : 0), 0),
    stop: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
        agent.destroy();
      }),
  };
}

/** DynamoDB's JSON error shape (awsJson1_0), as the SDK parses it into its typed exceptions. */
function answerWithFault(incoming: IncomingMessage, outgoing: ServerResponse, fault: WireFault): void {
  const chunks: Buffer[] = [];
  incoming.on('data', (chunk: Buffer) => chunks.push(chunk));
  incoming.on('end', () => {
    const headers = { 'content-type': 'application/x-amz-json-1.0', 'x-amzn-requestid': 'injected-fault' };
    if (fault.kind === 'error') {
      outgoing.writeHead(400, headers);
      outgoing.end(
        JSON.stringify({
          __type: `com.amazonaws.dynamodb.v20120810#${fault.type}`,
          message: 'Injected by the test proxy: the request rate is too high',
        }),
      );
      return;
    }
    let requestItems: Record<string, unknown> = {};
    try {
      requestItems =
        (JSON.parse(Buffer.concat(chunks).toString('utf8')) as { RequestItems?: Record<string, unknown> })
          .RequestItems ?? {};
    } catch {
      // An unparsable request leaves nothing to report unprocessed.
    }
    outgoing.writeHead(200, headers);
    outgoing.end(JSON.stringify({ Responses: {}, UnprocessedKeys: requestItems }));
  });
}

function parsed(body: Buffer): WireRequest {
  try {
    const value: unknown = JSON.parse(body.toString('utf8'));
    return typeof value === 'object' && value !== null ? (value as WireRequest) : {};
  } catch {
    return {};
  }
}

type KeyAttribute = { pk?: { S?: string } } | undefined;
interface WriteRequestBody {
  Key?: KeyAttribute;
  Item?: KeyAttribute;
  TransactItems?: Array<Record<string, { Key?: KeyAttribute; Item?: KeyAttribute }>>;
}

/** Partition keys a BatchGetItem request asks for, over all its tables. */
function batchGetKeys(body: string): string[] {
  try {
    const parsed = JSON.parse(body) as { RequestItems?: Record<string, { Keys?: Array<{ pk?: { S?: string } }> }> };
    return Object.values(parsed.RequestItems ?? {})
      .flatMap((request) => request.Keys ?? [])
      .map((key) => key.pk?.S)
      .filter((key): key is string => typeof key === 'string');
  } catch {
    return [];
  }
}

/** Partition keys a write request writes (a ConditionCheck writes nothing). */
function writtenKeys(operation: string, body: string): string[] {
  let parsed: WriteRequestBody;
  try {
    parsed = JSON.parse(body) as WriteRequestBody;
  } catch {
    return [];
  }
  const keyOf = (part: { Key?: KeyAttribute; Item?: KeyAttribute } | undefined) => (part?.Key ?? part?.Item)?.pk?.S;
  const keys =
    operation === 'TransactWriteItems'
      ? (parsed.TransactItems ?? []).map((item) => keyOf(item.Update ?? item.Put ?? item.Delete))
      : [keyOf(parsed)];
  return keys.filter((key): key is string => typeof key === 'string');
}
