/**
 * Each helper wires one dependency into a function: the environment variable
 * the handler reads and the narrowest permission it needs, together, so the
 * two cannot drift apart.
 */

import type { ITableV2 } from 'aws-cdk-lib/aws-dynamodb';
import { PolicyStatement } from 'aws-cdk-lib/aws-iam';
import type { Function as LambdaFunction } from 'aws-cdk-lib/aws-lambda';
import type { ITopic } from 'aws-cdk-lib/aws-sns';
import type { IQueue } from 'aws-cdk-lib/aws-sqs';
import { inventoryTable } from '../config/inventory-table';

/**
 * What a function does with the inventory table. Transactions need the
 * per-item actions (TransactWriteItems → PutItem/UpdateItem, TransactGetItems
 * → GetItem); no function deletes or changes the table, and only the
 * operator's redrive scans it.
 */
export type TableAccess = 'read' | 'write' | 'sweep' | 'scan';

const READ = ['dynamodb:GetItem', 'dynamodb:BatchGetItem'];
const WRITE = [...READ, 'dynamodb:PutItem', 'dynamodb:UpdateItem'];

export function useInventoryTable(fn: LambdaFunction, table: ITableV2, access: TableAccess): void {
  fn.addEnvironment('TABLE_NAME', table.tableName);
  const actions = access === 'read' ? READ : access === 'scan' ? [...READ, 'dynamodb:Scan'] : WRITE;
  fn.addToRolePolicy(new PolicyStatement({ actions, resources: [table.tableArn] }));
  if (access === 'sweep') {
    fn.addToRolePolicy(
      new PolicyStatement({
        actions: ['dynamodb:Query'],
        resources: [`${table.tableArn}/index/${inventoryTable.holdsByExpiryIndex.indexName}`],
      }),
    );
  }
}

export function useOrdersQueue(fn: LambdaFunction, queue: IQueue): void {
  fn.addEnvironment('ORDERS_QUEUE_URL', queue.queueUrl);
  queue.grantSendMessages(fn);
}

export function useInventoryTopic(fn: LambdaFunction, topic: ITopic): void {
  fn.addEnvironment('INVENTORY_TOPIC_ARN', topic.topicArn);
  topic.grantPublish(fn);
}
