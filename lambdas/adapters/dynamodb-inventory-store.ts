/**
 * The inventory store on DynamoDB. Every state change is one
 * `TransactWriteItems` whose conditions are the rules it protects, so no
 * interleaving of requests, retries or sweepers can break the ledger.
 */

import { randomInt } from 'node:crypto';
import {
  type DynamoDBDocumentClient,
  GetCommand,
  QueryCommand,
  ScanCommand,
  TransactWriteCommand,
  UpdateCommand,
  type UpdateCommandInput,
} from '@aws-sdk/lib-dynamodb';
import type { DropState } from '../../contract/drops';
import { inventoryTable, keyPrefixes } from '../../contract/inventory-table';
import { PRODUCT_REPLICAS, replicaFor } from '../../contract/stock-view';
import { LedgerInvariantError, ProductCreationConflictError } from '../domain/errors';
import type {
  Order,
  OrderStatus,
  OwedRefund,
  Product,
  RefundStatus,
  Reservation,
  ReservationStatus,
  ShardCounts,
} from '../domain/model';
import { emptyCounts } from '../domain/model';
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
import { batchGetByPk, chunked } from './dynamodb-batches';
import {
  holdLane,
  type Item,
  keyIdOf,
  keys,
  laneName,
  laneQuery,
  REFUND_LANE,
  type ShardCounter,
  shardUpdate,
  type TransactItem,
  toCounts,
  toIdempotencyRecord,
  toOrder,
  toProduct,
  toRefund,
  toReservation,
  VIEW_REPLICAS_LANE,
} from './dynamodb-inventory-items';

const IDEMPOTENCY_RECORD_TTL_SECONDS = 24 * 60 * 60;
const { partitionKey: laneKey, sortKey: dueKey } = inventoryTable.holdsByExpiryIndex;

/**
 * "TransactWriteItems is a synchronous write operation that groups up to 100 action requests [...] The
 * aggregate size of the items in the transaction cannot exceed 4 MB" (DynamoDB API Reference,
 * https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_TransactWriteItems.html).
 */
const TRANSACT_WRITE_ACTIONS = 100;

/** Shard updates per transaction: one of its actions is the record that guards it. */
const SHARDS_PER_TRANSACTION = TRANSACT_WRITE_ACTIONS - 1;

/** Updates of a product that lose the race to another update of it before they give up. */
const MAX_PRODUCT_UPDATE_ATTEMPTS = 5;

export class DynamoDbInventoryStore implements InventoryStore, OutboxReader {
  /** Products created before they had replicas: this environment reads their product item itself. */
  private readonly unreplicated = new Set<string>();

  /**
   * @param replicaSeed picks the replica of each hot item this store reads: one per execution
   * environment, so the environments of a drop spread over the replicas. @default a random seed
   */
  constructor(
    private readonly client: DynamoDBDocumentClient,
    private readonly tableName: string,
    private readonly replicaSeed: number = randomInt(2 ** 31),
  ) {}

  /**
   * Strongly consistent reads go to the product item; eventually consistent ones (the hot path) to
   * this environment's replica of it, written in the same transaction as the product.
   */
  async getProduct(sku: string, options = { consistent: true }): Promise<Product | undefined> {
    if (!options.consistent && !this.unreplicated.has(sku)) {
      const replica = replicaFor(this.replicaSeed, PRODUCT_REPLICAS);
      const { Item } = await this.client.send(
        new GetCommand({ TableName: this.tableName, Key: keys.product(sku, replica), ConsistentRead: false }),
      );
      if (Item) return toProduct(Item);
    }
    const { Item } = await this.client.send(
      new GetCommand({ TableName: this.tableName, Key: keys.product(sku), ConsistentRead: options.consistent }),
    );
    if (Item && Item.productReplicas === undefined) this.unreplicated.add(sku);
    return Item ? toProduct(Item) : undefined;
  }

  async readStockVector(sku: string, replicas: number): Promise<readonly number[] | undefined> {
    const replica = replicaFor(this.replicaSeed, replicas);
    const { Item } = await this.client.send(
      new GetCommand({ TableName: this.tableName, Key: keys.stockVector(sku, replica), ConsistentRead: false }),
    );
    return Array.isArray(Item?.available) ? Item.available.map(Number) : undefined;
  }

  async createProduct(
    product: Product,
    stockPerShard: readonly number[],
    claim?: ProductPutClaim,
  ): Promise<'created' | 'exists' | 'duplicate'> {
    const now = new Date().toISOString();
    const root = {
      ...keys.product(product.sku),
      kind: 'product',
      ...product,
      productReplicas: PRODUCT_REPLICAS,
      revision: 0,
      createdAt: now,
      updatedAt: now,
      // Listed for the sweeper, which rewrites a replicated stock vector once a second.
      ...(product.viewReplicas > 1 ? { [laneKey.name]: VIEW_REPLICAS_LANE, [dueKey.name]: 0 } : {}),
    };
    const productItems = 1 + PRODUCT_REPLICAS + (claim ? 1 : 0);
    const wide = stockPerShard.length + productItems > TRANSACT_WRITE_ACTIONS;
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
            { Put: { TableName: this.tableName, Item: root, ConditionExpression: 'attribute_not_exists(pk)' } },
            ...this.productReplicas(root),
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

  /**
   * Updates the product and rewrites its replicas from it, in one transaction that commits only on
   * the product as read (its `revision`, which every update moves on): two updates racing each other
   * cannot leave the replicas with another product than the one they copy. The loser reads again and
   * retries.
   */
  async updateProduct(sku: string, changes: ProductChanges, claim?: ProductPutClaim): Promise<Product | 'duplicate'> {
    const outcome = await this.rewriteProduct(sku, () => ({ ...changes }), claim);
    return outcome === 'duplicate' ? outcome : outcome.product;
  }

  async changeDropState(
    sku: string,
    state: DropState,
    allowed: (current: DropState) => boolean,
  ): Promise<{ readonly product: Product; readonly changed: boolean }> {
    const outcome = await this.rewriteProduct(sku, (current) =>
      current.dropState === state || !allowed(current.dropState) ? undefined : { dropState: state },
    );
    if (outcome === 'duplicate') throw new Error('a drop-state change carries no claim');
    return outcome;
  }

  async changeWaitingRoom(sku: string, on: boolean): Promise<Product> {
    const outcome = await this.rewriteProduct(sku, (current) =>
      current.waitingRoom === on ? undefined : { waitingRoom: on },
    );
    if (outcome === 'duplicate') throw new Error('a waiting-room change carries no claim');
    return outcome.product;
  }

  /**
   * `changesFor` sees the product as read on each attempt and names the fields to set, or nothing to leave it
   * as it is.
   */
  private async rewriteProduct(
    sku: string,
    changesFor: (current: Product) => Readonly<Record<string, unknown>> | undefined,
    claim?: ProductPutClaim,
  ): Promise<{ readonly product: Product; readonly changed: boolean } | 'duplicate'> {
    for (let attempt = 1; ; attempt++) {
      const { Item: current } = await this.client.send(
        new GetCommand({ TableName: this.tableName, Key: keys.product(sku), ConsistentRead: true }),
      );
      if (!current) throw new Error(`Product ${sku} vanished before its update`);
      const changes = changesFor(toProduct(current));
      if (!changes) return { product: toProduct(current), changed: false };
      const fields = Object.entries({ ...changes, productReplicas: PRODUCT_REPLICAS }).filter(
        ([, value]) => value !== undefined,
      );
      const seen = current.revision === undefined ? undefined : Number(current.revision);
      const next = {
        ...current,
        ...Object.fromEntries(fields),
        revision: (seen ?? 0) + 1,
        updatedAt: new Date().toISOString(),
      };
      const update: TransactItem = {
        Update: {
          TableName: this.tableName,
          Key: keys.product(sku),
          UpdateExpression: `SET ${[
            ...fields.map((_, index) => `#f${index} = :v${index}`),
            '#revision = :revision',
            '#updatedAt = :updatedAt',
          ].join(', ')}`,
          // Only on the product as read: the revision it had, or none for a product written before revisions.
          ConditionExpression:
            seen === undefined ? 'attribute_exists(pk) AND attribute_not_exists(#revision)' : '#revision = :seen',
          ExpressionAttributeNames: {
            ...Object.fromEntries(fields.map(([name], index) => [`#f${index}`, name])),
            '#revision': 'revision',
            '#updatedAt': 'updatedAt',
          },
          ExpressionAttributeValues: {
            ...Object.fromEntries(fields.map(([, value], index) => [`:v${index}`, value])),
            ':revision': next.revision,
            ':updatedAt': next.updatedAt,
            ...(seen === undefined ? {} : { ':seen': seen }),
          },
        },
      };
      try {
        await this.client.send(
          new TransactWriteCommand({
            TransactItems: [
              update,
              ...this.productReplicas(next),
              ...(claim ? [this.claimProductPut(sku, claim)] : []),
            ],
          }),
        );
        return { product: toProduct(next), changed: true };
      } catch (error) {
        const reasons = cancellationReasons(error);
        if (claim && failedCondition(reasons?.at(-1))) return 'duplicate';
        if (failedCondition(reasons?.[0]) && attempt < MAX_PRODUCT_UPDATE_ATTEMPTS) continue;
        throw error;
      }
    }
  }

  /** The product's copies for the hot path's reads: its settings, never its place in an index. */
  private productReplicas(product: Item): TransactItem[] {
    const { [laneKey.name]: _lane, [dueKey.name]: _due, ...settings } = product;
    return Array.from({ length: PRODUCT_REPLICAS }, (_, replica) => ({
      Put: {
        TableName: this.tableName,
        Item: { ...settings, ...keys.product(String(product.sku), replica), kind: 'product-replica' },
      },
    }));
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
    const stockKeys = Array.from({ length: shards }, (_, shard) => keys.stock(sku, shard));
    const byPk = await batchGetByPk(this.client, this.tableName, stockKeys, options.consistent);
    return stockKeys.map((key) => {
      const item = byPk.get(key.pk);
      return item ? toCounts(item) : emptyCounts;
    });
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
    // Only on the hold as read: a checkout cleared meanwhile changes what the end owes.
    const when = [clearedAsRead(reservation), ...(ending === 'EXPIRED' ? [dueAt(nowMs)] : [])];
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
            this.leaveHeld(reservation.reservationId, { to: ending, nowMs, when }),
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
    const stillHeld = conditionOf([isHeld, notDueAt(nowMs)]);
    try {
      const { Attributes } = await this.client.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: keys.reservation(reservationId),
          // `:nowMs` is the condition's own value: the clearance is stamped with the instant it was checked at.
          UpdateExpression: 'SET #lastCharge = :nowMs',
          ...stillHeld,
          ExpressionAttributeNames: { ...stillHeld.ExpressionAttributeNames, '#lastCharge': 'lastChargeAttemptAtMs' },
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
      lanes.map((lane) => this.client.send(new QueryCommand(laneQuery(this.tableName, lane, limit, nowMs)))),
    );
    return pages
      .flatMap((page) => page.Items ?? [])
      .sort((a, b) => Number(a[dueKey.name]) - Number(b[dueKey.name]))
      .slice(0, limit)
      .map((item) => keyIdOf(keyPrefixes.reservation, item));
  }

  async deferHold(reservationId: string, untilMs: number): Promise<void> {
    await this.updateIf({
      TableName: this.tableName,
      Key: keys.reservation(reservationId),
      UpdateExpression: 'SET #due = :until',
      ConditionExpression: '#status = :held AND attribute_exists(#lane)',
      ExpressionAttributeNames: { '#due': dueKey.name, '#status': 'status', '#lane': laneKey.name },
      ExpressionAttributeValues: { ':until': untilMs, ':held': 'HELD' satisfies ReservationStatus },
    });
  }

  async confirmHold(reservation: Reservation, order: Order, nowMs: number): Promise<EndHoldOutcome> {
    const sellUnits = allocationEntries(reservation.allocation).map(([shard, units]) =>
      shardUpdate(this.tableName, reservation.sku, shard, units, { from: 'held', add: ['sold'] }),
    );
    try {
      await this.client.send(
        new TransactWriteCommand({
          TransactItems: [
            this.leaveHeld(reservation.reservationId, {
              to: 'CONFIRMED',
              nowMs,
              set: { orderId: order.orderId },
              when: [notDueAt(nowMs)],
            }),
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
    return this.updateIf({
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
    });
  }

  async getRefund(reservationId: string): Promise<OwedRefund | undefined> {
    const { Item } = await this.client.send(
      new GetCommand({ TableName: this.tableName, Key: keys.refund(reservationId), ConsistentRead: true }),
    );
    return Item ? toRefund(Item) : undefined;
  }

  async listDueRefunds(nowMs: number, limit: number): Promise<string[]> {
    const { Items = [] } = await this.client.send(
      new QueryCommand(laneQuery(this.tableName, REFUND_LANE, limit, nowMs)),
    );
    return Items.map((item) => keyIdOf(keyPrefixes.refund, item));
  }

  async closeRefund(reservationId: string, status: Exclude<RefundStatus, 'OWED'>, nowMs: number): Promise<boolean> {
    return this.updateIf({
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
    });
  }

  async rescheduleRefund(reservationId: string, nextAttemptAtMs: number, attempts: number): Promise<void> {
    await this.updateIf({
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
    });
  }

  /** Sends a conditional update: false when its condition did not hold (nothing was written). */
  private async updateIf(update: UpdateCommandInput): Promise<boolean> {
    try {
      await this.client.send(new UpdateCommand(update));
      return true;
    } catch (error) {
      if (isConditionFailed(error)) return false;
      throw error;
    }
  }

  /**
   * The update that moves a HELD reservation on and out of the expiry index:
   * to its new status, ended at `nowMs`, with the attributes `set`, on the
   * condition that it is HELD and every part of `when` holds. The hold as it
   * stood comes back when the condition fails.
   */
  private leaveHeld(
    reservationId: string,
    move: {
      readonly to: Exclude<ReservationStatus, 'HELD'>;
      readonly nowMs: number;
      readonly set?: Readonly<Record<string, unknown>>;
      readonly when: readonly ConditionPart[];
    },
  ): TransactItem {
    const extra = Object.entries(move.set ?? {});
    const condition = conditionOf([isHeld, ...move.when]);
    return {
      Update: {
        TableName: this.tableName,
        Key: keys.reservation(reservationId),
        UpdateExpression: `SET ${['#status = :to', '#endedAt = :endedAt', ...extra.map(([name]) => `#${name} = :${name}`)].join(', ')} REMOVE #lane, #due`,
        ConditionExpression: condition.ConditionExpression,
        ExpressionAttributeNames: {
          ...condition.ExpressionAttributeNames,
          '#endedAt': 'endedAt',
          '#lane': laneKey.name,
          '#due': dueKey.name,
          ...Object.fromEntries(extra.map(([name]) => [`#${name}`, name])),
        },
        ExpressionAttributeValues: {
          ...condition.ExpressionAttributeValues,
          ':to': move.to,
          ':endedAt': new Date(move.nowMs).toISOString(),
          ...Object.fromEntries(extra.map(([name, value]) => [`:${name}`, value])),
        },
        ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
      },
    };
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

/** One named part of a condition: its expression and the names and values it uses. */
interface ConditionPart {
  readonly expression: string;
  readonly names: Readonly<Record<string, string>>;
  readonly values?: Readonly<Record<string, unknown>>;
}

const isHeld: ConditionPart = {
  expression: '#status = :held',
  names: { '#status': 'status' },
  values: { ':held': 'HELD' satisfies ReservationStatus },
};

/** The hold's expiry has not come at `nowMs`. */
const notDueAt = (nowMs: number): ConditionPart => ({
  expression: '#expiresAtMs > :nowMs',
  names: { '#expiresAtMs': 'expiresAtMs' },
  values: { ':nowMs': nowMs },
});

/** The hold's expiry has come at `nowMs`. */
const dueAt = (nowMs: number): ConditionPart => ({
  expression: '#expiresAtMs <= :nowMs',
  names: { '#expiresAtMs': 'expiresAtMs' },
  values: { ':nowMs': nowMs },
});

/** No checkout was cleared to charge the hold since it was read (the same clearance, or none). */
const clearedAsRead = (reservation: Reservation): ConditionPart =>
  reservation.lastChargeAttemptAtMs === undefined
    ? { expression: 'attribute_not_exists(#lastCharge)', names: { '#lastCharge': 'lastChargeAttemptAtMs' } }
    : {
        expression: '#lastCharge = :lastCharge',
        names: { '#lastCharge': 'lastChargeAttemptAtMs' },
        values: { ':lastCharge': reservation.lastChargeAttemptAtMs },
      };

/** Parts that must all hold, as a request's condition. */
function conditionOf(parts: readonly ConditionPart[]) {
  return {
    ConditionExpression: parts.map((part) => part.expression).join(' AND '),
    ExpressionAttributeNames: Object.assign({}, ...parts.map((part) => part.names)) as Record<string, string>,
    ExpressionAttributeValues: Object.assign({}, ...parts.map((part) => part.values ?? {})) as Record<string, unknown>,
  };
}
