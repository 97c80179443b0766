/**
 * A stand-in payment service with a real service's contract: charges are
 * idempotent per key (a repeat returns the first charge, as with Stripe's
 * Idempotency-Key), declines record nothing, refunds are idempotent. It keeps
 * its ledger in the inventory table so every execution environment sees it.
 * `tok_decline` is declined; any other non-empty token is accepted.
 */
import { createHash } from 'node:crypto';
import { type DynamoDBDocumentClient, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { keyPrefixes } from '../../contract/inventory-table';
import type { ChargeOutcome, PaymentProvider } from '../domain/ports';
import { isConditionFailed, itemAtFailure } from './aws-faults';

export const DECLINED_TOKEN = 'tok_decline';

export class SimulatedPaymentProvider implements PaymentProvider {
  constructor(
    private readonly client: DynamoDBDocumentClient,
    private readonly tableName: string,
  ) {}

  async charge(request: {
    idempotencyKey: string;
    amountCents: number;
    currency: string;
    token: string;
  }): Promise<ChargeOutcome> {
    if (request.token === DECLINED_TOKEN || request.token.length === 0) return { kind: 'declined' };
    const chargeId = chargeIdFor(request.idempotencyKey);
    try {
      await this.client.send(
        new PutCommand({
          TableName: this.tableName,
          Item: {
            pk: `${keyPrefixes.charge}${chargeId}`,
            kind: 'charge',
            chargeId,
            idempotencyKey: request.idempotencyKey,
            amountCents: request.amountCents,
            currency: request.currency,
            refunded: false,
            chargedAt: new Date().toISOString(),
          },
          ConditionExpression: 'attribute_not_exists(pk)',
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        }),
      );
    } catch (error) {
      if (!isConditionFailed(error)) throw error;
      // The same key was charged before: that charge, as it was made, is the answer.
      const first = itemAtFailure(error) ?? {};
      return {
        kind: 'charged',
        chargeId,
        amountCents: Number(first.amountCents),
        currency: String(first.currency),
      };
    }
    return { kind: 'charged', chargeId, amountCents: request.amountCents, currency: request.currency };
  }

  async refundFor(idempotencyKey: string): Promise<'refunded' | 'nothing-charged'> {
    try {
      await this.client.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { pk: `${keyPrefixes.charge}${chargeIdFor(idempotencyKey)}` },
          // Counted only on the change from unrefunded: `refunds` can never pass 1.
          UpdateExpression: 'SET refunded = :yes, refundedAt = :now ADD refunds :one',
          ConditionExpression: 'attribute_exists(pk) AND refunded = :no',
          ExpressionAttributeValues: { ':yes': true, ':no': false, ':one': 1, ':now': new Date().toISOString() },
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        }),
      );
      return 'refunded';
    } catch (error) {
      if (!isConditionFailed(error)) throw error;
      const old = itemAtFailure(error);
      return old && Object.keys(old).length > 0 ? 'refunded' : 'nothing-charged';
    }
  }
}

const chargeIdFor = (idempotencyKey: string) =>
  `ch_${createHash('sha256').update(idempotencyKey).digest('base64url').slice(0, 24)}`;
