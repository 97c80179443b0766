/**
 * A stand-in warehouse that records one dispatch per order, whatever the
 * number of deliveries: the idempotency a real warehouse API gives by order id.
 */
import { type DynamoDBDocumentClient, PutCommand } from '@aws-sdk/lib-dynamodb';
import { keyPrefixes } from '../../contract/inventory-table';
import type { Order } from '../domain/model';
import type { Warehouse } from '../domain/ports';
import { isConditionFailed } from './aws-faults';

export class SimulatedWarehouse implements Warehouse {
  constructor(
    private readonly client: DynamoDBDocumentClient,
    private readonly tableName: string,
  ) {}

  async dispatch(order: Order): Promise<boolean> {
    try {
      await this.client.send(
        new PutCommand({
          TableName: this.tableName,
          Item: {
            pk: `${keyPrefixes.dispatch}${order.orderId}`,
            kind: 'dispatch',
            orderId: order.orderId,
            sku: order.sku,
            quantity: order.quantity,
            dispatchedAt: new Date().toISOString(),
          },
          ConditionExpression: 'attribute_not_exists(pk)',
        }),
      );
      return true;
    } catch (error) {
      if (isConditionFailed(error)) return false;
      throw error;
    }
  }
}
