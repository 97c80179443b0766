/**
 * The origin's shed counts in the inventory table, under `LOAD#`: a SKU's count spread over
 * `LOAD_COUNT_SHARDS` items. An environment adds to one item it picked at random when it started, so
 * refusals from many environments spread over the items' partitions. Throttling is per partition ("each
 * individual partition is limited to 1,000 write units per second and 3,000 read units per second" —
 * DynamoDB Developer Guide, "Understanding DynamoDB warm throughput in different scenarios"; hot
 * partitions "experience throttling while other operations may remain underutilized" — "DynamoDB
 * throttling resolution guide"), so these items usually escape the throttling of the stock shards a spike
 * overwhelms (other keys can share a partition, and a table-wide throttle reaches them too). The controller
 * reads all of them in one BatchGetItem.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import {
  BatchGetCommand,
  type BatchGetCommandOutput,
  type DynamoDBDocumentClient,
  UpdateCommand,
  type UpdateCommandOutput,
} from '@aws-sdk/lib-dynamodb';
import { inventoryTable, keyPrefixes, LOAD_COUNT_SHARDS } from '../../contract/inventory-table';
import { BusyError } from '../domain/errors';
import { ShedCountNotWritten, type ShedCounts } from '../domain/origin-load';

const countKey = (sku: string, shard: number) => `${keyPrefixes.load}${sku}#${shard}`;

const BATCH_GET_ROUNDS = 5;
const COUNT_TTL_SECONDS = 24 * 3600;

/** The writing half, all the reservation path bundles (its bundle is held to 256 KiB: docs/benchmarks.md). */
export class DynamoDbShedCountWriter implements Pick<ShedCounts, 'add'> {
  private readonly shard: number;

  constructor(
    protected readonly client: DynamoDBDocumentClient,
    protected readonly tableName: string,
    protected readonly options: {
      /** The item this environment adds to; one picked at random unless given. */
      readonly shard?: number;
      /** How long a write may take, its retries included, before it is given up (0: no bound). */
      readonly writeTimeoutMs?: number;
      /** How long a read of the count may take, its retries included (0: no bound). */
      readonly readTimeoutMs?: number;
      readonly now?: () => number;
    } = {},
  ) {
    this.shard = options.shard ?? Math.floor(Math.random() * LOAD_COUNT_SHARDS);
  }

  async add(sku: string, count: number): Promise<void> {
    const nowSeconds = Math.floor((this.options.now ?? Date.now)() / 1000);
    try {
      await this.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { pk: countKey(sku, this.shard) },
          // Kept a day past the last refusal: counts for SKUs a path made up do not stay (the table's TTL).
          UpdateExpression: 'ADD shed :count SET #ttl = :ttl',
          ExpressionAttributeNames: { '#ttl': inventoryTable.timeToLiveAttribute },
          ExpressionAttributeValues: { ':count': count, ':ttl': nowSeconds + COUNT_TTL_SECONDS },
        }),
        this.options.writeTimeoutMs,
      );
    } catch (error) {
      // DynamoDB refused it (throttled, or no such table): a 4xx answer applies nothing.
      throw refusedByService(error) ? new ShedCountNotWritten(error) : error;
    }
  }

  /** Sends `command`, given up with its retries after `timeoutMs` (none when 0 or absent). */
  protected send<C extends UpdateCommand | BatchGetCommand>(command: C, timeoutMs = 0) {
    return this.client.send(
      command as never,
      timeoutMs > 0 ? { abortSignal: AbortSignal.timeout(timeoutMs) } : {},
    ) as Promise<C extends BatchGetCommand ? BatchGetCommandOutput : UpdateCommandOutput>;
  }
}

/** Both halves: the controller reads the count; tests write and read it. */
export class DynamoDbShedCounts extends DynamoDbShedCountWriter implements ShedCounts {
  async total(sku: string): Promise<number> {
    let keys: Record<string, unknown>[] = Array.from({ length: LOAD_COUNT_SHARDS }, (_, shard) => ({
      pk: countKey(sku, shard),
    }));
    let total = 0;
    for (let round = 0; keys.length > 0; round++) {
      if (round === BATCH_GET_ROUNDS) throw new BusyError(1);
      if (round > 0) await sleep(25 * 2 ** round);
      const { Responses, UnprocessedKeys } = await this.send(
        // Strongly consistent: an older copy would read as a fall, and the next read count its refusals twice.
        new BatchGetCommand({
          RequestItems: { [this.tableName]: { Keys: keys, ProjectionExpression: 'shed', ConsistentRead: true } },
        }),
        this.options.readTimeoutMs,
      );
      for (const item of Responses?.[this.tableName] ?? []) {
        if (typeof item.shed === 'number') total += item.shed;
      }
      keys = UnprocessedKeys?.[this.tableName]?.Keys ?? [];
    }
    return total;
  }
}

/** Whether DynamoDB answered the request with a client error (4xx): it applied nothing. */
function refusedByService(error: unknown): boolean {
  const status = (error as { $metadata?: { httpStatusCode?: number } } | undefined)?.$metadata?.httpStatusCode;
  return status !== undefined && status >= 400 && status < 500;
}
