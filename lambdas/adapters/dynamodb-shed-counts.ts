/**
 * The origin's shed counts in the inventory table, under `LOAD#`: a SKU's count spread over
 * `LOAD_COUNT_SHARDS` items. An environment adds to one item it picked at random when it started, so
 * refusals from many environments spread over the items' partitions. Throttling is per partition ("each
 * individual partition is limited to 1,000 write units per second and 3,000 read units per second" —
 * DynamoDB Developer Guide, "Understanding DynamoDB warm throughput in different scenarios"; hot
 * partitions "experience throttling while other operations may remain underutilized" — "DynamoDB
 * throttling resolution guide"), so these items are not throttled with the stock shards a spike
 * overwhelms. The controller reads all of them in one BatchGetItem.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { BatchGetCommand, type DynamoDBDocumentClient, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { keyPrefixes, LOAD_COUNT_SHARDS } from '../../contract/inventory-table';
import { BusyError } from '../domain/errors';
import type { ShedCounts } from '../domain/origin-load';

const countKey = (sku: string, shard: number) => `${keyPrefixes.load}${sku}#${shard}`;

const BATCH_GET_ROUNDS = 5;

export class DynamoDbShedCounts implements ShedCounts {
  constructor(
    private readonly client: DynamoDBDocumentClient,
    private readonly tableName: string,
    private readonly shard: number = Math.floor(Math.random() * LOAD_COUNT_SHARDS),
  ) {}

  async add(sku: string, count: number): Promise<void> {
    await this.client.send(
      new UpdateCommand({
        TableName: this.tableName,
        Key: { pk: countKey(sku, this.shard) },
        UpdateExpression: 'ADD shed :count',
        ExpressionAttributeValues: { ':count': count },
      }),
    );
  }

  async total(sku: string): Promise<number> {
    let keys: Record<string, unknown>[] = Array.from({ length: LOAD_COUNT_SHARDS }, (_, shard) => ({
      pk: countKey(sku, shard),
    }));
    let total = 0;
    for (let round = 0; keys.length > 0; round++) {
      if (round === BATCH_GET_ROUNDS) throw new BusyError(1);
      if (round > 0) await sleep(25 * 2 ** round);
      const { Responses, UnprocessedKeys } = await this.client.send(
        new BatchGetCommand({ RequestItems: { [this.tableName]: { Keys: keys, ProjectionExpression: 'shed' } } }),
      );
      for (const item of Responses?.[this.tableName] ?? []) {
        if (typeof item.shed === 'number') total += item.shed;
      }
      keys = UnprocessedKeys?.[this.tableName]?.Keys ?? [];
    }
    return total;
  }
}
