/**
 * A pass-through proxy in front of an AWS endpoint that counts requests by
 * operation (`X-Amz-Target`). Tests and benchmarks point handlers at it to
 * prove claims such as "a sold-out attempt costs no DynamoDB write".
 */
import { Agent, createServer, request } from 'node:http';
import type { AddressInfo } from 'node:net';

export const DYNAMODB_WRITE_OPERATIONS = new Set([
  'PutItem',
  'UpdateItem',
  'DeleteItem',
  'BatchWriteItem',
  'TransactWriteItems',
]);

export interface RequestCounter {
  readonly endpoint: string;
  /** Requests seen so far, by operation name. */
  counts(): Record<string, number>;
  writes(): number;
  /** With `trackItemWrites`: item writes by partition key (`pk`), transaction parts counted one by one. */
  itemWrites(): Map<string, number>;
  reset(): void;
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
  const server = createServer((incoming, outgoing) => {
    const operation =
      String(incoming.headers['x-amz-target'] ?? 'unknown')
        .split('.')
        .pop() ?? 'unknown';
    counts[operation] = (counts[operation] ?? 0) + 1;
    if (options.trackItemWrites && DYNAMODB_WRITE_OPERATIONS.has(operation)) {
      const chunks: Buffer[] = [];
      incoming.on('data', (chunk: Buffer) => chunks.push(chunk));
      incoming.on('end', () => {
        for (const key of writtenKeys(operation, Buffer.concat(chunks).toString('utf8'))) {
          itemWrites.set(key, (itemWrites.get(key) ?? 0) + 1);
        }
      });
    }
    const forward = request(
      {
        agent,
        host: upstream.hostname,
        port: upstream.port,
        method: incoming.method,
        path: incoming.url,
        headers: incoming.headers,
      },
      (answer) => {
        outgoing.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(outgoing);
      },
    );
    forward.on('error', () => outgoing.destroy());
    incoming.pipe(forward);
  });
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    counts: () => ({ ...counts }),
    itemWrites: () => new Map(itemWrites),
    reset: () => {
      counts = {};
      itemWrites = new Map();
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

type KeyAttribute = { pk?: { S?: string } } | undefined;
interface WriteRequestBody {
  Key?: KeyAttribute;
  Item?: KeyAttribute;
  TransactItems?: Array<Record<string, { Key?: KeyAttribute; Item?: KeyAttribute }>>;
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
