/**
 * Local stand-in for a Lambda DynamoDB Streams event source mapping: reads
 * each stream shard in order (children after their parent closes), hands the
 * function batches of at most `batchSize` records, and on failure retries the
 * same batch until it succeeds — so a record is delivered at least once and
 * never out of order within its shard.
 */
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
import { lambdaContext } from '../lambda-context';
import type { RunningEventSource } from './sqs';

export interface StreamEventSourceOptions {
  readonly name: string;
  readonly endpoint: string;
  readonly tableName: string;
  readonly handler: (event: DynamoDBStreamEvent, context: ReturnType<typeof lambdaContext>) => Promise<unknown>;
  readonly batchSize: number;
  readonly pollIntervalMs?: number;
}

export async function startStreamEventSource(options: StreamEventSourceOptions): Promise<RunningEventSource> {
  const dynamodb = new DynamoDBClient({ endpoint: options.endpoint });
  const streams = new DynamoDBStreamsClient({ endpoint: options.endpoint });
  const { Table } = await dynamodb.send(new DescribeTableCommand({ TableName: options.tableName }));
  dynamodb.destroy();
  const streamArn = Table?.LatestStreamArn;
  if (!streamArn) throw new Error(`Table ${options.tableName} has no stream`);

  const iterators = new Map<string, string>();
  /** The last record handed to the function, per shard: where to resume when an iterator goes stale. */
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
    if (Records.length > 0) {
      const event: DynamoDBStreamEvent = { Records: Records.map((record) => toLambdaRecord(record, streamArn)) };
      for (let attempt = 0; ; attempt++) {
        try {
          await options.handler(event, lambdaContext(options.name, 60_000));
          break;
        } catch (error) {
          if (stopped) return false;
          console.error(
            `[${options.name}] failed, retrying the batch: ${error instanceof Error ? error.message : error}`,
          );
          await new Promise((resolve) => setTimeout(resolve, Math.min(2000, 100 * 2 ** attempt)));
        }
      }
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
        if (!busy) await new Promise((resolve) => setTimeout(resolve, options.pollIntervalMs ?? 100));
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
      streams.destroy();
    },
  };
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
