/**
 * What the outbox relay keeps beside the stock shards, on DynamoDB: the
 * snapshot groups folded from shard images, and the stock vector every
 * environment's stock view reads. Nothing here writes a stock shard; the
 * shards are read only for an operator (one transaction per 100 shards) or
 * the sweeper (plain strongly consistent reads).
 */

import { setTimeout as sleep } from 'node:timers/promises';
import {
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
  TransactGetCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import { inventoryTable, keyPrefixes } from '../../contract/inventory-table';
import { jitteredBackoffMs } from '../../contract/retries';
import { SHARDS_PER_SNAPSHOT_GROUP } from '../../contract/stock-view';
import type { ShardImage, StockSnapshot } from '../domain/model';
import { snapshotOf } from '../domain/model';
import type { StockSnapshotStore } from '../domain/ports';
import { cancellationReasons, isConditionFailed, isContention } from './aws-faults';
import { BATCH_GET_KEYS, batchGetByPk, chunked } from './dynamodb-batches';
import {
  compactImage,
  fromCompactImage,
  type Item,
  keyIdOf,
  keys,
  laneQuery,
  STOCK_VECTOR_LANE,
  shardAttribute,
  toShardImage,
  VIEW_REPLICAS_LANE,
} from './dynamodb-inventory-items';

const { partitionKey: laneKey, sortKey: dueKey } = inventoryTable.holdsByExpiryIndex;

/** Conditional folds into one snapshot group, each after reading what it holds, before the relay's batch is retried. */
export const MAX_FOLD_ATTEMPTS = 5;

/** Transactional reads of a shard chunk before a snapshot for an operator gives up. */
const MAX_TRANSACT_GET_ATTEMPTS = 21;

export class DynamoDbStockSnapshots implements StockSnapshotStore {
  constructor(
    private readonly client: DynamoDBDocumentClient,
    private readonly tableName: string,
  ) {}

  async snapshot(sku: string, shards: number): Promise<StockSnapshot> {
    return snapshotOf(sku, await this.shardImages(sku, shards));
  }

  async shardImages(sku: string, shards: number): Promise<ShardImage[]> {
    // TransactGetItems takes at most 100 items: each chunk is one consistent cut (every shard is balanced on its own).
    const chunks = chunked(
      Array.from({ length: shards }, (_, shard) => shard),
      BATCH_GET_KEYS,
    );
    const images = await Promise.all(chunks.map((chunk) => this.readShardChunk(sku, chunk)));
    return images.flat();
  }

  private async readShardChunk(sku: string, chunk: readonly number[]): Promise<ShardImage[]> {
    for (let attempt = 0; ; attempt++) {
      try {
        const { Responses } = await this.client.send(
          new TransactGetCommand({
            TransactItems: chunk.map((shard) => ({ Get: { TableName: this.tableName, Key: keys.stock(sku, shard) } })),
          }),
        );
        return (Responses ?? []).map((response, index) => toShardImage(response.Item ?? {}, chunk[index] as number));
      } catch (error) {
        // A transactional read conflicts with in-flight writes to the same shards: read again shortly.
        const conflicted = cancellationReasons(error) || isContention(error);
        if (attempt + 1 >= MAX_TRANSACT_GET_ATTEMPTS || !conflicted) throw error;
        await sleep(jitteredBackoffMs(attempt));
      }
    }
  }

  /**
   * The snapshot is kept in groups of `SHARDS_PER_SNAPSHOT_GROUP` shards, one
   * small item each (`SNAPSHOT#sku#group`), each shard a compact list
   * `[version, supplied, available, held, sold, released, expired]`. One
   * conditional UpdateItem per touched group folds the batch's images in
   * (each shard only when newer); then every group is read in one strongly
   * consistent batch. So a fold writes a few bytes per shard on a few items
   * and no item grows with the shard count.
   *
   * The groups are read after the folds, not taken from each fold's answer:
   * relays on other stream shards fold into the same SKU's groups at the same
   * time, and a relay that composed its snapshot from its own folds' answers
   * could miss another's fold into a group it touched first — two relays each
   * missing the other's, so neither published what the shards now say. Read
   * after its own folds, of any two relays the one that reads last sees both.
   */
  async mergeShardImages(
    sku: string,
    images: readonly ShardImage[],
    shards: number,
  ): Promise<ShardImage[] | undefined> {
    await this.foldShardImages(sku, images);
    const groupCount = Math.ceil(shards / SHARDS_PER_SNAPSHOT_GROUP);
    const read = await batchGetByPk(
      this.client,
      this.tableName,
      Array.from({ length: groupCount }, (_, group) => keys.snapshot(sku, group)),
      true,
    );
    const groups = new Map<number, Item>();
    for (const item of read.values()) groups.set(Number(item.group), item);
    const held = Array.from(
      { length: shards },
      (_, shard) => groups.get(Math.floor(shard / SHARDS_PER_SNAPSHOT_GROUP))?.[shardAttribute(shard)],
    );
    if (held.some((image) => !Array.isArray(image))) return undefined;
    return held.map((image, shard) => fromCompactImage(image as unknown[], shard));
  }

  /** Folds shard images into their snapshot groups without composing a snapshot. */
  async foldShardImages(sku: string, images: readonly ShardImage[]): Promise<void> {
    await Promise.all([...bySnapshotGroup(images)].map(([group, batch]) => this.foldIntoGroup(sku, group, batch)));
  }

  /** Folds images of one group's shards into its item, each only when newer than the one it holds. */
  private async foldIntoGroup(sku: string, group: number, images: readonly ShardImage[]): Promise<void> {
    const fold = async (batch: readonly ShardImage[]) => {
      const names: Record<string, string> = { '#kind': 'kind', '#sku': 'sku', '#group': 'group' };
      const values: Record<string, unknown> = { ':kind': 'snapshot', ':sku': sku, ':group': group };
      const sets = ['#kind = :kind', '#sku = :sku', '#group = :group'];
      const conditions: string[] = [];
      for (const [index, image] of batch.entries()) {
        names[`#s${index}`] = shardAttribute(image.shard);
        values[`:i${index}`] = compactImage(image);
        values[`:v${index}`] = image.version;
        sets.push(`#s${index} = :i${index}`);
        conditions.push(`(attribute_not_exists(#s${index}) OR #s${index}[0] < :v${index})`);
      }
      await this.client.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: keys.snapshot(sku, group),
          UpdateExpression: `SET ${sets.join(', ')}`,
          ConditionExpression: conditions.join(' AND '),
          ExpressionAttributeNames: names,
          ExpressionAttributeValues: values,
        }),
      );
    };
    let pending = images;
    for (let attempt = 0; attempt < MAX_FOLD_ATTEMPTS; attempt++) {
      try {
        await fold(pending);
        return;
      } catch (error) {
        if (!isConditionFailed(error)) throw error;
      }
      // Some image is not newer than what the group holds (a redelivery, or a relay on another stream
      // shard was first): read the group and fold only what is newer, so a redelivered batch writes nothing.
      const { Item } = await this.client.send(
        new GetCommand({ TableName: this.tableName, Key: keys.snapshot(sku, group), ConsistentRead: true }),
      );
      pending = pending.filter((image) => {
        const held = Item?.[shardAttribute(image.shard)];
        return !Array.isArray(held) || Number(held[0]) < image.version;
      });
      if (pending.length === 0) return;
    }
    // Still racing another writer: these images are not in the group, and the relay would publish without
    // them (the sweeper's reconciliation repairs only a SKU it published once). Throwing makes the stream
    // deliver the batch again, or the sweeper reconcile the SKU again at its next run.
    throw new Error(
      `Snapshot group ${group} of ${sku} kept changing under ${MAX_FOLD_ATTEMPTS} folds; the batch is retried`,
    );
  }

  async readShardImages(sku: string, shards: number): Promise<ShardImage[]> {
    const stockKeys = Array.from({ length: shards }, (_, shard) => keys.stock(sku, shard));
    const byPk = await batchGetByPk(this.client, this.tableName, stockKeys, true);
    return stockKeys.map((key, shard) => toShardImage(byPk.get(key.pk) ?? {}, shard));
  }

  async stockVectorVersion(sku: string): Promise<number | undefined> {
    const { Item } = await this.client.send(
      new GetCommand({
        TableName: this.tableName,
        Key: keys.stockVector(sku),
        ProjectionExpression: '#version',
        ExpressionAttributeNames: { '#version': 'version' },
        ConsistentRead: true,
      }),
    );
    return Item?.version === undefined ? undefined : Number(Item.version);
  }

  async listReplicatedSkus(limit: number): Promise<string[]> {
    const { Items = [] } = await this.client.send(
      new QueryCommand(laneQuery(this.tableName, VIEW_REPLICAS_LANE, limit)),
    );
    return Items.map((item) => keyIdOf(keyPrefixes.product, item));
  }

  async listStockVectors(limit: number): Promise<string[]> {
    const { Items = [] } = await this.client.send(
      new QueryCommand(laneQuery(this.tableName, STOCK_VECTOR_LANE, limit)),
    );
    return Items.map((item) => keyIdOf(keyPrefixes.stockVector, item));
  }

  /**
   * The stock view's items: a list of numbers, a few bytes a shard
   * (`stockVectorBytes`), so one eventually consistent read costs half a read
   * unit for up to ~1,300 shards. Each replica is kept only when newer, so a
   * late writer never rolls one back; replica 0 goes last, so the version it
   * holds (what the sweeper's reconciliation compares) is one every replica
   * has reached.
   */
  async writeStockVector(sku: string, version: number, available: readonly number[], replicas: number): Promise<void> {
    const others = Array.from({ length: Math.max(0, replicas - 1) }, (_, index) => index + 1);
    await Promise.all(others.map((replica) => this.writeVectorReplica(sku, replica, version, available)));
    await this.writeVectorReplica(sku, 0, version, available);
  }

  private async writeVectorReplica(
    sku: string,
    replica: number,
    version: number,
    available: readonly number[],
  ): Promise<void> {
    try {
      await this.client.send(
        new PutCommand({
          TableName: this.tableName,
          // Replica 0 is listed in the expiry index under its own lane, for the sweeper's reconciliation. The
          // index keys never change on a rewrite, so the (keys-only) index is written once per SKU, not per fold.
          Item: {
            ...keys.stockVector(sku, replica),
            kind: 'stock-view',
            sku,
            version,
            available,
            ...(replica === 0 ? { [laneKey.name]: STOCK_VECTOR_LANE, [dueKey.name]: 0 } : {}),
          },
          ConditionExpression: 'attribute_not_exists(pk) OR #version < :version',
          ExpressionAttributeNames: { '#version': 'version' },
          ExpressionAttributeValues: { ':version': version },
        }),
      );
    } catch (error) {
      if (!isConditionFailed(error)) throw error;
    }
  }
}

/** Shard images by the snapshot group that keeps them. */
function bySnapshotGroup(images: readonly ShardImage[]): Map<number, ShardImage[]> {
  const byGroup = new Map<number, ShardImage[]>();
  for (const image of images) {
    const group = Math.floor(image.shard / SHARDS_PER_SNAPSHOT_GROUP);
    byGroup.set(group, [...(byGroup.get(group) ?? []), image]);
  }
  return byGroup;
}
