/**
 * How a use case retries a transaction that lost a race (a write conflict, a
 * shard that turned out short): the budget the domain spends and the one
 * capacity planning models, so a plan sizes what the code does.
 */
export const contentionRetries = {
  /** Tries per reservation, restock or checkout step before the answer is BUSY. */
  maxAttempts: 12,
  /** Full-jitter backoff: a random wait under min(cap, base × 2^attempt). */
  backoffBaseMs: 10,
  backoffCapMs: 200,
} as const;
