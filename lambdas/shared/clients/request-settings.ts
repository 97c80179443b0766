/**
 * How every AWS client of the functions waits for an answer and retries.
 *
 * The SDK's HTTP handler sets no timeout of its own: a request whose answer
 * is lost (a dropped connection after DynamoDB committed, a stalled socket)
 * waits until Lambda ends the invocation, and API Gateway then answers 502 —
 * not the contract's 503 + Retry-After, which needs the function to see the
 * failure while it still has time to answer. So a connection that stays
 * silent for `ATTEMPT_TIMEOUT_MS` fails the attempt (`socketTimeout`: the
 * socket's inactivity, counted once the request has its socket). Not
 * `requestTimeout`: it counts from the moment the request is made, time
 * queued for a socket included — nothing on Lambda, where an environment
 * serves one invocation, but the local runtime's environments serve many
 * over a few sockets, and there a spike's queue would have timed out
 * requests DynamoDB never saw. (Since `@smithy/node-http-handler` 4.4 a
 * `requestTimeout` also only logs unless `throwOnRequestTimeout` is set.) Client-side
 * timeouts are the caller's to tune ("Understanding Amazon DynamoDB
 * latency", AWS Database Blog,
 * https://aws.amazon.com/blogs/database/understanding-amazon-dynamodb-latency/;
 * "Tuning AWS Java SDK HTTP request settings for latency-aware Amazon
 * DynamoDB applications", same blog).
 *
 * DynamoDB answers in milliseconds, so a connection silent for two seconds
 * has lost its answer, not delayed it. The SDK's standard retry mode sends a
 * timed-out request again (a timeout is a transient error) up to
 * `maxAttempts` times with a backoff under a second each, so a lost answer
 * costs at most about 3 × 2 s + 1 s before the function answers 503 —
 * under the 10 s the API's functions are given (`test/infra` checks it).
 *
 * A connection that is not open within a second fails the attempt too.
 *
 * `AWS_ATTEMPT_TIMEOUT_MS` overrides the two seconds; the local runtime sets
 * 0 (no limit on either), because DynamoDB Local on two cores answers a
 * spike's transactions in seconds: there the limit failed 1,600 of a
 * 2,200-attempt spike's requests that DynamoDB would have answered in
 * milliseconds, and the connection timeout, which counts time queued for a
 * socket, 596 of a rehearsal's.
 */
import { getNumberFromEnv } from '@aws-lambda-powertools/commons/utils/env';
import { envVars } from '../../../contract/env-vars';

export const ATTEMPT_TIMEOUT_MS = 2_000;
export const CONNECTION_TIMEOUT_MS = 1_000;
export const MAX_ATTEMPTS = 3;

const attemptTimeoutMs = getNumberFromEnv({ key: envVars.awsAttemptTimeoutMs, defaultValue: ATTEMPT_TIMEOUT_MS });

/**
 * The settings each client is built with. The connection timeout is lifted with the rest: its clock also
 * starts when the request is made, so time queued for one of the local runtime's few sockets counted.
 */
export const requestSettings = {
  maxAttempts: MAX_ATTEMPTS,
  requestHandler:
    attemptTimeoutMs > 0
      ? { connectionTimeout: Math.min(CONNECTION_TIMEOUT_MS, attemptTimeoutMs), socketTimeout: attemptTimeoutMs }
      : {},
};
