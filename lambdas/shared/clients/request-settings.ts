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
 * has lost its answer, not delayed it. A connection not open within half a
 * second fails the attempt too (within a region it opens in milliseconds).
 * The SDK's standard retry mode sends a timed-out or reset request again (a
 * transient error) up to `maxAttempts` times with a backoff of well under a
 * second in all, so one lost call costs at most 3 × (0.5 s + 2 s) plus the
 * backoff before the function answers 503 — under the 10 s the API's
 * functions are given, with a second to spare for the rest of the request
 * (`test/infra/stateless.test.ts` checks it). The bound is per call: a
 * handler that goes on after one failed call (checkout tries a refund it
 * owes and leaves it to the sweeper when that fails) could spend it twice
 * if a second call lost its answers too, and end at Lambda's timeout.
 *
 * The same limits hold for SQS, SNS and the KeyValueStore. A KeyValueStore
 * write whose answer is lost is sent again with the same `IfMatch` ETag,
 * which fails when the first got through; the edge-state writer then reads
 * the store again, as it does after any conflict.
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
import { awsCallLimits } from '../../../contract/retries';

export const ATTEMPT_TIMEOUT_MS = awsCallLimits.attemptTimeoutMs;
export const CONNECTION_TIMEOUT_MS = awsCallLimits.connectionTimeoutMs;
export const MAX_ATTEMPTS = awsCallLimits.maxAttempts;

export const attemptTimeoutMs = getNumberFromEnv({
  key: envVars.awsAttemptTimeoutMs,
  defaultValue: ATTEMPT_TIMEOUT_MS,
});

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
