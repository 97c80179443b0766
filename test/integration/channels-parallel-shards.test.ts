/**
 * Real-time sync when the stream is read as AWS reads a busy table's: several
 * shards in parallel, so two relay invocations for one SKU overlap and the
 * SNS FIFO group can receive snapshot version 12 before version 10. Run on the
 * app's own assembly, whose stream mapping the local runtime reads in lanes
 * by partition key (4 times the mapping's ParallelizationFactor: different
 * items' records delivered concurrently, each item's in order), as on AWS.
 *
 * Two overlapping invocations only publish out of order if the first to read
 * is the last to publish. On AWS what lies between an invocation's read and
 * its publish differs from one execution environment to the next (a cold
 * connection, an SDK retry, a pause): hundreds of milliseconds at times.
 * Inside one process the call to SNS takes a few milliseconds, so a proxy in
 * front of the SNS endpoint holds every call for a seeded random 0–400 ms —
 * a delay the emulators cannot produce. The assembly's functions (the relay,
 * the sweeper's reconciliation) reach SNS only through it.
 */
import { randomUUID } from 'node:crypto';
import { Agent, createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { DescribeTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  DescribeStreamCommand,
  DynamoDBStreamsClient,
  GetRecordsCommand,
  GetShardIteratorCommand,
} from '@aws-sdk/client-dynamodb-streams';
import { SNSClient, SubscribeCommand } from '@aws-sdk/client-sns';
import {
  CreateQueueCommand,
  DeleteMessageBatchCommand,
  GetQueueAttributesCommand,
  ReceiveMessageCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import { channels } from '../../contract/topology';
import { ApiClient } from '../../local/api-client';
import { eventually } from '../support/eventually';
import { type AssemblyTestStack, startTestStack } from '../support/local-stack';

interface Snapshot {
  readonly sku: string;
  readonly version: number;
  readonly available: number;
}

interface ChannelsView {
  readonly version: number;
  readonly channels: { channel: string; version: number | null; available: number | null; synced: boolean }[];
}

let latency: { endpoint: string; stop(): Promise<void> };
let stack: AssemblyTestStack;
/** The inventory topic the assembly created (the FIFO one: the monitoring stack's alarm topic is not). */
let topicArn: string;
let api: ApiClient;
let sqs: SQSClient;
let sns: SNSClient;

function requireTestEnv(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is unset: run the tests through jest (its global setup starts the emulators)`);
  return value;
}

/** A pass-through proxy that holds each request for a seeded random delay before forwarding it. */
async function startLatencyProxy(target: string, maxDelayMs: number, seed: number) {
  const upstream = new URL(target);
  const agent = new Agent({ keepAlive: true, maxSockets: 64 });
  let state = seed;
  const nextDelay = () => {
    state = (Math.imul(state, 1_103_515_245) + 12_345) >>> 0;
    return (state >>> 8) % (maxDelayMs + 1);
  };
  const server: Server = createServer((incoming, outgoing) => {
    const chunks: Buffer[] = [];
    incoming.on('data', (chunk: Buffer) => chunks.push(chunk));
    incoming.on('end', () => {
      setTimeout(() => {
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
        forward.end(Buffer.concat(chunks));
      }, nextDelay());
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    stop: async () => {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
      agent.destroy();
    },
  };
}

beforeAll(async () => {
  latency = await startLatencyProxy(requireTestEnv('DROPLINE_TEST_SNS_ENDPOINT'), 400, 11);
  stack = await startTestStack({ endpoints: { sns: latency.endpoint } });
  expect(stack.endpoints.sns).toBe(latency.endpoint);
  const topics = stack.resources('AWS::SNS::Topic').filter((topic) => topic.ref.endsWith('.fifo'));
  expect(topics).toHaveLength(1);
  topicArn = topics[0]?.ref as string;
  // Every function that publishes to the topic reaches SNS through the proxy, never around it.
  for (const publisher of ['PublishChanges', 'ExpireHolds', 'RedriveOutbox']) {
    expect([publisher, stack.environment(publisher).AWS_ENDPOINT_URL_SNS]).toEqual([publisher, latency.endpoint]);
  }
  api = new ApiClient(stack.url, stack.adminKey, 256);
  sqs = new SQSClient({ endpoint: stack.endpoints.sqs });
  sns = new SNSClient({ endpoint: latency.endpoint });
}, 300_000);

afterAll(async () => {
  sqs?.destroy();
  sns?.destroy();
  await api?.close();
  await stack?.stop();
  await latency?.stop();
});

/** A FIFO queue of the test's own on the inventory topic, filtered as a channel's: what every channel queue is sent, in its order. */
async function tap() {
  const { QueueUrl } = await sqs.send(
    new CreateQueueCommand({ QueueName: `tap-${randomUUID()}.fifo`, Attributes: { FifoQueue: 'true' } }),
  );
  const url = QueueUrl as string;
  const { Attributes } = await sqs.send(new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ['QueueArn'] }));
  await sns.send(
    new SubscribeCommand({
      TopicArn: topicArn,
      Protocol: 'sqs',
      Endpoint: Attributes?.QueueArn,
      Attributes: { RawMessageDelivery: 'true', FilterPolicy: JSON.stringify(channels[0]?.filterPolicy) },
    }),
  );
  const received: Snapshot[] = [];
  return async () => {
    for (;;) {
      const { Messages = [] } = await sqs.send(
        new ReceiveMessageCommand({ QueueUrl: url, MaxNumberOfMessages: 10, WaitTimeSeconds: 0 }),
      );
      if (Messages.length === 0) return received;
      received.push(...Messages.map((message) => JSON.parse(message.Body ?? '{}') as Snapshot));
      await sqs.send(
        new DeleteMessageBatchCommand({
          QueueUrl: url,
          Entries: Messages.map((message, index) => ({
            Id: String(index),
            ReceiptHandle: message.ReceiptHandle as string,
          })),
        }),
      );
    }
  };
}

/** Snapshots that reached the group after a newer one: each one a channel must drop. */
function arrivedLate(versions: readonly number[]): number[] {
  let newest = Number.NEGATIVE_INFINITY;
  const late: number[] = [];
  for (const version of versions) {
    if (version < newest) late.push(version);
    newest = Math.max(newest, version);
  }
  return late;
}

/** The versions a view that applies only newer snapshots takes, given what arrived in order. */
function newOnArrival(versions: readonly number[]): number[] {
  let newest = Number.NEGATIVE_INFINITY;
  const applied: number[] = [];
  for (const version of versions) {
    if (version > newest) applied.push(version);
    newest = Math.max(newest, version);
  }
  return applied;
}

/** Every write to a channel view, from the table's own stream: the version before and after, per item. */
async function channelViewWrites(): Promise<Map<string, { before?: number; after: number }[]>> {
  const dynamodb = new DynamoDBClient({ endpoint: stack.endpoints.dynamodb });
  const streams = new DynamoDBStreamsClient({ endpoint: stack.endpoints.dynamodb });
  const writes = new Map<string, { before?: number; after: number }[]>();
  try {
    const { Table } = await dynamodb.send(new DescribeTableCommand({ TableName: stack.tableName }));
    const { StreamDescription } = await streams.send(new DescribeStreamCommand({ StreamArn: Table?.LatestStreamArn }));
    for (const shard of StreamDescription?.Shards ?? []) {
      let { ShardIterator: iterator } = await streams.send(
        new GetShardIteratorCommand({
          StreamArn: Table?.LatestStreamArn,
          ShardId: shard.ShardId,
          ShardIteratorType: 'TRIM_HORIZON',
        }),
      );
      while (iterator) {
        const page = await streams.send(new GetRecordsCommand({ ShardIterator: iterator, Limit: 1000 }));
        for (const record of page.Records ?? []) {
          const pk = record.dynamodb?.Keys?.pk?.S ?? '';
          if (!pk.startsWith('CHANNEL#')) continue;
          const before = record.dynamodb?.OldImage?.version?.N;
          const after = Number(record.dynamodb?.NewImage?.version?.N);
          writes.set(pk, [...(writes.get(pk) ?? []), { ...(before ? { before: Number(before) } : {}), after }]);
        }
        // An open shard always hands out a next iterator: an empty page means the end for now.
        iterator = (page.Records ?? []).length > 0 ? page.NextShardIterator : undefined;
      }
    }
  } finally {
    dynamodb.destroy();
    streams.destroy();
  }
  return writes;
}

/** What the tap has received for each SKU, in arrival order. */
function versionsBySku(sent: readonly Snapshot[], skus: readonly string[]): Map<string, number[]> {
  return new Map(skus.map((sku) => [sku, sent.filter((event) => event.sku === sku).map((event) => event.version)]));
}

test('with stream shards read in parallel, late older snapshots are dropped and every channel view converges to the ledger', async () => {
  const drainTap = await tap();
  const skus = ['parallel-alpha', 'parallel-beta'];
  for (const sku of skus) {
    await api.putProduct(sku, {
      name: sku,
      priceCents: 100,
      stock: 2_000,
      shards: 4,
      maxPerCustomer: 2,
      holdSeconds: 600,
    });
  }
  // Rounds of arrivals spread over a few seconds each, so the relay reads snapshots while the stock still
  // moves; how often two reads overlap depends on the machine's speed, so the stock keeps moving until
  // three snapshots have arrived late (at most eight rounds).
  const countLate = (sent: readonly Snapshot[]) =>
    [...versionsBySku(sent, skus).values()].reduce((total, versions) => total + arrivedLate(versions).length, 0);
  let rounds = 0;
  while (rounds < 8 && countLate(await drainTap()) < 3) {
    const round = rounds++;
    const outcomes = await Promise.all(
      Array.from({ length: 100 }, async (_, index) => {
        await new Promise((resolve) => setTimeout(resolve, index * 30));
        const sku = skus[index % 2] as string;
        const key = `parallel-${round}-${index}`;
        const response = await api.reserve(sku, key, 1 + (index % 2), key);
        if (response.status !== 201) return response.status;
        const id = response.body.reservationId as string;
        if (index % 8 === 0) return (await api.call('DELETE', `/reservations/${id}`)).status;
        if (index % 8 === 1) {
          const body = { paymentToken: 'tok_ok' };
          return (await api.call('POST', `/reservations/${id}/checkout`, { body })).status;
        }
        if (index === 50) {
          const restock = await api.call('POST', `/admin/products/${skus[0]}/restock`, {
            body: { quantity: 25 },
            headers: { 'idempotency-key': `parallel-restock-${round}` },
            admin: true,
          });
          return restock.status;
        }
        return response.status;
      }),
    );
    expect(outcomes.filter((status) => status >= 400)).toEqual([]);
    // Let the relay catch up before counting.
    await new Promise((resolve) => setTimeout(resolve, 1_000));
  }

  const started = Date.now();
  for (const sku of skus) {
    const ledger = await api.ledger(sku);
    await eventually(async () => {
      const { body } = await api.call<ChannelsView>('GET', `/admin/products/${sku}/channels`, { admin: true });
      expect(body.channels).toHaveLength(channels.length);
      for (const view of body.channels) {
        expect(view).toMatchObject({ synced: true, available: ledger.available, versionsBehind: 0 });
      }
    });
  }
  const convergedWithinMs = Date.now() - started;

  const sent = await eventually(async () => {
    const all = await drainTap();
    for (const sku of skus) {
      const truth = (await api.call<ChannelsView>('GET', `/admin/products/${sku}/channels`, { admin: true })).body;
      expect(all.filter((event) => event.sku === sku).some((event) => event.version === truth.version)).toBe(true);
    }
    return all;
  });
  const writes = await channelViewWrites();
  let lateTotal = 0;
  for (const [sku, versions] of versionsBySku(sent, skus)) {
    const late = arrivedLate(versions);
    lateTotal += late.length;
    const newest = Math.max(...versions);
    const truth = (await api.call<ChannelsView>('GET', `/admin/products/${sku}/channels`, { admin: true })).body;
    // Every view holds the newest snapshot sent, though older ones arrived after it.
    expect(truth.version).toBe(newest);
    for (const view of truth.channels) expect(view.version).toBe(newest);
    for (const channel of channels) {
      // Every write the view ever took (the table's own stream) raised its version: no late snapshot
      // was applied, even for a moment, and every snapshot that was newest on arrival was.
      const applied = writes.get(`CHANNEL#${channel.name}#${sku}`) ?? [];
      for (const write of applied) expect(write.after).toBeGreaterThan(write.before ?? Number.NEGATIVE_INFINITY);
      expect(applied.map((write) => write.after)).toEqual(newOnArrival(versions));
    }
    console.info(
      `${sku}: ${versions.length} snapshots in ${rounds} rounds; ${late.length} arrived after a newer one and each channel dropped them (${late.join(', ')}); views converged ${convergedWithinMs} ms after the last round`,
    );
  }
  // The parallel delivery really reordered the group: without late snapshots this run would prove nothing.
  expect(lateTotal).toBeGreaterThanOrEqual(3);
  expect(convergedWithinMs).toBeLessThan(15_000);
});
