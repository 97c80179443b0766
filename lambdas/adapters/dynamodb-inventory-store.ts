/**
 * The inventory store on DynamoDB. Every state change is one
 * `TransactWriteItems` whose conditions are the rules it protects, so no
 * interleaving of requests, retries or sweepers can break the ledger.
 */

import { setTimeout as sleep } from 'node:timers/promises';
import {
  BatchGetCommand,
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
  ScanCommand,
  TransactGetCommand,
  TransactWriteCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import { inventoryTable, keyPrefixes } from '../../contract/inventory-table';
import { jitteredBackoffMs } from '../../contract/retries';
import { BusyError, LedgerInvariantError, ProductCreationConflictError } from '../domain/errors';
import type {
  Order,
  OrderStatus,
  OwedRefund,
  Product,
  RefundStatus,
  Reservation,
  ReservationStatus,
  ShardCounts,
  ShardImage,
  StockSnapshot,
} from '../domain/model';
import { emptyCounts, sumCounts } from '../domain/model';
import type {
  ChargeClearance,
  EndHoldOutcome,
  HoldEnding,
  IdempotencyRecord,
  InventoryStore,
  OutboxPage,
  OutboxReader,
  PlaceHoldInput,
  PlaceHoldOutcome,
  ProductChanges,
  ProductPutClaim,
  RefundOwed,
  RestockOutcome,
} from '../domain/ports';
import { allocationEntries } from '../domain/stock';
import { cancellationReasons, failedCondition, isConditionFailed, isContention, itemAtFailure } from './aws-faults';
import {
  compactImage,
  fromCompactImage,
  holdLane,
  type Item,
  keyIdOf,
  keys,
  laneName,
  REFUND_LANE,
  type ShardCounter,
  STOCK_VECTOR_LANE,
  shardAttribute,
  shardUpdate,
  type TransactItem,
  toCounts,
  toIdempotencyRecord,
  toOrder,
  toProduct,
  toRefund,
  toReservation,
  toShardImage,
} from './dynamodb-inventory-items';

const IDEMPOTENCY_RECORD_TTL_SECONDS = 24 * 60 * 60;
const { indexName, partitionKey: laneKey, sortKey: dueKey } = inventoryTable.holdsByExpiryIndex;

/** Shard updates per transaction: TransactWriteItems takes at most 100 actions, one is the record that guards it. */
const SHARDS_PER_TRANSACTION = 99;

const BATCH_GET_KEYS = 100;

/**
 * Shards per snapshot group item. A group's fold is one UpdateItem whose
 * condition is at most 4 KB and 300 operators ("Constraints in Amazon
 * DynamoDB", Expression parameters,
 * https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/Constraints.html);
 * each shard adds ~50 bytes and 5 operators, and the item stays under 2 KB.
 */
const SHARDS_PER_SNAPSHOT_GROUP = 50;

/** Rounds of BatchGetItem for keys DynamoDB left unprocessed (throttling) before the read answers BUSY. */
const MAX_BATCH_GET_ROUNDS = 6;

export class DynamoDbInventoryStore implements InventoryStore, OutboxReader {
  constructor(
    private readonly client: DynamoDBDocumentClient,
    private readonly tableName: string,
  ) {}

  async getProduct(sku: string, options = { consistent: true }): Promise<Product | undefined> {
    const { Item } = await this.client.send(
      new GetCommand({ TableName: this.tableName, Key: keys.product(sku), ConsistentRead: options.consistent }),
    );
    return Item ? toProduct(Item) : undefined;
  }

  async readStockVector(sku: string): Promise<readonly number[] | undefined> {
    const { Item } = await this.client.send(
      new GetCommand({ TableName: this.tableName, Key: keys.stockVector(sku), ConsistentRead: false }),
    );
    return Array.isArray(Item?.available) ? Item.available.map(Number) : undefined;
  }

  async createProduct(
    product: Product,
    stockPerShard: readonly number[],
    claim?: ProductPutClaim,
  ): Promise<'created' | 'exists' | 'duplicate'> {
    const now = new Date().toISOString();
    const wide = stockPerShard.length + 2 > 100;
    const shardItems: TransactItem[] = stockPerShard.map((units, shard) => ({
      Put: {
        TableName: this.tableName,
        Item: {
          ...keys.stock(product.sku, shard),
          kind: 'stock',
          sku: product.sku,
          shard,
          ...emptyCounts,
          supplied: units,
          available: units,
          version: 0,
        },
        // Wide products write their shards ahead of the product item: a retry may rewrite a shard it wrote, untouched.
        ConditionExpression: wide
          ? 'attribute_not_exists(pk) OR (#version = :zero AND #supplied = :units)'
          : 'attribute_not_exists(pk)',
        ...(wide
          ? {
              ExpressionAttributeNames: { '#version': 'version', '#supplied': 'supplied' },
              ExpressionAttributeValues: { ':zero': 0, ':units': units },
            }
          : {}),
      },
    }));
    if (wide) {
      // More shards than one transaction holds: the shards first, in chunks, then the product makes them live.
      if (await this.getProduct(product.sku)) return 'exists';
      for (const chunk of chunked(shardItems, SHARDS_PER_TRANSACTION)) {
        try {
          await this.client.send(new TransactWriteCommand({ TransactItems: chunk }));
        } catch (error) {
          if (cancellationReasons(error)?.some(failedCondition)) {
            throw new ProductCreationConflictError(product.sku);
          }
          throw error;
        }
      }
    }
    const claimItems = claim ? [this.claimProductPut(product.sku, claim)] : [];
    try {
      await this.client.send(
        new TransactWriteCommand({
          TransactItems: [
            {
              Put: {
                TableName: this.tableName,
                Item: { ...keys.product(product.sku), kind: 'product', ...product, createdAt: now, updatedAt: now },
                ConditionExpression: 'attribute_not_exists(pk)',
              },
            },
            ...(wide ? [] : shardItems),
            ...claimItems,
          ],
        }),
      );
      return 'created';
    } catch (error) {
      const reasons = cancellationReasons(error);
      if (claim && failedCondition(reasons?.at(-1))) return 'duplicate';
      if (failedCondition(reasons?.[0])) return 'exists';
      throw error;
    }
  }

  async updateProduct(sku: string, changes: ProductChanges, claim?: ProductPutClaim): Promise<Product | 'duplicate'> {
    const fields = Object.entries({ ...changes, updatedAt: new Date().toISOString() }).filter(
      ([, value]) => value !== undefined,
    );
    const update = {
      TableName: this.tableName,
      Key: keys.product(sku),
      UpdateExpression: `SET ${fields.map((_, index) => `#f${index} = :v${index}`).join(', ')}`,
      ConditionExpression: 'attribute_exists(pk)',
      ExpressionAttributeNames: Object.fromEntries(fields.map(([name], index) => [`#f${index}`, name])),
      ExpressionAttributeValues: Object.fromEntries(fields.map(([, value], index) => [`:v${index}`, value])),
    };
    if (!claim) {
      const { Attributes } = await this.client.send(new UpdateCommand({ ...update, ReturnValues: 'ALL_NEW' }));
      return toProduct(Attributes ?? {});
    }
    try {
      await this.client.send(
        new TransactWriteCommand({ TransactItems: [{ Update: update }, this.claimProductPut(sku, claim)] }),
      );
    } catch (error) {
      if (failedCondition(cancellationReasons(error)?.[1])) return 'duplicate';
      throw error;
    }
    const updated = await this.getProduct(sku);
    if (!updated) throw new Error(`Product ${sku} vanished after its update`);
    return updated;
  }

  async findProductPut(sku: string, idempotencyKey: string): Promise<ProductPutClaim | undefined> {
    const { Item } = await this.client.send(
      new GetCommand({ TableName: this.tableName, Key: keys.productPut(sku, idempotencyKey), ConsistentRead: true }),
    );
    return Item
      ? { idempotencyKey: String(Item.idempotencyKey), request: String(Item.request), created: Item.created === true }
      : undefined;
  }

  private claimProductPut(sku: string, claim: ProductPutClaim): TransactItem {
    return {
      Put: {
        TableName: this.tableName,
        Item: {
          ...keys.productPut(sku, claim.idempotencyKey),
          kind: 'product-put',
          sku,
          ...claim,
          ttl: Math.floor(Date.now() / 1000) + IDEMPOTENCY_RECORD_TTL_SECONDS,
        },
        ConditionExpression: 'attribute_not_exists(pk)',
      },
    };
  }

  async readShards(sku: string, shards: number, options: { consistent: boolean }): Promise<ShardCounts[]> {
    const byKey = new Map<string, Item>();
    const allKeys: Item[] = Array.from({ length: shards }, (_, shard) => keys.stock(sku, shard));
    await Promise.all(chunked(allKeys, BATCH_GET_KEYS).map((chunk) => this.batchGet(chunk, options.consistent, byKey)));
    return Array.from({ length: shards }, (_, shard) => {
      const item = byKey.get(keys.stock(sku, shard).pk);
      return item ? toCounts(item) : emptyCounts;
    });
  }

  /**
   * Reads up to `BATCH_GET_KEYS` items into `byKey` (by `pk`), asking again
   * for the keys DynamoDB left unprocessed, with backoff.
   */
  private async batchGet(chunk: readonly Item[], consistent: boolean, byKey: Map<string, Item>): Promise<void> {
    let pending = chunk;
    for (let round = 0; pending.length > 0; round++) {
      // Keys left unprocessed round after round mean sustained throttling: answer BUSY, not a Lambda timeout.
      if (round >= MAX_BATCH_GET_ROUNDS) throw new BusyError();
      if (round > 0) await sleep(jitteredBackoffMs(round));
      const { Responses, UnprocessedKeys } = await this.client.send(
        new BatchGetCommand({ RequestItems: { [this.tableName]: { Keys: [...pending], ConsistentRead: consistent } } }),
      );
      for (const item of Responses?.[this.tableName] ?? []) byKey.set(String(item.pk), item);
      pending = (UnprocessedKeys?.[this.tableName]?.Keys as Item[] | undefined) ?? [];
    }
  }

  async placeHold(input: PlaceHoldInput): Promise<PlaceHoldOutcome> {
    const { reservation, idempotencyKey, maxPerCustomer, expiresAtMs } = input;
    const shardEntries = allocationEntries(reservation.allocation);
    const nowSeconds = Math.floor(Date.now() / 1000);
    const takeFromShards = shardEntries.map(([shard, units]) =>
      shardUpdate(this.tableName, reservation.sku, shard, units, {
        from: 'available',
        into: 'held',
        returnOnFailure: true,
      }),
    );
    const withinCustomerLimit: TransactItem = {
      Update: {
        TableName: this.tableName,
        Key: keys.limit(reservation.sku, reservation.customerId),
        UpdateExpression: 'ADD #units :quantity',
        ConditionExpression: 'attribute_not_exists(#units) OR #units <= :room',
        ExpressionAttributeNames: { '#units': 'units' },
        ExpressionAttributeValues: {
          ':quantity': reservation.quantity,
          ':room': maxPerCustomer - reservation.quantity,
        },
      },
    };
    const recordReservation: TransactItem = {
      Put: {
        TableName: this.tableName,
        Item: {
          ...keys.reservation(reservation.reservationId),
          kind: 'reservation',
          ...reservation,
          allocation: reservation.allocation,
          idempotencyKey,
          expiresAtMs,
          createdAt: new Date().toISOString(),
          [laneKey.name]: holdLane(reservation.reservationId),
          [dueKey.name]: expiresAtMs,
        },
        ConditionExpression: 'attribute_not_exists(pk)',
      },
    };
    const claimIdempotencyKey: TransactItem = {
      Put: {
        TableName: this.tableName,
        Item: {
          ...keys.idempotency(reservation.customerId, idempotencyKey),
          kind: 'idempotency',
          idempotencyKey,
          reservationId: reservation.reservationId,
          sku: reservation.sku,
          customerId: reservation.customerId,
          quantity: reservation.quantity,
          ttl: nowSeconds + IDEMPOTENCY_RECORD_TTL_SECONDS,
        },
        ConditionExpression: 'attribute_not_exists(pk)',
        ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
      },
    };

    try {
      await this.client.send(
        new TransactWriteCommand({
          TransactItems: [...takeFromShards, withinCustomerLimit, recordReservation, claimIdempotencyKey],
        }),
      );
      return { kind: 'placed' };
    } catch (error) {
      const reasons = cancellationReasons(error);
      if (!reasons) {
        if (isContention(error)) return { kind: 'contended' };
        throw error;
      }
      const idempotencyIndex = shardEntries.length + 2;
      if (failedCondition(reasons[idempotencyIndex])) {
        const old = itemAtFailure(reasons[idempotencyIndex]);
        const record = old
          ? toIdempotencyRecord(old)
          : await this.findIdempotencyRecord(reservation.customerId, idempotencyKey);
        return record ? { kind: 'duplicate', record } : { kind: 'contended' };
      }
      if (failedCondition(reasons[shardEntries.length])) return { kind: 'limit-exceeded' };
      const short = shardEntries.flatMap(([shard], index) => {
        const reason = reasons[index];
        if (!failedCondition(reason)) return [];
        const old = itemAtFailure(reason) ?? {};
        return [[shard, Number(old.available ?? 0)] as const];
      });
      if (short.length > 0) return { kind: 'shortfall', available: short };
      return { kind: 'contended' };
    }
  }

  async findIdempotencyRecord(customerId: string, idempotencyKey: string): Promise<IdempotencyRecord | undefined> {
    const { Item } = await this.client.send(
      new GetCommand({
        TableName: this.tableName,
        Key: keys.idempotency(customerId, idempotencyKey),
        ConsistentRead: true,
      }),
    );
    return Item ? toIdempotencyRecord(Item) : undefined;
  }

  async getReservation(reservationId: string): Promise<Reservation | undefined> {
    const { Item } = await this.client.send(
      new GetCommand({ TableName: this.tableName, Key: keys.reservation(reservationId), ConsistentRead: true }),
    );
    return Item ? toReservation(Item) : undefined;
  }

  async endHold(
    reservation: Reservation,
    ending: HoldEnding,
    nowMs: number,
    refundOwed?: RefundOwed,
  ): Promise<EndHoldOutcome> {
    const counter: ShardCounter = ending === 'RELEASED' ? 'released' : 'expired';
    const conditions = ['#status = :held'];
    if (ending === 'EXPIRED') conditions.push('#expiresAtMs <= :nowMs');
    // Only on the hold as read: a checkout cleared meanwhile changes what the end owes.
    conditions.push(
      reservation.lastChargeAttemptAtMs === undefined
        ? 'attribute_not_exists(#lastCharge)'
        : '#lastCharge = :lastCharge',
    );
    const returnUnits = allocationEntries(reservation.allocation).map(([shard, units]) =>
      shardUpdate(this.tableName, reservation.sku, shard, units, { from: 'held', into: 'available', add: [counter] }),
    );
    const recordRefund: TransactItem[] = refundOwed
      ? [
          {
            Put: {
              TableName: this.tableName,
              Item: {
                ...keys.refund(reservation.reservationId),
                kind: 'refund',
                reservationId: reservation.reservationId,
                sku: reservation.sku,
                chargeKey: refundOwed.chargeKey,
                status: 'OWED' satisfies RefundStatus,
                owedSinceMs: nowMs,
                chargeWindowEndsAtMs: refundOwed.chargeWindowEndsAtMs,
                attempts: 0,
                [laneKey.name]: REFUND_LANE,
                [dueKey.name]: nowMs,
              },
              ConditionExpression: 'attribute_not_exists(pk)',
            },
          },
        ]
      : [];
    try {
      await this.client.send(
        new TransactWriteCommand({
          TransactItems: [
            {
              Update: {
                TableName: this.tableName,
                Key: keys.reservation(reservation.reservationId),
                UpdateExpression: 'SET #status = :ending, #endedAt = :endedAt REMOVE #lane, #due',
                ConditionExpression: conditions.join(' AND '),
                ExpressionAttributeNames: {
                  '#status': 'status',
                  '#endedAt': 'endedAt',
                  '#lane': laneKey.name,
                  '#due': dueKey.name,
                  '#lastCharge': 'lastChargeAttemptAtMs',
                  ...(ending === 'EXPIRED' ? { '#expiresAtMs': 'expiresAtMs' } : {}),
                },
                ExpressionAttributeValues: {
                  ':held': 'HELD' satisfies ReservationStatus,
                  ':ending': ending,
                  ':endedAt': new Date(nowMs).toISOString(),
                  ...(ending === 'EXPIRED' ? { ':nowMs': nowMs } : {}),
                  ...(reservation.lastChargeAttemptAtMs === undefined
                    ? {}
                    : { ':lastCharge': reservation.lastChargeAttemptAtMs }),
                },
                ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
              },
            },
            ...returnUnits,
            {
              Update: {
                TableName: this.tableName,
                Key: keys.limit(reservation.sku, reservation.customerId),
                UpdateExpression: 'ADD #units :returned',
                ExpressionAttributeNames: { '#units': 'units' },
                ExpressionAttributeValues: { ':returned': -reservation.quantity },
              },
            },
            ...recordRefund,
          ],
        }),
      );
      return { kind: 'ended' };
    } catch (error) {
      return holdTransitionOutcome(error, reservation.sku, returnUnits.length);
    }
  }

  async clearCharge(reservationId: string, nowMs: number): Promise<ChargeClearance> {
    try {
      const { Attributes } = await this.client.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: keys.reservation(reservationId),
          UpdateExpression: 'SET #lastCharge = :nowMs',
          ConditionExpression: '#status = :held AND #expiresAtMs > :nowMs',
          ExpressionAttributeNames: {
            '#lastCharge': 'lastChargeAttemptAtMs',
            '#status': 'status',
            '#expiresAtMs': 'expiresAtMs',
          },
          ExpressionAttributeValues: { ':nowMs': nowMs, ':held': 'HELD' satisfies ReservationStatus },
          ReturnValues: 'ALL_NEW',
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        }),
      );
      return { kind: 'cleared', reservation: toReservation(Attributes ?? {}) };
    } catch (error) {
      if (isConditionFailed(error)) {
        const old = itemAtFailure(error);
        const current = old && Object.keys(old).length > 0 ? toReservation(old) : undefined;
        return { kind: 'not-held', current };
      }
      if (isContention(error)) return { kind: 'contended' };
      throw error;
    }
  }

  /**
   * Adds units to the shards, a transaction of at most `SHARDS_PER_TRANSACTION`
   * shards at a time, so a product may have more shards than one transaction
   * holds. The Idempotency-Key record counts the chunks done and each chunk
   * advances it in the same transaction: a retry after a failure part-way
   * resumes where the restock stopped, and every shard stays balanced
   * (`supplied` and `available` grow together) at every step.
   */
  async restock(sku: string, unitsPerShard: readonly number[], idempotencyKey: string): Promise<RestockOutcome> {
    const quantity = unitsPerShard.reduce((sum, units) => sum + units, 0);
    const additions = unitsPerShard.flatMap((units, shard) =>
      units === 0 ? [] : [shardUpdate(this.tableName, sku, shard, units, { add: ['supplied', 'available'] })],
    );
    const chunks = chunked(additions, SHARDS_PER_TRANSACTION);
    const claimKey: TransactItem = {
      Put: {
        TableName: this.tableName,
        Item: {
          ...keys.restock(sku, idempotencyKey),
          kind: 'restock',
          sku,
          idempotencyKey,
          quantity,
          chunks: chunks.length,
          done: 1,
          restockedAt: new Date().toISOString(),
          ttl: Math.floor(Date.now() / 1000) + IDEMPOTENCY_RECORD_TTL_SECONDS,
        },
        ConditionExpression: 'attribute_not_exists(pk)',
        ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
      },
    };
    const advance = (done: number): TransactItem => ({
      Update: {
        TableName: this.tableName,
        Key: keys.restock(sku, idempotencyKey),
        UpdateExpression: 'SET #done = :next',
        ConditionExpression: '#done = :done',
        ExpressionAttributeNames: { '#done': 'done' },
        ExpressionAttributeValues: { ':done': done, ':next': done + 1 },
        ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
      },
    });

    let done = 0;
    for (;;) {
      try {
        const head = done === 0 ? claimKey : advance(done);
        await this.client.send(new TransactWriteCommand({ TransactItems: [head, ...(chunks[done] ?? [])] }));
        done++;
        if (done >= chunks.length) return { kind: 'restocked' };
      } catch (error) {
        const reasons = cancellationReasons(error);
        if (failedCondition(reasons?.[0])) {
          // The key's record says where this restock stands: finished, another request, or part-way.
          const record = itemAtFailure(reasons?.[0]) ?? {};
          if (Number(record.quantity) !== quantity) return { kind: 'duplicate', quantity: Number(record.quantity) };
          const recorded = Number(record.done ?? record.chunks ?? 1);
          if (recorded >= Number(record.chunks ?? 1)) {
            return done === 0 ? { kind: 'duplicate', quantity } : { kind: 'restocked' };
          }
          done = recorded;
          continue;
        }
        if (reasons?.some(failedCondition)) throw new LedgerInvariantError(sku);
        if (reasons || isContention(error)) return { kind: 'contended' };
        throw error;
      }
    }
  }

  async listDueHolds(nowMs: number, limit: number): Promise<string[]> {
    const lanes = Array.from({ length: inventoryTable.holdLanes }, (_, lane) => laneName(lane));
    const pages = await Promise.all(
      lanes.map((lane) =>
        this.client.send(
          new QueryCommand({
            TableName: this.tableName,
            IndexName: indexName,
            KeyConditionExpression: '#lane = :lane AND #due <= :now',
            ExpressionAttributeNames: { '#lane': laneKey.name, '#due': dueKey.name },
            ExpressionAttributeValues: { ':lane': lane, ':now': nowMs },
            Limit: limit,
          }),
        ),
      ),
    );
    return pages
      .flatMap((page) => page.Items ?? [])
      .sort((a, b) => Number(a[dueKey.name]) - Number(b[dueKey.name]))
      .slice(0, limit)
      .map((item) => keyIdOf(keyPrefixes.reservation, item));
  }

  async deferHold(reservationId: string, untilMs: number): Promise<void> {
    try {
      await this.client.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: keys.reservation(reservationId),
          UpdateExpression: 'SET #due = :until',
          ConditionExpression: '#status = :held AND attribute_exists(#lane)',
          ExpressionAttributeNames: { '#due': dueKey.name, '#status': 'status', '#lane': laneKey.name },
          ExpressionAttributeValues: { ':until': untilMs, ':held': 'HELD' satisfies ReservationStatus },
        }),
      );
    } catch (error) {
      if (!isConditionFailed(error)) throw error;
    }
  }

  async confirmHold(reservation: Reservation, order: Order, nowMs: number): Promise<EndHoldOutcome> {
    const sellUnits = allocationEntries(reservation.allocation).map(([shard, units]) =>
      shardUpdate(this.tableName, reservation.sku, shard, units, { from: 'held', add: ['sold'] }),
    );
    try {
      await this.client.send(
        new TransactWriteCommand({
          TransactItems: [
            {
              Update: {
                TableName: this.tableName,
                Key: keys.reservation(reservation.reservationId),
                UpdateExpression: 'SET #status = :confirmed, #orderId = :orderId, #endedAt = :now REMOVE #lane, #due',
                ConditionExpression: '#status = :held AND #expiresAtMs > :nowMs',
                ExpressionAttributeNames: {
                  '#status': 'status',
                  '#orderId': 'orderId',
                  '#endedAt': 'endedAt',
                  '#expiresAtMs': 'expiresAtMs',
                  '#lane': laneKey.name,
                  '#due': dueKey.name,
                },
                ExpressionAttributeValues: {
                  ':held': 'HELD' satisfies ReservationStatus,
                  ':confirmed': 'CONFIRMED' satisfies ReservationStatus,
                  ':orderId': order.orderId,
                  ':now': new Date(nowMs).toISOString(),
                  ':nowMs': nowMs,
                },
                ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
              },
            },
            ...sellUnits,
            {
              Put: {
                TableName: this.tableName,
                Item: { ...keys.order(order.orderId), kind: 'order', ...order },
                ConditionExpression: 'attribute_not_exists(pk)',
              },
            },
          ],
        }),
      );
      return { kind: 'ended' };
    } catch (error) {
      return holdTransitionOutcome(error, reservation.sku, sellUnits.length);
    }
  }

  async getOrder(orderId: string): Promise<Order | undefined> {
    const { Item } = await this.client.send(
      new GetCommand({ TableName: this.tableName, Key: keys.order(orderId), ConsistentRead: true }),
    );
    return Item ? toOrder(Item) : undefined;
  }

  async markFulfilled(orderId: string): Promise<boolean> {
    try {
      await this.client.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: keys.order(orderId),
          UpdateExpression: 'SET #status = :fulfilled, #fulfilledAt = :now',
          ConditionExpression: '#status = :placed',
          ExpressionAttributeNames: { '#status': 'status', '#fulfilledAt': 'fulfilledAt' },
          ExpressionAttributeValues: {
            ':fulfilled': 'FULFILLED' satisfies OrderStatus,
            ':placed': 'PLACED' satisfies OrderStatus,
            ':now': new Date().toISOString(),
          },
        }),
      );
      return true;
    } catch (error) {
      if (isConditionFailed(error)) return false;
      throw error;
    }
  }

  async getRefund(reservationId: string): Promise<OwedRefund | undefined> {
    const { Item } = await this.client.send(
      new GetCommand({ TableName: this.tableName, Key: keys.refund(reservationId), ConsistentRead: true }),
    );
    return Item ? toRefund(Item) : undefined;
  }

  async listDueRefunds(nowMs: number, limit: number): Promise<string[]> {
    const { Items = [] } = await this.client.send(
      new QueryCommand({
        TableName: this.tableName,
        IndexName: indexName,
        KeyConditionExpression: '#lane = :lane AND #due <= :now',
        ExpressionAttributeNames: { '#lane': laneKey.name, '#due': dueKey.name },
        ExpressionAttributeValues: { ':lane': REFUND_LANE, ':now': nowMs },
        Limit: limit,
      }),
    );
    return Items.map((item) => keyIdOf(keyPrefixes.refund, item));
  }

  async closeRefund(reservationId: string, status: Exclude<RefundStatus, 'OWED'>, nowMs: number): Promise<boolean> {
    try {
      await this.client.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: keys.refund(reservationId),
          UpdateExpression: 'SET #status = :status, #closedAt = :closedAt REMOVE #lane, #due',
          ConditionExpression: '#status = :owed',
          ExpressionAttributeNames: {
            '#status': 'status',
            '#closedAt': 'closedAt',
            '#lane': laneKey.name,
            '#due': dueKey.name,
          },
          ExpressionAttributeValues: {
            ':status': status,
            ':owed': 'OWED' satisfies RefundStatus,
            ':closedAt': new Date(nowMs).toISOString(),
          },
        }),
      );
      return true;
    } catch (error) {
      if (isConditionFailed(error)) return false;
      throw error;
    }
  }

  async rescheduleRefund(reservationId: string, nextAttemptAtMs: number, attempts: number): Promise<void> {
    try {
      await this.client.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: keys.refund(reservationId),
          UpdateExpression: 'SET #due = :next, #attempts = :attempts',
          ConditionExpression: '#status = :owed',
          ExpressionAttributeNames: { '#due': dueKey.name, '#attempts': 'attempts', '#status': 'status' },
          ExpressionAttributeValues: {
            ':next': nextAttemptAtMs,
            ':attempts': attempts,
            ':owed': 'OWED' satisfies RefundStatus,
          },
        }),
      );
    } catch (error) {
      if (!isConditionFailed(error)) throw error;
    }
  }

  /**
   * What the outbox carries, read from the table itself, a page at a time:
   * orders still PLACED and every product's SKU. A consistent Scan — for
   * recovering a lost stream range, never on a request path.
   */
  async *scanOutbox(pageSize = 500): AsyncGenerator<OutboxPage> {
    let startKey: Record<string, unknown> | undefined;
    do {
      const page = await this.client.send(
        new ScanCommand({
          TableName: this.tableName,
          FilterExpression: '(#kind = :order AND #status = :placed) OR #kind = :product',
          ExpressionAttributeNames: { '#kind': 'kind', '#status': 'status' },
          ExpressionAttributeValues: {
            ':order': 'order',
            ':placed': 'PLACED' satisfies OrderStatus,
            ':product': 'product',
          },
          ConsistentRead: true,
          Limit: pageSize,
          ExclusiveStartKey: startKey,
        }),
      );
      const items = page.Items ?? [];
      yield {
        scanned: page.ScannedCount ?? 0,
        placed: items.filter((item) => item.kind === 'order').map(toOrder),
        skus: items.filter((item) => item.kind === 'product').map((item) => String(item.sku)),
      };
      startKey = page.LastEvaluatedKey;
    } while (startKey);
  }

  async snapshot(sku: string, shards: number): Promise<StockSnapshot> {
    const images = await this.shardImages(sku, shards);
    return { sku, version: images.reduce((sum, image) => sum + image.version, 0), ...sumCounts(images) };
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
        if (attempt >= 20 || !(cancellationReasons(error) || isContention(error))) throw error;
        await sleep(jitteredBackoffMs(attempt));
      }
    }
  }

  /**
   * The snapshot is kept in groups of `SHARDS_PER_SNAPSHOT_GROUP` shards, one
   * small item each (`SNAPSHOT#sku#group`), each shard a compact list
   * `[version, supplied, available, held, sold, released, expired]`. One
   * conditional UpdateItem per touched group folds the batch's images in
   * (each shard only when newer) and returns the group; the untouched groups
   * are read in one consistent batch. So a fold writes a few bytes per shard
   * on a few items and no item grows with the shard count. An image older
   * than what its group holds (a relay on another stream shard got there
   * first) is folded one by one instead.
   */
  async mergeShardImages(
    sku: string,
    images: readonly ShardImage[],
    shards: number,
  ): Promise<StockSnapshot | undefined> {
    const groups = new Map<number, Item | undefined>();
    await Promise.all(
      [...bySnapshotGroup(images)].map(async ([group, batch]) =>
        groups.set(group, await this.foldIntoGroup(sku, group, batch)),
      ),
    );
    const groupCount = Math.ceil(shards / SHARDS_PER_SNAPSHOT_GROUP);
    const missing = Array.from({ length: groupCount }, (_, group) => group).filter((group) => !groups.get(group));
    for (const chunk of chunked(missing, BATCH_GET_KEYS)) {
      const { Responses } = await this.client.send(
        new BatchGetCommand({
          RequestItems: {
            [this.tableName]: { Keys: chunk.map((group) => keys.snapshot(sku, group)), ConsistentRead: true },
          },
        }),
      );
      for (const item of Responses?.[this.tableName] ?? []) groups.set(Number(item.group), item);
    }
    const held = Array.from(
      { length: shards },
      (_, shard) => groups.get(Math.floor(shard / SHARDS_PER_SNAPSHOT_GROUP))?.[shardAttribute(shard)],
    );
    if (held.some((image) => !Array.isArray(image))) return undefined;
    const all = held.map((image, shard) => fromCompactImage(image as unknown[], shard));
    const snapshot = { sku, version: all.reduce((sum, image) => sum + image.version, 0), ...sumCounts(all) };
    await this.writeStockVector(
      sku,
      snapshot.version,
      all.map((image) => image.available),
    );
    return snapshot;
  }

  /** Folds images of one group's shards into its item; returns the item as it now stands. */
  private async foldIntoGroup(sku: string, group: number, images: readonly ShardImage[]): Promise<Item | undefined> {
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
      const { Attributes } = await this.client.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: keys.snapshot(sku, group),
          UpdateExpression: `SET ${sets.join(', ')}`,
          ConditionExpression: conditions.join(' AND '),
          ExpressionAttributeNames: names,
          ExpressionAttributeValues: values,
          ReturnValues: 'ALL_NEW',
        }),
      );
      return Attributes;
    };
    let pending = images;
    for (let attempt = 0; attempt < 3; attempt++) {
      try {
        return await fold(pending);
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
      if (pending.length === 0) return Item;
    }
    // Still racing another relay: the caller reads the group with the untouched ones.
    return undefined;
  }

  async readShardImages(sku: string, shards: number): Promise<ShardImage[]> {
    const byKey = new Map<string, Item>();
    for (const chunk of chunked(
      Array.from({ length: shards }, (_, shard) => keys.stock(sku, shard)),
      BATCH_GET_KEYS,
    )) {
      await this.batchGet(chunk, true, byKey);
    }
    return Array.from({ length: shards }, (_, shard) =>
      toShardImage(byKey.get(keys.stock(sku, shard).pk) ?? {}, shard),
    );
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

  async listStockVectors(limit: number): Promise<string[]> {
    const { Items = [] } = await this.client.send(
      new QueryCommand({
        TableName: this.tableName,
        IndexName: indexName,
        KeyConditionExpression: '#lane = :lane',
        ExpressionAttributeNames: { '#lane': laneKey.name },
        ExpressionAttributeValues: { ':lane': STOCK_VECTOR_LANE },
        Limit: limit,
      }),
    );
    return Items.map((item) => keyIdOf(keyPrefixes.stockVector, item));
  }

  /** Folds shard images into their snapshot groups without composing a snapshot (the product is not there yet). */
  async foldShardImages(sku: string, images: readonly ShardImage[]): Promise<void> {
    await Promise.all([...bySnapshotGroup(images)].map(([group, batch]) => this.foldIntoGroup(sku, group, batch)));
  }

  /**
   * The stock view's item: a list of numbers, a few bytes a shard, so one
   * eventually consistent read costs half a read unit for up to hundreds of
   * shards. Kept only when newer, so a late relay never rolls it back.
   */
  private async writeStockVector(sku: string, version: number, available: readonly number[]): Promise<void> {
    try {
      await this.client.send(
        new PutCommand({
          TableName: this.tableName,
          // Listed in the expiry index under its own lane, for the sweeper's reconciliation. The index keys
          // never change on a rewrite, so the (keys-only) index is written once per SKU, not once per fold.
          Item: {
            ...keys.stockVector(sku),
            kind: 'stock-view',
            sku,
            version,
            available,
            [laneKey.name]: STOCK_VECTOR_LANE,
            [dueKey.name]: 0,
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

/**
 * What a failed transaction that moves a HELD reservation on means. Its first
 * item is the reservation (conditioned on its state), then one item per shard.
 */
function holdTransitionOutcome(error: unknown, sku: string, shardItems: number): EndHoldOutcome {
  const reasons = cancellationReasons(error);
  if (!reasons) {
    if (isContention(error)) return { kind: 'contended' };
    throw error;
  }
  if (failedCondition(reasons[0])) {
    const old = itemAtFailure(reasons[0]);
    return { kind: 'not-held', current: old && Object.keys(old).length > 0 ? toReservation(old) : undefined };
  }
  if (reasons.slice(1, 1 + shardItems).some(failedCondition)) {
    throw new LedgerInvariantError(sku);
  }
  return { kind: 'contended' };
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

function chunked<T>(items: readonly T[], size: number): T[][] {
  return Array.from({ length: Math.ceil(items.length / size) }, (_, index) =>
    items.slice(index * size, (index + 1) * size),
  );
}
