/**
 * Local stand-in for a Lambda DynamoDB Streams event source mapping: reads
 * each stream shard in order (children after their parent closes), hands the
 * function batches of at most `batchSize` records, and on failure retries the
 * same batch — until it succeeds, or, with the mapping's error handling
 * (`errorHandling`), until its retries or its records' age run out, halving
 * the batch first when told to; then the batch is discarded, its description
 * sent to the on-failure destination, and the shard moves on (see
 * `StreamErrorHandling`). A record is delivered at least once, or discarded
 * whole, and never out of order for its item.
 *
 * Deployed, Lambda polls every shard of the stream on its own, and with a
 * ParallelizationFactor above 1 runs several batches of one shard at once:
 * records of different items reach the function in parallel, in no set order
 * between them. What AWS keeps is the order of one item's changes ("for each
 * item that is modified in a DynamoDB table, the stream records appear in the
 * same sequence as the actual modifications to the item" — DynamoDB developer
 * guide, "Change data capture for DynamoDB Streams"; Lambda developer guide,
 * "Using AWS Lambda with Amazon DynamoDB", concurrent reads of a shard and
 * ParallelizationFactor). DynamoDB Local writes a table's whole stream to one
 * shard, so `shardOrder: 'parallel'` builds the parallelism from the records:
 * see `ShardOrder`.
 */

import { randomUUID } from 'node:crypto';
import { DescribeTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  DescribeStreamCommand,
  DynamoDBStreamsClient,
  GetRecordsCommand,
  type GetRecordsCommandOutput,
  GetShardIteratorCommand,
  type Shard,
  type _Record as StreamRecord,
} from '@aws-sdk/client-dynamodb-streams';
import type { DynamoDBRecord, DynamoDBStreamEvent } from 'aws-lambda';
import { seeded } from '../rehearsal/random';
import { type FilterPattern, matchesFilter } from './event-filter';
import { lambdaContext } from './lambda-context';
import type { RunningEventSource } from './sqs';

/**
 * - `sequential` (the default): one batch at a time, in stream order — what a
 *   table whose stream has one shard, read with ParallelizationFactor 1, gets.
 * - `parallel`: what a busy table gets on AWS. Records are spread over
 *   `parallel.lanes` lanes by partition key, as items are spread over
 *   partitions and so over stream shards (one partition key never spans two);
 *   each lane is its own poller — batches of at most `batchSize`, invoked
 *   concurrently with the other lanes', each after a seeded random delay of up
 *   to `parallel.maxStaggerMs`, retried on its own when it fails — so
 *   records of different items reach the function out of their global order,
 *   while each item's records still arrive in order and once a batch succeeds.
 *   A lane can run several batches ahead of another, as a shard can.
 */
export type ShardOrder = 'sequential' | 'parallel';

export interface ParallelDelivery {
  /** Lanes (stand-ins for stream shards) that partition keys are spread over. @default 4 */
  readonly lanes?: number;
  /** Upper bound of the random delay before each invocation, which shuffles the lanes' interleaving. @default 20 */
  readonly maxStaggerMs?: number;
  /** Same seed, same delays for the same batches. @default 1 */
  readonly seed?: number;
}

/**
 * The mapping's error handling, as Lambda applies it to a stream ("Retaining discarded records for a
 * DynamoDB event source in Lambda", AWS Lambda Developer Guide,
 * https://docs.aws.amazon.com/lambda/latest/dg/services-dynamodb-errors.html): a failing batch is retried
 * until it succeeds, its records pass `maximumRecordAgeSeconds`, or it has been retried
 * `maximumRetryAttempts` times (-1 or absent: no limit, as the defaults are); with `bisectOnError` a
 * failed batch is split in two before it is retried, which "does not consume the retry quota". A batch
 * given up is discarded and the shard goes on; `onDiscard` receives what Lambda sends to an on-failure
 * destination (the batch's description, not its records).
 */
export interface StreamErrorHandling {
  readonly maximumRetryAttempts?: number;
  readonly maximumRecordAgeSeconds?: number;
  readonly bisectOnError?: boolean;
  readonly onDiscard?: (record: DiscardedBatch) => Promise<void>;
}

/** The invocation record Lambda sends an on-failure destination for a discarded stream batch. */
export interface DiscardedBatch {
  readonly requestContext: {
    readonly requestId: string;
    readonly functionArn: string;
    readonly condition: 'RetryAttemptsExhausted' | 'RecordAgeExceeded';
    readonly approximateInvokeCount: number;
  };
  readonly responseContext: {
    readonly statusCode: number;
    readonly executedVersion: string;
    readonly functionError?: string;
  };
  readonly version: '1.0';
  readonly timestamp: string;
  readonly DDBStreamBatchInfo: {
    readonly shardId: string;
    readonly startSequenceNumber: string;
    readonly endSequenceNumber: string;
    readonly approximateArrivalOfFirstRecord: string;
    readonly approximateArrivalOfLastRecord: string;
    readonly batchSize: number;
    readonly streamArn: string;
  };
}

export interface StreamEventSourceOptions {
  readonly name: string;
  readonly endpoint: string;
  readonly tableName: string;
  readonly handler: (event: DynamoDBStreamEvent, context: ReturnType<typeof lambdaContext>) => Promise<unknown>;
  readonly batchSize: number;
  /**
   * How long a poll that found nothing waits before the next: Lambda "polls shards in your DynamoDB stream
   * for records at a base rate of 4 times per second" ("Polling and batching streams", Using AWS Lambda with
   * Amazon DynamoDB, https://docs.aws.amazon.com/lambda/latest/dg/with-ddb.html).
   * @default 250
   */
  readonly pollIntervalMs?: number;
  /** @default 'sequential' */
  readonly shardOrder?: ShardOrder;
  /** Tuning of `shardOrder: 'parallel'`. */
  readonly parallel?: ParallelDelivery;
  /** The mapping's filter: records it does not match are dropped before the function sees them, as Lambda does. */
  readonly filter?: FilterPattern;
  /** Retries, record age, bisection and the on-failure destination; without it a batch is retried until it succeeds. */
  readonly errorHandling?: StreamErrorHandling;
  /** The function's ARN, for the on-failure record. */
  readonly functionArn?: string;
  /**
   * `MaximumBatchingWindowInSeconds`, in ms: a batch smaller than `batchSize` waits until this long after
   * its records were first read, for more to join it ("Batching behavior", AWS Lambda Developer Guide,
   * https://docs.aws.amazon.com/lambda/latest/dg/invocation-eventsourcemapping.html#invocation-eventsourcemapping-batching).
   */
  readonly batchingWindowMs?: number;
}

export async function startStreamEventSource(options: StreamEventSourceOptions): Promise<RunningEventSource> {
  const dynamodb = new DynamoDBClient({ endpoint: options.endpoint });
  const streams = new DynamoDBStreamsClient({ endpoint: options.endpoint });
  const { Table } = await dynamodb.send(new DescribeTableCommand({ TableName: options.tableName }));
  dynamodb.destroy();
  const streamArn = Table?.LatestStreamArn;
  if (!streamArn) throw new Error(`Table ${options.tableName} has no stream`);
  const partitionKey = Table?.KeySchema?.find((key) => key.KeyType === 'HASH')?.AttributeName as string;

  const iterators = new Map<string, string>();
  /** The last record taken from each shard (handed to the function, or queued on a lane): where to resume when an iterator goes stale. */
  const lastSequence = new Map<string, string>();
  const finished = new Set<string>();
  let stopped = false;
  let lastDiscovery = 0;

  const discoverShards = async () => {
    const shards: Shard[] = [];
    let start: string | undefined;
    do {
      const { StreamDescription } = await streams.send(
        new DescribeStreamCommand({ StreamArn: streamArn, ...(start ? { ExclusiveStartShardId: start } : {}) }),
      );
      shards.push(...(StreamDescription?.Shards ?? []));
      start = StreamDescription?.LastEvaluatedShardId;
    } while (start);
    const known = new Set(shards.map((shard) => shard.ShardId));
    for (const shard of shards) {
      const id = shard.ShardId as string;
      if (iterators.has(id) || finished.has(id)) continue;
      const parent = shard.ParentShardId;
      if (parent && known.has(parent) && !finished.has(parent)) continue;
      const { ShardIterator } = await streams.send(
        new GetShardIteratorCommand({ StreamArn: streamArn, ShardId: id, ShardIteratorType: 'TRIM_HORIZON' }),
      );
      if (ShardIterator) iterators.set(id, ShardIterator);
    }
  };

  const resume = async (shardId: string) => {
    const after = lastSequence.get(shardId);
    const { ShardIterator } = await streams.send(
      new GetShardIteratorCommand({
        StreamArn: streamArn,
        ShardId: shardId,
        ...(after
          ? { ShardIteratorType: 'AFTER_SEQUENCE_NUMBER', SequenceNumber: after }
          : { ShardIteratorType: 'TRIM_HORIZON' }),
      }),
    );
    if (ShardIterator) iterators.set(shardId, ShardIterator);
  };

  const handling = options.errorHandling ?? {};
  /** Which shard each record came from, for a discarded batch's description. */
  const shardOfStreamRecord = new WeakMap<StreamRecord, string>();
  const shardOf = new WeakMap<DynamoDBRecord, string>();
  const limited = (limit: number | undefined) => limit !== undefined && limit >= 0;
  /**
   * Records already in the stream when the poller starts are ones a deployed mapping had read (locally
   * there is no checkpoint, so a restart over `--data-dir` replays from the trim horizon): they are not
   * discarded for their age, only for failing.
   */
  const startedAtSeconds = Date.now() / 1000;

  /**
   * Sends the discarded batch's description where the mapping says; the shard waits until it is sent
   * (locally the destination is an emulator on this machine, and a lost description would be a lost batch).
   */
  const discard = async (
    records: readonly DynamoDBRecord[],
    condition: DiscardedBatch['requestContext']['condition'],
    invokes: number,
  ) => {
    const first = records[0] as DynamoDBRecord;
    const last = records.at(-1) as DynamoDBRecord;
    const arrival = (record: DynamoDBRecord) =>
      new Date((record.dynamodb?.ApproximateCreationDateTime ?? 0) * 1000).toISOString();
    const record: DiscardedBatch = {
      requestContext: {
        requestId: randomUUID(),
        functionArn: options.functionArn ?? options.name,
        condition,
        approximateInvokeCount: invokes,
      },
      responseContext: { statusCode: 200, executedVersion: '$LATEST', functionError: 'Unhandled' },
      version: '1.0',
      timestamp: new Date().toISOString(),
      // Read in lanes (`parallel`), the one local shard's range from the batch's first record to its last
      // spans other lanes' records too; on AWS a shard's range is the batch's alone. Nothing here replays a
      // range (the operator's redrive rebuilds from the table), so it only describes the batch.
      DDBStreamBatchInfo: {
        shardId: shardOf.get(first) ?? 'unknown',
        startSequenceNumber: first.dynamodb?.SequenceNumber ?? '',
        endSequenceNumber: last.dynamodb?.SequenceNumber ?? '',
        approximateArrivalOfFirstRecord: arrival(first),
        approximateArrivalOfLastRecord: arrival(last),
        batchSize: records.length,
        streamArn,
      },
    };
    console.error(
      `[${options.name}] ${condition}: discarding ${records.length} record(s) after ${invokes} invocation(s)`,
    );
    for (let attempt = 0; !stopped; attempt++) {
      try {
        await handling.onDiscard?.(record);
        return;
      } catch (error) {
        console.error(
          `[${options.name}] could not send the discarded batch: ${error instanceof Error ? error.message : error}`,
        );
        await new Promise((resolve) => setTimeout(resolve, Math.min(2000, 100 * 2 ** attempt)));
      }
    }
  };

  /** Delivers one batch (or, bisected, its halves) until done; false when stopped first. */
  const deliver = async (records: readonly DynamoDBRecord[]): Promise<boolean> => {
    let retries = 0;
    for (let attempt = 0; ; attempt++) {
      if (stopped) return false;
      const oldest = Math.min(...records.map((record) => record.dynamodb?.ApproximateCreationDateTime ?? Infinity));
      if (
        oldest >= startedAtSeconds - 1 &&
        limited(handling.maximumRecordAgeSeconds) &&
        Date.now() / 1000 - oldest > (handling.maximumRecordAgeSeconds as number)
      ) {
        await discard(records, 'RecordAgeExceeded', attempt);
        return !stopped;
      }
      try {
        await options.handler({ Records: [...records] }, lambdaContext(options.name, 60_000));
        return true;
      } catch (error) {
        if (stopped) return false;
        console.error(
          `[${options.name}] failed, retrying the batch: ${error instanceof Error ? error.message : error}`,
        );
        if (handling.bisectOnError && records.length > 1) {
          const half = Math.ceil(records.length / 2);
          return (await deliver(records.slice(0, half))) && (await deliver(records.slice(half)));
        }
        retries++;
        if (limited(handling.maximumRetryAttempts) && retries > (handling.maximumRetryAttempts as number)) {
          await discard(records, 'RetryAttemptsExhausted', attempt + 1);
          return !stopped;
        }
        await new Promise((resolve) => setTimeout(resolve, Math.min(2000, 100 * 2 ** attempt)));
      }
    }
  };

  /** Invokes the function with one batch until it is done; false when stopped first. */
  const invokeUntilDone = async (records: readonly StreamRecord[], delayMs = 0): Promise<boolean> => {
    const all = records.map((record) => {
      const converted = toLambdaRecord(record, streamArn);
      const shard = shardOfStreamRecord.get(record);
      if (shard) shardOf.set(converted, shard);
      return converted;
    });
    const matched = options.filter
      ? all.filter((record) => matchesFilter(record, options.filter as FilterPattern))
      : all;
    if (matched.length === 0) return true;
    if (delayMs > 0) await new Promise((resolve) => setTimeout(resolve, delayMs));
    return deliver(matched);
  };

  const lanes =
    options.shardOrder === 'parallel'
      ? parallelLanes({
          ...options.parallel,
          batchSize: options.batchSize,
          laneOf: (record) => JSON.stringify(record.dynamodb?.Keys?.[partitionKey] ?? null),
          invoke: invokeUntilDone,
          isStopped: () => stopped,
        })
      : undefined;

  /** Per shard, when the batching window of the short batch it holds ends. */
  const windowEnds = new Map<string, number>();
  const readShard = async (shardId: string, iterator: string): Promise<boolean> => {
    let page: GetRecordsCommandOutput;
    try {
      page = await streams.send(new GetRecordsCommand({ ShardIterator: iterator, Limit: options.batchSize }));
    } catch (error) {
      // An iterator expires (15 minutes on AWS) or points before the trim horizon: take a new one where we were.
      const name = error instanceof Error ? error.name : '';
      if (name !== 'ExpiredIteratorException' && name !== 'TrimmedDataAccessException') throw error;
      await resume(shardId);
      return true;
    }
    const { Records = [], NextShardIterator } = page;
    // A short batch waits out the window from when it was first read, then goes with whatever is there:
    // the shard's iterator is not moved meanwhile, so the next read takes the same records and any new ones.
    const window = options.batchingWindowMs ?? 0;
    if (window > 0 && Records.length > 0 && Records.length < options.batchSize) {
      const until = windowEnds.get(shardId) ?? Date.now() + window;
      windowEnds.set(shardId, until);
      if (Date.now() < until) return false;
    }
    windowEnds.delete(shardId);
    for (const record of Records) shardOfStreamRecord.set(record, shardId);
    if (Records.length > 0) {
      if (lanes) await lanes.enqueue(Records);
      else if (!(await invokeUntilDone(Records))) return false;
    }
    const last = Records.at(-1)?.dynamodb?.SequenceNumber;
    if (last) lastSequence.set(shardId, last);
    if (NextShardIterator) iterators.set(shardId, NextShardIterator);
    else {
      iterators.delete(shardId);
      finished.add(shardId);
    }
    return Records.length > 0;
  };

  const loop = (async () => {
    while (!stopped) {
      try {
        if (Date.now() - lastDiscovery > 2000 || iterators.size === 0) {
          await discoverShards();
          lastDiscovery = Date.now();
        }
        let busy = false;
        for (const [shardId, iterator] of [...iterators]) {
          if (stopped) break;
          busy = (await readShard(shardId, iterator)) || busy;
        }
        if (!busy) await new Promise((resolve) => setTimeout(resolve, options.pollIntervalMs ?? 250));
      } catch (error) {
        if (stopped) break;
        console.error(
          `[${options.name}] stream poll failed: ${error instanceof Error ? error.message : String(error)}`,
        );
        await new Promise((resolve) => setTimeout(resolve, 500));
      }
    }
  })();

  return {
    stop: async () => {
      stopped = true;
      await loop;
      await lanes?.settled();
      streams.destroy();
    },
  };
}

interface Lanes {
  /** Queues records on their items' lanes and starts idle lanes; waits while too many are queued. */
  enqueue(records: readonly StreamRecord[]): Promise<void>;
  /** Resolves once every lane has stopped invoking. */
  settled(): Promise<void>;
}

function parallelLanes(options: {
  readonly lanes?: number;
  readonly maxStaggerMs?: number;
  readonly seed?: number;
  readonly batchSize: number;
  readonly laneOf: (record: StreamRecord) => string;
  readonly invoke: (records: readonly StreamRecord[], delayMs: number) => Promise<boolean>;
  readonly isStopped: () => boolean;
}): Lanes {
  const count = Math.max(1, options.lanes ?? 4);
  const maxStaggerMs = options.maxStaggerMs ?? 20;
  // The same seed gives the same interleaving.
  const random = seeded(options.seed ?? 1);
  const queues: StreamRecord[][] = Array.from({ length: count }, () => []);
  const running: (Promise<void> | undefined)[] = Array.from({ length: count }, () => undefined);
  // Read ahead at most this far: a lane stuck on a failing batch holds the stream up, as a stuck shard does.
  const maxQueued = options.batchSize * count * 2;

  const drain = async (lane: number) => {
    const queue = queues[lane] as StreamRecord[];
    while (queue.length > 0 && !options.isStopped()) {
      const batch = queue.slice(0, options.batchSize);
      if (!(await options.invoke(batch, Math.floor(random() * (maxStaggerMs + 1))))) return;
      queue.splice(0, batch.length);
    }
  };
  const start = (lane: number) => {
    if (options.isStopped() || running[lane] || (queues[lane] as StreamRecord[]).length === 0) return;
    running[lane] = drain(lane)
      .catch((error) => console.error(`stream lane ${lane} stopped: ${error instanceof Error ? error.message : error}`))
      .finally(() => {
        running[lane] = undefined;
        start(lane);
      });
  };
  const queued = () => queues.reduce((total, queue) => total + queue.length, 0);

  return {
    async enqueue(records) {
      for (const record of records) (queues[fnv1a(options.laneOf(record)) % count] as StreamRecord[]).push(record);
      for (let lane = 0; lane < count; lane++) start(lane);
      for (;;) {
        const busy = running.filter((lane): lane is Promise<void> => lane !== undefined);
        if (queued() <= maxQueued || busy.length === 0) return;
        await Promise.race(busy);
      }
    },
    async settled() {
      while (running.some((lane) => lane !== undefined)) await Promise.all(running);
    },
  };
}

function fnv1a(text: string): number {
  let hash = 0x811c9dc5;
  for (let index = 0; index < text.length; index++) {
    hash ^= text.charCodeAt(index);
    hash = Math.imul(hash, 0x01000193);
  }
  return hash >>> 0;
}

function toLambdaRecord(record: StreamRecord, streamArn: string): DynamoDBRecord {
  const change = record.dynamodb ?? {};
  return {
    eventID: record.eventID ?? '',
    eventName: record.eventName as DynamoDBRecord['eventName'],
    eventVersion: record.eventVersion ?? '1.1',
    eventSource: 'aws:dynamodb',
    awsRegion: record.awsRegion ?? 'us-east-1',
    eventSourceARN: streamArn,
    dynamodb: {
      ...(change.ApproximateCreationDateTime
        ? { ApproximateCreationDateTime: Math.floor(change.ApproximateCreationDateTime.getTime() / 1000) }
        : {}),
      Keys: change.Keys as never,
      NewImage: change.NewImage as never,
      OldImage: change.OldImage as never,
      SequenceNumber: change.SequenceNumber ?? '',
      SizeBytes: change.SizeBytes ?? 0,
      StreamViewType: change.StreamViewType as never,
    },
  };
}
