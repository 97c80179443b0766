/**
 * The origin's load, as the waiting room's controller measures it: reservation attempts that came through
 * the room (an admission it signed for the SKU, judged with the signing keys the environment has already
 * read) and that the origin shed (the function's own 429 BUSY or THROTTLED, or 503 UNAVAILABLE, because
 * DynamoDB throttled, transactions kept conflicting or a dependency failed), counted per SKU, whether the
 * refusal came before the admission was checked (the product's read throttled) or after. Attempts without
 * such an admission (a drop without a room, a made-up SKU in the path) are not the room's news and are not
 * counted; nor are those an environment refuses before it has ever read the keys. What the stock path
 * takes shows how fast units go; it cannot show that admitted shoppers are being turned away for load,
 * which is when the boundary must not let more in. Not counted: API Gateway's own throttle and Lambda's (those never reach the function),
 * and a function that ran to its timeout.
 *
 * Each execution environment counts its refusals in memory and adds them to the SKU's count at most once a
 * second, on a reservation request of its own, in parallel writes bounded in time (a write the store
 * refused keeps its count for the next try; one given up after it was sent does not, since it may have been
 * applied; neither changes an answer). Counts an environment kept longer than
 * `SHED_STALE_MS` (it served nothing since) are dropped: written late they would read as shedding now.
 */
import type { Clock } from './ports';

/** The SKU's shed count, kept where every environment adds to it and the controller reads it. */
export interface ShedCounts {
  /**
   * Adds `count` refusals to the SKU's count. Fails with `ShedCountNotWritten` when the store refused the
   * write (nothing was added); any other failure may have added it.
   */
  add(sku: string, count: number): Promise<void>;
  /** Refusals ever counted for the SKU (0 before the first). */
  total(sku: string): Promise<number>;
}

/** A write the store refused: nothing was added, and the count may go with the next write. */
export class ShedCountNotWritten extends Error {
  constructor(cause: unknown) {
    super('The shed count was not written', { cause });
    this.name = 'ShedCountNotWritten';
  }
}

/** At most one round of writes a second per environment. */
export const SHED_FLUSH_MS = 1_000;
/** Counts older than this are news of load that has passed: dropped, not written. */
export const SHED_STALE_MS = 5_000;
/**
 * SKUs an environment counts between writes: a bound on the map and on the writes of the next flush. Only
 * attempts with an admission signed for their SKU are counted, so only drops with a room come here, a
 * handful; refusals for further SKUs are not counted until the next write.
 */
export const MAX_PENDING_SKUS = 8;

export class ShedReporter {
  private readonly pending = new Map<string, number>();
  private flushedAt = Number.NEGATIVE_INFINITY;
  /** When the oldest count not yet written was made. */
  private pendingSince = 0;

  constructor(
    private readonly counts: Pick<ShedCounts, 'add'>,
    private readonly clock: Clock,
    private readonly onError: (error: unknown) => void = () => {},
  ) {}

  /** One attempt for the SKU was refused for load. */
  shed(sku: string): void {
    const now = this.clock.now();
    // Counts kept past the stale age go; this refusal begins a new batch rather than share their fate.
    if (this.pending.size > 0 && now - this.pendingSince > SHED_STALE_MS) this.pending.clear();
    const counted = this.pending.get(sku);
    if (counted === undefined && this.pending.size >= MAX_PENDING_SKUS) return;
    if (this.pending.size === 0) this.pendingSince = now;
    this.pending.set(sku, (counted ?? 0) + 1);
  }

  /** Adds what was counted since the last write, when there is any and a second has passed since it. */
  async flushIfDue(): Promise<void> {
    const now = this.clock.now();
    if (this.pending.size === 0 || now - this.flushedAt < SHED_FLUSH_MS) return;
    const batch = [...this.pending];
    this.pending.clear();
    if (now - this.pendingSince > SHED_STALE_MS) return;
    this.flushedAt = now;
    const since = this.pendingSince;
    await Promise.all(
      batch.map(async ([sku, count]) => {
        try {
          await this.counts.add(sku, count);
        } catch (error) {
          this.onError(error);
          // A write that may have been applied (given up after it was sent) is not sent again: counted
          // twice, refusals would read as more shedding than there was.
          if (!(error instanceof ShedCountNotWritten)) return;
          // Kept for the next write: a count the controller reads a second late still says the origin sheds.
          this.pendingSince = this.pending.size === 0 ? since : Math.min(this.pendingSince, since);
          this.pending.set(sku, (this.pending.get(sku) ?? 0) + count);
        }
      }),
    );
  }
}
