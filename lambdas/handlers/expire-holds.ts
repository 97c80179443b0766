// (schedule) --> expire due holds, settle owed refunds, publish replicated snapshots, reconcile snapshots --> DynamoDB, payment provider, SNS FIFO
import { setTimeout as sleep } from 'node:timers/promises';
import { getNumberFromEnv } from '@aws-lambda-powertools/commons/utils/env';
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import type { Context } from 'aws-lambda';
import { envVars } from '../../contract/env-vars';
import { metricNames } from '../../contract/metrics';
import { RECONCILE_EVERY_MS } from '../domain/outbox';
import { inventory, refunds, snapshots } from '../shared/composition';
import { eventHandler } from '../shared/event-handler';
import { logger } from '../shared/powertools/logger';
import { metrics } from '../shared/powertools/metrics';
import { stopTimeOf } from '../shared/stop-time';

/**
 * Schedules fire at most once a minute on AWS, and a hold should come back
 * within about a second of its expiry: one invocation sweeps every second for
 * this long. Locally the runtime calls the function every second (0 = one sweep).
 */
const SWEEP_FOR_MS = getNumberFromEnv({ key: envVars.sweepForSeconds, defaultValue: 0 }) * 1000;
const SWEEP_EVERY_MS = 1000;
/** How long one sweep's expiries may run before the sweep's other steps get their turn. */
const EXPIRY_SLICE_MS = 5000;

export interface SweepSummary {
  readonly expired: number;
  readonly sweeps: number;
  /** Holds whose expiry failed: skipped and deferred, each reported (metric HoldExpiryFailed). */
  readonly poisonHolds: number;
  readonly refunded: number;
  /** Owed refunds older than their bound after this sweep's attempt (metric RefundOverdue). */
  readonly refundsOverdue: number;
  /** SKUs whose snapshot was rebuilt from their shards. */
  readonly reconciled: number;
  /** Replicated SKUs' snapshots published (at most one per SKU per sweep). */
  readonly replicatedPublished: number;
  /**
   * The stop time (10 s before the timeout) came while expiries were still due, or before a later sweep's
   * steps were done: work may be left for the next invocation. A timeout shorter than the sweeping time
   * only shortens the sweeping; it is not this.
   */
  readonly stoppedEarly: boolean;
}

/** When this execution environment last reconciled the snapshots. */
let reconciledAt = 0;

export async function expireHolds(
  _event: unknown,
  context: Pick<Context, 'getRemainingTimeInMillis'>,
): Promise<SweepSummary> {
  const stopAfter = stopTimeOf(context);
  const until = Math.min(Date.now() + SWEEP_FOR_MS, stopAfter);
  const summary = {
    expired: 0,
    sweeps: 0,
    poisonHolds: 0,
    refunded: 0,
    refundsOverdue: 0,
    reconciled: 0,
    replicatedPublished: 0,
    stoppedEarly: false,
  };
  do {
    const started = Date.now();
    // The first sweep runs every step, however late: owed refunds (and the alarm on overdue ones) and the
    // replicated SKUs' snapshots are never starved by a backlog of expiries. Later sweeps skip what the
    // stop time leaves no room for; each step stops between its own pieces at the stop time.
    const first = summary.sweeps === 0;
    const late = () => !first && Date.now() >= stopAfter;
    // Expiry first: it is what gives units back to the drop. A backlog gets a slice of each sweep, so the
    // steps after it still run about every EXPIRY_SLICE_MS.
    const sweep = await inventory.expireDueHolds(undefined, Math.min(stopAfter, started + EXPIRY_SLICE_MS));
    summary.expired += sweep.expired;
    summary.poisonHolds += sweep.failed.length;
    if (sweep.stopped && Date.now() >= stopAfter) summary.stoppedEarly = true;
    for (const reservationId of sweep.failed) logger.error('Hold expiry failed; deferred', { reservationId });
    if (!late()) {
      const settled = await refunds.settleDue();
      summary.refunded += settled.refunded;
      summary.refundsOverdue += settled.overdue;
      if (settled.failed > 0) logger.warn('Refunds still owed after a failed attempt', { ...settled });
    }
    // The first sweep's steps run whole; a later sweep's stop between SKUs at the stop time.
    const stepsStopAt = first ? Number.POSITIVE_INFINITY : stopAfter;
    if (!late()) {
      // A replicated SKU is published here, once a second, rather than by every relay batch.
      summary.replicatedPublished += await snapshots
        .publishReplicated(undefined, stepsStopAt)
        .catch((error: unknown) => {
          logger.warn('Publishing replicated snapshots failed', {
            errorName: error instanceof Error ? error.name : 'unknown',
          });
          return 0;
        });
    }
    if (!late() && started - reconciledAt >= RECONCILE_EVERY_MS) {
      // A failed reconciliation never stops expiry: the next one, RECONCILE_EVERY_MS later, tries again. A
      // SKU's own failure is reported by the reconciliation (composition.ts); this is the listing's.
      summary.reconciled += await snapshots.reconcile(undefined, stepsStopAt).catch((error: unknown) => {
        metrics.addMetric(metricNames.reconcileFailed, MetricUnit.Count, 1);
        logger.warn('Snapshot reconciliation failed', { errorName: error instanceof Error ? error.name : 'unknown' });
        return 0;
      });
      // One the stop time may have cut short is tried again at the next sweep, not RECONCILE_EVERY_MS later.
      if (!late()) reconciledAt = started;
    }
    // Past the stop time after a later sweep, a step was skipped or stopped between its pieces.
    if (late()) summary.stoppedEarly = true;
    summary.sweeps++;
    if (Date.now() >= stopAfter) break;
    const next = started + SWEEP_EVERY_MS;
    if (next >= until) break;
    await sleep(next - Date.now());
  } while (Date.now() < until);
  metrics.addMetric(metricNames.holdsExpired, MetricUnit.Count, summary.expired);
  metrics.addMetric(metricNames.holdExpiryFailed, MetricUnit.Count, summary.poisonHolds);
  metrics.addMetric(metricNames.refundsSettled, MetricUnit.Count, summary.refunded);
  metrics.addMetric(metricNames.refundOverdue, MetricUnit.Count, summary.refundsOverdue);
  if (summary.stoppedEarly) logger.warn('Sweeping stopped at the stop time with work left', { ...summary });
  else if (summary.expired > 0 || summary.refunded > 0) logger.info('Swept due holds and owed refunds', { ...summary });
  return summary;
}

export const handler = eventHandler(expireHolds);
