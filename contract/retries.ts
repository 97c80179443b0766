/**
 * How a use case retries a transaction that lost a race (a write conflict, a
 * shard that turned out short): the budget the domain spends and the one
 * capacity planning models, so a plan sizes what the code does.
 */
export const contentionRetries = {
  /** Tries per reservation, restock or checkout step before the answer is BUSY. */
  maxAttempts: 12,
  /**
   * The longest a reservation or checkout keeps trying (ms from its start): a contended try that ends past
   * it is the last, and the answer is BUSY. Conflicts back off in milliseconds and never come near it;
   * DynamoDB throttling does: the SDK retries each throttled call itself, with backoffs of up to seconds,
   * and twelve such calls outlast the function's 10 s, which then ends without an answer of its own (nor a
   * count of the refusal for the waiting room's controller). The try under way when the budget runs out
   * still takes what its calls take (each bounded by `awsCallLimits`).
   */
  budgetMs: 3_000,
  /** Full-jitter backoff: a random wait under min(cap, base × 2^attempt). */
  backoffBaseMs: 10,
  backoffCapMs: 200,
} as const;

/** An exponential backoff: the first wait's ceiling, doubling per attempt up to the cap. */
export interface Backoff {
  readonly backoffBaseMs: number;
  readonly backoffCapMs: number;
}

/** The longest wait before retry `attempt` (from 0): min(cap, base × 2^attempt). */
export function backoffCeilingMs(attempt: number, backoff: Backoff = contentionRetries): number {
  return Math.min(backoff.backoffCapMs, backoff.backoffBaseMs * 2 ** attempt);
}

/** Full jitter: a random wait under the ceiling, so requests that collided once spread apart. */
export function jitteredBackoffMs(attempt: number, backoff: Backoff = contentionRetries): number {
  return Math.random() * backoffCeilingMs(attempt, backoff);
}

/**
 * The message of API Gateway's THROTTLED gateway response (lib/constructs/drop-api.ts): a request refused
 * before any function ran, which a client may send again as it was. A function's own 429 THROTTLED (DynamoDB
 * throttled it) says to retry with the same Idempotency-Key instead.
 */
export const GATEWAY_THROTTLED_MESSAGE = 'Too many requests; retry shortly';

/**
 * How each of the functions' AWS clients bounds one call (`lambdas/shared/clients/request-settings.ts`
 * says why): an attempt fails when its connection is not open within `connectionTimeoutMs` or then stays
 * silent for `attemptTimeoutMs`, and the SDK tries `maxAttempts` times in all.
 */
export const awsCallLimits = { attemptTimeoutMs: 2_000, connectionTimeoutMs: 500, maxAttempts: 3 } as const;
