/**
 * Refunds a hold owes. The rules that keep money right around a hold:
 *
 * - A checkout may charge only after it has cleared the charge on the hold
 *   (a conditional write that needs the hold HELD and not due).
 * - A hold that ends unsold (RELEASED or EXPIRED) after a clearance records
 *   an owed refund in the transaction that ends it. Confirming and ending are
 *   exclusive conditions on the same item, so an order can never stand on a
 *   charge that is refunded, and a refund can never be lost between "hold
 *   ended" and "refund done": it is durable work, retried until the provider
 *   confirms it.
 * - "Nothing was charged" closes an owed refund only once the charge window
 *   has passed: a checkout cleared just before the hold ended may still be
 *   calling the provider.
 */
import { type Backoff, backoffCeilingMs } from '../../contract/retries';
import { chargeKeyFor, type OwedRefund, type Reservation } from './model';
import type { Clock, InventoryStore, PaymentProvider, RefundOwed } from './ports';

/**
 * How long after its clearance a checkout may still make its charge. The
 * checkout function's timeout (10 s, and API Gateway's 29 s integration
 * limit) ends every call well inside it; the payment adapter must time out
 * sooner too.
 */
export const CHARGE_WINDOW_MS = 60_000;

/** An owed refund still open after this long is overdue: an operator is told (metric RefundOverdue). */
export const REFUND_OVERDUE_MS = 15 * 60_000;

/** Retry spacing for a refund the provider failed: doubling from 1 s, at most 5 minutes apart. */
const REFUND_BACKOFF: Backoff = { backoffBaseMs: 1000, backoffCapMs: 5 * 60_000 };

export interface RefundsDeps {
  readonly store: InventoryStore;
  readonly payments: Pick<PaymentProvider, 'refundFor'>;
  readonly clock: Clock;
}

export type SettleOutcome =
  | 'none'
  | 'refunded'
  | 'nothing-charged'
  /** Still owed: the charge window is open, or the provider failed (`failed`). */
  | 'pending';

export interface SettleResult {
  readonly outcome: SettleOutcome;
  readonly failed: boolean;
  readonly overdue: boolean;
}

export interface SweepReport {
  readonly refunded: number;
  readonly closed: number;
  readonly pending: number;
  readonly failed: number;
  readonly overdue: number;
}

export class Refunds {
  constructor(private readonly deps: RefundsDeps) {}

  /** The refund a hold owes if it ends now, unsold. */
  owedBy(reservation: Reservation): RefundOwed | undefined {
    if (reservation.lastChargeAttemptAtMs === undefined) return undefined;
    return {
      chargeKey: chargeKeyFor(reservation.reservationId),
      chargeWindowEndsAtMs: reservation.lastChargeAttemptAtMs + CHARGE_WINDOW_MS,
    };
  }

  /**
   * One attempt at the refund a hold owes. Never throws for the provider's
   * faults: the refund stays owed and is tried again later.
   */
  async settle(reservationId: string): Promise<SettleResult> {
    const refund = await this.deps.store.getRefund(reservationId);
    if (refund?.status !== 'OWED') return { outcome: 'none', failed: false, overdue: false };
    return this.attempt(refund);
  }

  /** Settles every owed refund that is due, oldest first. */
  async settleDue(batchSize = 100): Promise<SweepReport> {
    const due = await this.deps.store.listDueRefunds(this.deps.clock.now(), batchSize);
    const results = await Promise.allSettled(due.map((id) => this.settle(id)));
    const report = { refunded: 0, closed: 0, pending: 0, failed: 0, overdue: 0 };
    for (const result of results) {
      if (result.status === 'rejected') {
        report.failed++;
        continue;
      }
      const { outcome, failed, overdue } = result.value;
      if (outcome === 'refunded') report.refunded++;
      if (outcome === 'nothing-charged') report.closed++;
      if (outcome === 'pending') report.pending++;
      if (failed) report.failed++;
      if (overdue) report.overdue++;
    }
    return report;
  }

  private async attempt(refund: OwedRefund): Promise<SettleResult> {
    const overdue = () => this.deps.clock.now() - refund.owedSinceMs > REFUND_OVERDUE_MS;
    let answer: 'refunded' | 'nothing-charged';
    try {
      answer = await this.deps.payments.refundFor(refund.chargeKey);
    } catch {
      const attempts = refund.attempts + 1;
      const backoff = backoffCeilingMs(attempts, REFUND_BACKOFF);
      await this.deps.store.rescheduleRefund(refund.reservationId, this.deps.clock.now() + backoff, attempts);
      return { outcome: 'pending', failed: true, overdue: overdue() };
    }
    const now = this.deps.clock.now();
    if (answer === 'refunded') {
      await this.deps.store.closeRefund(refund.reservationId, 'REFUNDED', now);
      return { outcome: 'refunded', failed: false, overdue: false };
    }
    if (now >= refund.chargeWindowEndsAtMs) {
      await this.deps.store.closeRefund(refund.reservationId, 'NOTHING_CHARGED', now);
      return { outcome: 'nothing-charged', failed: false, overdue: false };
    }
    // A checkout cleared before the hold ended may still charge: look again when its window closes.
    await this.deps.store.rescheduleRefund(refund.reservationId, refund.chargeWindowEndsAtMs, refund.attempts);
    return { outcome: 'pending', failed: false, overdue: overdue() };
  }
}
