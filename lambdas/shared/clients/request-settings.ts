/**
 * How every AWS client of the functions waits for an answer and retries.
 *
 * The SDK's HTTP handler sets no timeout of its own: a request whose answer
 * is lost (a dropped connection after DynamoDB committed, a stalled socket)
 * waits until Lambda ends the invocation, and API Gateway then answers 502 —
 * not the contract's 503 + Retry-After, which needs the function to see the
 * failure while it still has time to answer. Each attempt is therefore
 * bounded, and since `@smithy/node-http-handler` 4.4 a `requestTimeout`
 * only logs a warning unless `throwOnRequestTimeout` is set. Client-side
 * timeouts are the caller's to tune ("Understanding Amazon DynamoDB
 * latency", AWS Database Blog,
 * https://aws.amazon.com/blogs/database/understanding-amazon-dynamodb-latency/;
 * "Tuning AWS Java SDK HTTP request settings for latency-aware Amazon
 * DynamoDB applications", same blog).
 *
 * DynamoDB answers in milliseconds, so an attempt still unanswered after
 * two seconds is lost, not slow. The SDK's standard retry mode sends a
 * timed-out request again (a timeout is a transient error) up to
 * `maxAttempts` times with a backoff under a second each, so a lost answer
 * costs at most about 3 × 2 s + 1 s before the function answers 503 —
 * under the 10 s the API's functions are given (`test/infra` checks it).
 */
export const ATTEMPT_TIMEOUT_MS = 2_000;
export const CONNECTION_TIMEOUT_MS = 1_000;
export const MAX_ATTEMPTS = 3;

/** The settings each client is built with. */
export const requestSettings = {
  maxAttempts: MAX_ATTEMPTS,
  requestHandler: {
    connectionTimeout: CONNECTION_TIMEOUT_MS,
    requestTimeout: ATTEMPT_TIMEOUT_MS,
    throwOnRequestTimeout: true,
  },
} as const;
