/**
 * Each helper wires one dependency into a function: the environment variable
 * the handler reads (named in `contract/env-vars.ts`) and the narrowest
 * permission it needs, together, so the two cannot drift apart.
 */
import { Stack } from 'aws-cdk-lib';
import type { ITableV2 } from 'aws-cdk-lib/aws-dynamodb';
import { PolicyStatement } from 'aws-cdk-lib/aws-iam';
import type { Function as LambdaFunction } from 'aws-cdk-lib/aws-lambda';
import type { ITopic } from 'aws-cdk-lib/aws-sns';
import type { IQueue } from 'aws-cdk-lib/aws-sqs';
import { envVars } from '../../contract/env-vars';
import { inventoryTable, type KeyPrefix, keyPrefixes } from '../../contract/inventory-table';

/**
 * What a function does with the inventory table, item kind by item kind.
 * Transactions need no grant of their own: their Put/Update/Get parts are
 * authorised as PutItem/UpdateItem/GetItem ("Permissions for Put, Update,
 * Delete, and Get actions are governed by the permissions used for the
 * underlying PutItem, UpdateItem, DeleteItem, and GetItem operations" —
 * DynamoDB Developer Guide, "Using IAM with DynamoDB transactions",
 * https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/transaction-apis-iam.html).
 */
export interface TableAccess {
  /** Partition key prefixes it may read (GetItem, BatchGetItem, TransactGetItems), or `any` item. */
  readonly reads: 'any' | readonly KeyPrefix[];
  /** Partition key prefixes it may put or update (alone or inside TransactWriteItems). @default none */
  readonly writes?: readonly KeyPrefix[];
  /** Secondary indexes it may query. @default none */
  readonly queries?: readonly string[];
  /** Whether it may scan the whole table (the operator's redrive only). @default false */
  readonly scan?: boolean;
}

const READ_ACTIONS = ['dynamodb:GetItem', 'dynamodb:BatchGetItem'];
const WRITE_ACTIONS = ['dynamodb:PutItem', 'dynamodb:UpdateItem'];
const KNOWN_PREFIXES: readonly string[] = Object.values(keyPrefixes);

/**
 * Grants with `dynamodb:LeadingKeys`, the table's partition key ("Represents
 * the first key attribute of a table—in other words, the partition key ... you
 * must use the ForAllValues modifier" — DynamoDB Developer Guide, "Using IAM
 * policy conditions for fine-grained access control",
 * https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/specifying-conditions.html).
 * `ForAllValues` is also true when a request carries no key at all (IAM User
 * Guide, "Multivalued context key examples",
 * https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition_examples-multi-valued-context-keys.html),
 * so a conditioned statement holds only item-addressed actions, never Scan or
 * Query, and a `Null` check refuses a request without a key instead of
 * letting it through.
 *
 * The expiry index is queried without a key condition: the guide does not say
 * whether `LeadingKeys` names the table's or the index's partition key on an
 * index Query, so the grant rests on the index ARN alone (its projection is
 * keys only; the sweep then reads each hold through its own read grant).
 */
export function useInventoryTable(fn: LambdaFunction, table: ITableV2, access: TableAccess): void {
  fn.addEnvironment(envVars.tableName, table.tableName);
  fn.addToRolePolicy(keyScoped('TableReads', READ_ACTIONS, table, access.reads));
  if (access.writes && access.writes.length > 0) {
    fn.addToRolePolicy(keyScoped('TableWrites', WRITE_ACTIONS, table, access.writes));
  }
  if (access.scan) {
    // "Scan returns all items regardless of the leading keys" (same guide): a whole-table grant, stated as such.
    fn.addToRolePolicy(
      new PolicyStatement({ sid: 'TableScan', actions: ['dynamodb:Scan'], resources: [table.tableArn] }),
    );
  }
  for (const indexName of access.queries ?? []) {
    const known = [inventoryTable.holdsByExpiryIndex.indexName] as string[];
    if (!known.includes(indexName)) throw new Error(`the inventory table has no index ${indexName}`);
    fn.addToRolePolicy(
      new PolicyStatement({
        sid: 'TableIndexQuery',
        actions: ['dynamodb:Query'],
        resources: [`${table.tableArn}/index/${indexName}`],
      }),
    );
  }
}

function keyScoped(
  sid: string,
  actions: string[],
  table: ITableV2,
  prefixes: 'any' | readonly KeyPrefix[],
): PolicyStatement {
  if (prefixes === 'any') return new PolicyStatement({ sid, actions, resources: [table.tableArn] });
  if (prefixes.length === 0) throw new Error(`${sid}: name at least one key prefix, or none of the grant`);
  for (const prefix of prefixes) {
    if (!KNOWN_PREFIXES.includes(prefix)) throw new Error(`${sid}: ${prefix} is not a key prefix such as STOCK#`);
  }
  return new PolicyStatement({
    sid,
    actions,
    resources: [table.tableArn],
    conditions: {
      'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': [...new Set(prefixes)].sort().map((p) => `${p}*`) },
      Null: { 'dynamodb:LeadingKeys': 'false' },
    },
  });
}

export function useOrdersQueue(fn: LambdaFunction, queue: IQueue): void {
  fn.addEnvironment(envVars.ordersQueueUrl, queue.queueUrl);
  queue.grantSendMessages(fn);
}

export function useInventoryTopic(fn: LambdaFunction, topic: ITopic): void {
  fn.addEnvironment(envVars.inventoryTopicArn, topic.topicArn);
  topic.grantPublish(fn);
}

/**
 * Tells the channel applier which channel each queue feeds (channel name →
 * queue). Its permission to consume them comes with its event source
 * mappings, so the variable is all this sets.
 */
export function useChannelQueues(fn: LambdaFunction, queues: ReadonlyMap<string, IQueue>): void {
  const arns = Object.fromEntries([...queues].map(([channel, queue]) => [channel, queue.queueArn]));
  fn.addEnvironment(envVars.channelQueueArns, Stack.of(fn).toJsonString(arns));
}
