/**
 * Reads of many items by key, as DynamoDB takes them: at most 100 keys a
 * `BatchGetItem`, and the keys it leaves unprocessed (throttling) asked again
 * with backoff, until the read answers BUSY rather than a Lambda timeout.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { BatchGetCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { jitteredBackoffMs } from '../../contract/retries';
import { BusyError } from '../domain/errors';
import type { Item } from './dynamodb-inventory-items';

/**
 * Keys per `BatchGetItem` (and items per `TransactGetItems`): "BatchGetItem",
 * DynamoDB API Reference,
 * https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_BatchGetItem.html.
 */
export const BATCH_GET_KEYS = 100;

/** Rounds of BatchGetItem for keys DynamoDB left unprocessed (throttling) before the read answers BUSY. */
const MAX_BATCH_GET_ROUNDS = 6;

export function chunked<T>(items: readonly T[], size: number): T[][] {
  return Array.from({ length: Math.ceil(items.length / size) }, (_, index) =>
    items.slice(index * size, (index + 1) * size),
  );
}

/** Every item of `keys` that exists, by `pk`; `BATCH_GET_KEYS` at a time, the chunks in parallel. */
export async function batchGetByPk(
  client: DynamoDBDocumentClient,
  tableName: string,
  keys: readonly Item[],
  consistent: boolean,
): Promise<Map<string, Item>> {
  const byPk = new Map<string, Item>();
  await Promise.all(
    chunked(keys, BATCH_GET_KEYS).map((chunk) => batchGetChunk(client, tableName, chunk, consistent, byPk)),
  );
  return byPk;
}

async function batchGetChunk(
  client: DynamoDBDocumentClient,
  tableName: string,
  chunk: readonly Item[],
  consistent: boolean,
  byPk: Map<string, Item>,
): Promise<void> {
  let pending = chunk;
  for (let round = 0; pending.length > 0; round++) {
    // Keys left unprocessed round after round mean sustained throttling: answer BUSY, not a Lambda timeout.
    if (round >= MAX_BATCH_GET_ROUNDS) throw new BusyError();
    if (round > 0) await sleep(jitteredBackoffMs(round));
    const { Responses, UnprocessedKeys } = await client.send(
      new BatchGetCommand({ RequestItems: { [tableName]: { Keys: [...pending], ConsistentRead: consistent } } }),
    );
    for (const item of Responses?.[tableName] ?? []) byPk.set(String(item.pk), item);
    pending = (UnprocessedKeys?.[tableName]?.Keys as Item[] | undefined) ?? [];
  }
}
