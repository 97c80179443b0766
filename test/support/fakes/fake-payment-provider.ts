/**
 * The payment service in memory, with the contract the simulated provider
 * keeps (lambdas/adapters/simulated-payment-provider.ts) and a real one must:
 * one charge per idempotency key (a repeat answers the first charge as it was
 * made, whatever it asks, refunded or not), declines record nothing, and a
 * refund per key that is idempotent.
 */
import type { ChargeOutcome, PaymentProvider } from '../../../lambdas/domain/ports';
import { FaultPlan } from './faults';

export const DECLINED_TOKEN = 'tok_decline';

export interface RecordedCharge {
  readonly chargeId: string;
  readonly idempotencyKey: string;
  readonly amountCents: number;
  readonly currency: string;
  readonly refunded: boolean;
}

type ChargeRequest = Parameters<PaymentProvider['charge']>[0];

export class FakePaymentProvider implements PaymentProvider {
  readonly faults = new FaultPlan<keyof PaymentProvider>();
  private readonly charges = new Map<string, RecordedCharge>();

  /** The charge made under `idempotencyKey`, if any. */
  chargeFor(idempotencyKey: string): RecordedCharge | undefined {
    return this.charges.get(idempotencyKey);
  }

  /** Every charge made, refunded or not. */
  allCharges(): RecordedCharge[] {
    return [...this.charges.values()];
  }

  async charge(request: ChargeRequest): Promise<ChargeOutcome> {
    await this.faults.enter('charge');
    const outcome = this.record(request);
    this.faults.leave('charge');
    return outcome;
  }

  async refundFor(idempotencyKey: string): Promise<'refunded' | 'nothing-charged'> {
    await this.faults.enter('refundFor');
    const charge = this.charges.get(idempotencyKey);
    if (charge) this.charges.set(idempotencyKey, { ...charge, refunded: true });
    this.faults.leave('refundFor');
    return charge ? 'refunded' : 'nothing-charged';
  }

  private record(request: ChargeRequest): ChargeOutcome {
    if (request.token === DECLINED_TOKEN || request.token.length === 0) return { kind: 'declined' };
    const first = this.charges.get(request.idempotencyKey);
    if (first) {
      return { kind: 'charged', chargeId: first.chargeId, amountCents: first.amountCents, currency: first.currency };
    }
    const chargeId = `ch_${this.charges.size + 1}`;
    this.charges.set(request.idempotencyKey, {
      chargeId,
      idempotencyKey: request.idempotencyKey,
      amountCents: request.amountCents,
      currency: request.currency,
      refunded: false,
    });
    return { kind: 'charged', chargeId, amountCents: request.amountCents, currency: request.currency };
  }
}
