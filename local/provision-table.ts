/** Creates the inventory table on the emulator from the same description the CDK stack uses. */
import {
  CreateTableCommand,
  type DynamoDBClient,
  ResourceInUseException,
  UpdateTimeToLiveCommand,
} from '@aws-sdk/client-dynamodb';
import { inventoryTable } from '../contract/inventory-table';

export async function provisionInventoryTable(client: DynamoDBClient, tableName: string): Promise<void> {
  const index = inventoryTable.holdsByExpiryIndex;
  try {
    await client.send(
      new CreateTableCommand({
        TableName: tableName,
        BillingMode: 'PAY_PER_REQUEST',
        AttributeDefinitions: [
          { AttributeName: inventoryTable.partitionKey.name, AttributeType: inventoryTable.partitionKey.type },
          { AttributeName: index.partitionKey.name, AttributeType: index.partitionKey.type },
          { AttributeName: index.sortKey.name, AttributeType: index.sortKey.type },
        ],
        KeySchema: [{ AttributeName: inventoryTable.partitionKey.name, KeyType: 'HASH' }],
        GlobalSecondaryIndexes: [
          {
            IndexName: index.indexName,
            KeySchema: [
              { AttributeName: index.partitionKey.name, KeyType: 'HASH' },
              { AttributeName: index.sortKey.name, KeyType: 'RANGE' },
            ],
            Projection: { ProjectionType: index.projection },
          },
        ],
        StreamSpecification: { StreamEnabled: true, StreamViewType: inventoryTable.stream },
      }),
    );
    await client.send(
      new UpdateTimeToLiveCommand({
        TableName: tableName,
        TimeToLiveSpecification: { Enabled: true, AttributeName: inventoryTable.timeToLiveAttribute },
      }),
    );
  } catch (error) {
    // A persisted data directory already holds the table.
    if (!(error instanceof ResourceInUseException)) throw error;
  }
}
