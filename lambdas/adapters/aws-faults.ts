/**
 * One reading of AWS failures, shared by every adapter and by the HTTP edge.
 *
 * Throttling and transient faults are classified with the SDK's own rules
 * (`@smithy/core/retry`, the code its retry strategy runs), so "retryable"
 * here means what it means to the SDK: DynamoDB's
 * ProvisionedThroughputExceeded, ThrottlingException and RequestLimitExceeded,
 * SQS's RequestThrottled, SNS's ThrottledException, any 429, timeouts,
 * connection resets and 5xx. DynamoDB's own outcomes (a failed condition, a
 * cancelled transaction) are checked by type.
 */
import {
  type AttributeValue,
  type CancellationReason,
  ConditionalCheckFailedException,
  TransactionCanceledException,
  TransactionConflictException,
} from '@aws-sdk/client-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import { isServerError, isThrottlingError, isTransientError } from '@smithy/core/retry';

export type AwsFault =
  /** The service refused for rate: nothing was done, retry after backing off. */
  | 'throttled'
  /** The network or the service failed: the request may or may not have taken effect. */
  | 'transient';

type SdkError = Parameters<typeof isThrottlingError>[0];

/** What an error means for a retry, or undefined when it is not an AWS fault at all. */
export function classifyAwsFault(error: unknown): AwsFault | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  const sdkError = error as SdkError;
  if (isThrottlingError(sdkError)) return 'throttled';
  if (isTransientError(sdkError) || isServerError(sdkError)) return 'transient';
  // The SDK's HTTP handler throws a plain Error named so for an aborted request: no class to check.
  if (error instanceof Error && error.name === 'AbortError') return 'transient';
  return undefined;
}

export function isConditionFailed(error: unknown): error is ConditionalCheckFailedException {
  return error instanceof ConditionalCheckFailedException;
}

/** The per-item reasons of a cancelled transaction; undefined when the error is something else. */
export function cancellationReasons(error: unknown): CancellationReason[] | undefined {
  return error instanceof TransactionCanceledException ? (error.CancellationReasons ?? []) : undefined;
}

/** Whether an item of a cancelled transaction failed its condition (rather than conflicting or being throttled). */
export function failedCondition(reason: CancellationReason | undefined): boolean {
  return reason?.Code === 'ConditionalCheckFailed';
}

/**
 * The item as it stood when its condition failed, from a failed write or one
 * item of a cancelled transaction that asked for it
 * (`ReturnValuesOnConditionCheckFailure: 'ALL_OLD'`); undefined when none came back.
 */
export function itemAtFailure(
  failure: { readonly Item?: Record<string, AttributeValue> } | undefined,
): Record<string, unknown> | undefined {
  return failure?.Item ? unmarshall(failure.Item) : undefined;
}

/**
 * A write that did nothing and may succeed when retried: throttled, or in
 * conflict with a transaction on the same item (a singleton write meets
 * TransactionConflictException; a transaction meets a cancellation whose
 * reasons are conflicts or throttling rather than a failed condition).
 */
export function isContention(error: unknown): boolean {
  if (error instanceof TransactionConflictException) return true;
  const reasons = cancellationReasons(error);
  if (reasons) return !reasons.some(failedCondition);
  return classifyAwsFault(error) === 'throttled';
}
