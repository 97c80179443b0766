/**
 * Counter-examples, measured beside dropline so the figures have a baseline:
 * a read-then-write reservation (how oversell happens) and a single-item
 * conditional decrement (what a sold-out attempt costs without a stock view).
 * Not used by the product.
 */
import { type DynamoDBDocumentClient, GetCommand, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';

export class ReadThenWriteCounter {
  constructor(
    private readonly client: DynamoDBDocumentClient,
    private readonly tableName: string,
    private readonly pk: string,
  ) {}

  async stock(units: number): Promise<void> {
    await this.client.send(new PutCommand({ TableName: this.tableName, Item: { pk: this.pk, available: units } }));
  }

  /** Reads, checks in application code, writes back: two shoppers can both see the last unit. */
  async reserve(quantity: number): Promise<boolean> {
    const { Item } = await this.client.send(
      new GetCommand({ TableName: this.tableName, Key: { pk: this.pk }, ConsistentRead: true }),
    );
    const available = Number(Item?.available ?? 0);
    if (available < quantity) return false;
    await this.client.send(
      new UpdateCommand({
        TableName: this.tableName,
        Key: { pk: this.pk },
        UpdateExpression: 'SET available = :left',
        ExpressionAttributeValues: { ':left': available - quantity },
      }),
    );
    return true;
  }

  /** The safe single-item version: correct, but every attempt is a write on one item, sold out or not. */
  async conditionalDecrement(quantity: number): Promise<boolean> {
    try {
      await this.client.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { pk: this.pk },
          UpdateExpression: 'SET available = available - :q',
          ConditionExpression: 'available >= :q',
          ExpressionAttributeValues: { ':q': quantity },
        }),
      );
      return true;
    } catch (error) {
      if (error instanceof Error && error.name === 'ConditionalCheckFailedException') return false;
      throw error;
    }
  }
}
