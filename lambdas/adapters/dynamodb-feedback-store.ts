/**
 * Shoppers' answers in the inventory table, under `FEEDBACK#`: one item per
 * customer and outcome, and the SKU's counts spread over
 * `FEEDBACK_COUNT_SHARDS` items (a customer always counts on the same one), so
 * a wave of answers never queues on one partition. An answer and the counts
 * it moves are written in one transaction, guarded by the answer's revision.
 */
import { createHash } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { BatchGetCommand, type DynamoDBDocumentClient, GetCommand, TransactWriteCommand } from '@aws-sdk/lib-dynamodb';
import { FEEDBACK_COUNT_SHARDS, keyPrefixes } from '../../contract/inventory-table';
import type { FeedbackOutcome } from '../../contract/requests';
import { BusyError } from '../domain/errors';
import type { FeedbackAnswer, FeedbackCounts, FeedbackStore } from '../domain/feedback';
import { cancellationReasons, failedCondition, isContention } from './aws-faults';

const answerKey = (sku: string, customerId: string, outcome: FeedbackOutcome) =>
  `${keyPrefixes.feedback}${sku}#ANSWER#${customerId}#${outcome}`;
const countsKey = (sku: string, shard: number) => `${keyPrefixes.feedback}${sku}#COUNTS#${shard}`;

/** The counts item a customer's answers add to: the same one every time. */
function countsShard(customerId: string): number {
  return createHash('sha256').update(customerId).digest().readUInt32BE(0) % FEEDBACK_COUNT_SHARDS;
}

const BATCH_GET_ROUNDS = 5;

export class DynamoDbFeedbackStore implements FeedbackStore {
  constructor(
    private readonly client: DynamoDBDocumentClient,
    private readonly tableName: string,
  ) {}

  async answer(sku: string, customerId: string, outcome: FeedbackOutcome): Promise<FeedbackAnswer | undefined> {
    const { Item } = await this.client.send(
      new GetCommand({
        TableName: this.tableName,
        Key: { pk: answerKey(sku, customerId, outcome) },
        ConsistentRead: true,
      }),
    );
    if (!Item) return undefined;
    const { pk: _key, ...answer } = Item;
    return answer as FeedbackAnswer;
  }

  async record(previous: FeedbackAnswer | undefined, next: FeedbackAnswer, delta: FeedbackCounts): Promise<boolean> {
    const stillAsRead = previous
      ? { ConditionExpression: '#revision = :revision', ExpressionAttributeValues: { ':revision': previous.revision } }
      : { ConditionExpression: 'attribute_not_exists(#pk)' };
    const moved = Object.entries(delta);
    try {
      await this.client.send(
        new TransactWriteCommand({
          TransactItems: [
            {
              Put: {
                TableName: this.tableName,
                Item: { pk: answerKey(next.sku, next.customerId, next.outcome), ...next },
                ...stillAsRead,
                ExpressionAttributeNames: previous ? { '#revision': 'revision' } : { '#pk': 'pk' },
              },
            },
            ...(moved.length > 0
              ? [
                  {
                    Update: {
                      TableName: this.tableName,
                      Key: { pk: countsKey(next.sku, countsShard(next.customerId)) },
                      UpdateExpression: `ADD ${moved.map((_, index) => `#c${index} :c${index}`).join(', ')}`,
                      ExpressionAttributeNames: Object.fromEntries(moved.map(([name], index) => [`#c${index}`, name])),
                      ExpressionAttributeValues: Object.fromEntries(
                        moved.map(([, value], index) => [`:c${index}`, value]),
                      ),
                    },
                  },
                ]
              : []),
          ],
        }),
      );
      return true;
    } catch (error) {
      // Another write of this answer came first (its condition failed), or is in flight (a conflict).
      if (failedCondition(cancellationReasons(error)?.[0]) || isContention(error)) return false;
      throw error;
    }
  }

  async counts(sku: string): Promise<FeedbackCounts> {
    let keys: Record<string, unknown>[] = Array.from({ length: FEEDBACK_COUNT_SHARDS }, (_, shard) => ({
      pk: countsKey(sku, shard),
    }));
    const totals: Record<string, number> = {};
    for (let round = 0; keys.length > 0; round++) {
      if (round === BATCH_GET_ROUNDS) throw new BusyError(1);
      if (round > 0) await sleep(25 * 2 ** round);
      const { Responses, UnprocessedKeys } = await this.client.send(
        new BatchGetCommand({ RequestItems: { [this.tableName]: { Keys: keys } } }),
      );
      for (const item of Responses?.[this.tableName] ?? []) {
        for (const [name, value] of Object.entries(item)) {
          if (name !== 'pk' && typeof value === 'number') totals[name] = (totals[name] ?? 0) + value;
        }
      }
      keys = UnprocessedKeys?.[this.tableName]?.Keys ?? [];
    }
    return totals;
  }
}
