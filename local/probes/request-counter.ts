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
   * How many matching requests lose their answer. The SDK resends a request whose answer it lost (its
   * retry strategy: `maxAttempts`), so losing one call's answer means losing every attempt of it.
   */
  readonly times: number;
  readonly how: 'reset' | 'hang';
}

/** An armed `LostAnswers`: how many answers it has lost so far. */
export interface ArmedLoss {
  readonly lost: number;
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
  let losses: Array<LostAnswers & { lost: number }> = [];
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
      const loss = losses.find((armed) => armed.lost < armed.times && armed.matches(operation, parsed(body)));
      if (loss) loss.lost++;
      forward(incoming, outgoing, body, loss?.how);
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
      const armed = { ...loss, lost: 0 };
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
