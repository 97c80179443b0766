/**
 * Each sales channel's view of a SKU's stock, as its consumer last applied
 * it. Applying is conditional on the version being newer, so redelivered,
 * duplicated or overtaken snapshots never move a view backwards.
 */
import { BatchGetCommand, type DynamoDBDocumentClient, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { keyPrefixes } from '../../contract/inventory-table';
import type { StockEvent } from '../../contract/messages';
import type { ChannelView, ChannelViewStore } from '../domain/ports';
import { isConditionFailed } from './aws-faults';

const key = (channel: string, sku: string) => ({ pk: `${keyPrefixes.channel}${channel}#${sku}` });

export class DynamoDbChannelViews implements ChannelViewStore {
  constructor(
    private readonly client: DynamoDBDocumentClient,
    private readonly tableName: string,
  ) {}

  /** Applies a snapshot unless the view already holds it or a newer one; true when applied. */
  async apply(channel: string, event: StockEvent, now = new Date()): Promise<boolean> {
    try {
      await this.client.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: key(channel, event.sku),
          UpdateExpression:
            'SET #kind = :kind, #channel = :channel, #sku = :sku, #available = :available, #soldOut = :soldOut, ' +
            '#version = :version, #publishedAt = :publishedAt, #appliedAt = :appliedAt',
          ConditionExpression: 'attribute_not_exists(#version) OR #version < :version',
          ExpressionAttributeNames: {
            '#kind': 'kind',
            '#channel': 'channel',
            '#sku': 'sku',
            '#available': 'available',
            '#soldOut': 'soldOut',
            '#version': 'version',
            '#publishedAt': 'publishedAt',
            '#appliedAt': 'appliedAt',
          },
          ExpressionAttributeValues: {
            ':kind': 'channel-view',
            ':channel': channel,
            ':sku': event.sku,
            ':available': event.available,
            ':soldOut': event.available === 0,
            ':version': event.version,
            ':publishedAt': event.publishedAt,
            ':appliedAt': now.toISOString(),
          },
        }),
      );
      return true;
    } catch (error) {
      if (isConditionFailed(error)) return false;
      throw error;
    }
  }

  async views(channels: readonly string[], sku: string): Promise<ChannelView[]> {
    if (channels.length === 0) return [];
    const { Responses } = await this.client.send(
      new BatchGetCommand({
        RequestItems: {
          [this.tableName]: { Keys: channels.map((channel) => key(channel, sku)), ConsistentRead: true },
        },
      }),
    );
    return (Responses?.[this.tableName] ?? [])
      .map((item) => ({
        channel: String(item.channel),
        sku: String(item.sku),
        available: Number(item.available),
        soldOut: Boolean(item.soldOut),
        version: Number(item.version),
        publishedAt: String(item.publishedAt),
        appliedAt: String(item.appliedAt),
      }))
      .sort((a, b) => channels.indexOf(a.channel) - channels.indexOf(b.channel));
  }
}
