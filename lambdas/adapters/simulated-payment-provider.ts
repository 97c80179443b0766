/**
 * A stand-in payment service with a real service's contract: charges are
 * idempotent per key (a repeat returns the first charge, as with Stripe's
 * Idempotency-Key), declines record nothing, refunds are idempotent. It keeps
 * its ledger in the inventory table so every execution environment sees it.
 * `tok_decline` is declined; any other non-empty token is accepted.
 */
import { createHash } from 'node:crypto';
import { type DynamoDBDocumentClient, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { ChargeOutcome, PaymentProvider } from '../domain/ports';

export const DECLINED_TOKEN = 'tok_decline';

export class SimulatedPaymentProvider implements PaymentProvider {
  constructor(
    private readonly client: DynamoDBDocumentClient,
    private readonly tableName: string,
  ) {}

  async charge(request: { idempotencyKey: string; amountCents: number; token: string }): Promise<ChargeOutcome> {
    if (request.token === DECLINED_TOKEN || request.token.length === 0) return { kind: 'declined' };
    const chargeId = chargeIdFor(request.idempotencyKey);
    try {
      await this.client.send(
        new PutCommand({
          TableName: this.tableName,
          Item: {
            pk: `CHARGE#${chargeId}`,
            kind: 'charge',
            chargeId,
            idempotencyKey: request.idempotencyKey,
            amountCents: request.amountCents,
            refunded: false,
            chargedAt: new Date().toISOString(),
          },
          ConditionExpression: 'attribute_not_exists(pk)',
        }),
      );
    } catch (error) {
      // The same key was charged before: that charge is the answer.
      if (!(error instanceof Error) || error.name !== 'ConditionalCheckFailedException') throw error;
    }
    return { kind: 'charged', chargeId };
  }

  async refund(chargeId: string): Promise<void> {
    await this.client.send(
      new UpdateCommand({
        TableName: this.tableName,
        Key: { pk: `CHARGE#${chargeId}` },
        UpdateExpression: 'SET refunded = :yes, refundedAt = if_not_exists(refundedAt, :now)',
        ConditionExpression: 'attribute_exists(pk)',
        ExpressionAttributeValues: { ':yes': true, ':now': new Date().toISOString() },
      }),
    );
  }

  async refundFor(idempotencyKey: string): Promise<boolean> {
    try {
      await this.refund(chargeIdFor(idempotencyKey));
      return true;
    } catch (error) {
      if (error instanceof Error && error.name === 'ConditionalCheckFailedException') return false;
      throw error;
    }
  }
}

const chargeIdFor = (idempotencyKey: string) =>
  `ch_${createHash('sha256').update(idempotencyKey).digest('base64url').slice(0, 24)}`;
