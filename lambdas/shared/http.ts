/**
 * The HTTP edge shared by every API handler: the middy stack, request limits,
 * JSON answers, and the one place where errors become HTTP responses.
 */
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { ParseError } from '@aws-lambda-powertools/parser/errors';
import { parser } from '@aws-lambda-powertools/parser/middleware';
import type middy from '@middy/core';
import httpHeaderNormalizer from '@middy/http-header-normalizer';
import type { APIGatewayProxyEvent, APIGatewayProxyResult, Context } from 'aws-lambda';
import type * as z from 'zod/mini';
import { errorCodeMetric, httpStatusMetric } from '../../contract/metrics';
import { classifyAwsFault } from '../adapters/aws-faults';
import {
  BusyError,
  DomainError,
  DropPausedError,
  type ErrorCode,
  IdentityError,
  IdentityUnavailableError,
  PayloadTooLargeError,
} from '../domain/errors';
import { observed } from './event-handler';
import { logger } from './powertools/logger';
import { metrics } from './powertools/metrics';

/** Request bodies in this API are a few hundred bytes; anything near this is hostile. */
export const MAX_BODY_BYTES = 8 * 1024;

/** Each domain error's status: a code missing here (or not a domain error's) does not compile. */
const STATUS_BY_CODE = {
  VALIDATION_ERROR: 400,
  PAYMENT_DECLINED: 402,
  DROP_NOT_STARTED: 403,
  DROP_PAUSED: 503,
  DROP_CLOSED: 409,
  ADMISSION_REQUIRED: 403,
  ADMISSION_INVALID: 403,
  ADMISSION_EXPIRED: 403,
  ADMISSION_WRONG_SKU: 403,
  ADMISSION_WRONG_CUSTOMER: 403,
  UNAUTHENTICATED: 401,
  CUSTOMER_MISMATCH: 403,
  NOT_FOUND: 404,
  SOLD_OUT: 409,
  INVALID_STATE: 409,
  PAYMENT_MISMATCH: 409,
  RESERVATION_EXPIRED: 410,
  PAYLOAD_TOO_LARGE: 413,
  IDEMPOTENCY_MISMATCH: 422,
  LIMIT_EXCEEDED: 429,
  BUSY: 429,
} as const satisfies Readonly<Record<ErrorCode, number>>;

/** The codes of answers no domain error gives: faults of the platform, and of the code itself. */
type FaultCode = 'THROTTLED' | 'UNAVAILABLE' | 'INTERNAL_ERROR';

export type HttpResult = APIGatewayProxyResult;

export function json(statusCode: number, body: unknown, headers: Record<string, string> = {}): HttpResult {
  return {
    statusCode,
    headers: { 'content-type': 'application/json', 'cache-control': 'no-store', ...headers },
    body: JSON.stringify(body),
  };
}

/**
 * Whether `If-None-Match` names `etag`, by the weak comparison RFC 9110 (13.1.2) prescribes for it: a
 * list of tags, `W/` prefixes (CloudFront weakens an ETag when it compresses an answer) or `*`.
 */
export function etagMatches(ifNoneMatch: string | undefined, etag: string): boolean {
  if (!ifNoneMatch) return false;
  if (ifNoneMatch.trim() === '*') return true;
  const opaque = (tag: string) => tag.trim().replace(/^W\//, '');
  return ifNoneMatch.split(',').some((tag) => opaque(tag) === opaque(etag));
}

export function errorBody(code: ErrorCode | FaultCode, message: string) {
  return { error: { code, message } };
}

/**
 * Whether the answer to `error` refuses a request for load: 429 BUSY (writes kept conflicting), 429
 * THROTTLED or 503 UNAVAILABLE (a dependency throttled or failed) — what the waiting room's controller
 * counts as the origin shedding (`lambdas/domain/origin-load.ts`).
 */
export function isShedForLoad(error: unknown): boolean {
  return error instanceof BusyError || classifyAwsFault(error) !== undefined;
}

/** Maps any error to the contract's error shape. Nothing internal reaches the client. */
export function toHttpError(error: unknown): HttpResult {
  if (error instanceof DomainError) {
    const status = STATUS_BY_CODE[error.code];
    const retryAfter: Record<string, string> =
      error instanceof BusyError || error instanceof DropPausedError
        ? { 'retry-after': String(error.retryAfterSeconds) }
        : {};
    return json(status, errorBody(error.code, error.message), { ...retryAfter, ...challenge(error) });
  }
  if (error instanceof IdentityUnavailableError) {
    logger.warn('Identity provider unreachable', { errorName: errorName(error.cause) });
    return json(503, errorBody('UNAVAILABLE', 'Signing in is unavailable for a moment; retry'), { 'retry-after': '1' });
  }
  if (error instanceof ParseError) {
    return json(400, errorBody('VALIDATION_ERROR', `Invalid request: ${describeIssues(error)}`));
  }
  const fault = classifyAwsFault(error);
  if (fault === 'throttled') {
    logger.warn('Throttled by a dependency', { errorName: errorName(error) });
    return json(429, errorBody('THROTTLED', 'Too many requests right now; retry with the same Idempotency-Key'), {
      'retry-after': '1',
    });
  }
  if (fault === 'transient') {
    // The request may or may not have taken effect; every write is guarded by its idempotency record
    // or the hold's state, so a retry with the same key is safe.
    logger.warn('Transient dependency fault', { errorName: errorName(error) });
    return json(503, errorBody('UNAVAILABLE', 'Temporarily unavailable; retry with the same Idempotency-Key'), {
      'retry-after': '1',
    });
  }
  logger.error('Unhandled error', { errorName: errorName(error), errorMessage: errorMessage(error) });
  return json(500, errorBody('INTERNAL_ERROR', 'Something went wrong; retrying with the same Idempotency-Key is safe'));
}

/** A 401 says how to authenticate (RFC 6750 §3): a bearer token, and whether the one sent was refused. */
function challenge(error: DomainError): Record<string, string> {
  if (!(error instanceof IdentityError) || error.code !== 'UNAUTHENTICATED') return {};
  return {
    'www-authenticate': error.tokenSent ? 'Bearer realm="dropline", error="invalid_token"' : 'Bearer realm="dropline"',
  };
}

interface Issue {
  readonly code?: string;
  readonly path?: ReadonlyArray<unknown>;
  readonly message?: string;
  readonly expected?: string;
  readonly origin?: string;
  readonly format?: string;
  readonly minimum?: number | bigint;
  readonly maximum?: number | bigint;
  readonly inclusive?: boolean;
  readonly keys?: ReadonlyArray<string>;
  readonly values?: ReadonlyArray<unknown>;
}

/** Where in the request: `quantity`, `header idempotency-key`, `path sku`. */
function fieldOf(path: ReadonlyArray<unknown>): string {
  const parts = path.map((part) =>
    String(typeof part === 'object' && part !== null ? (part as { key: unknown }).key : part),
  );
  const [where, ...rest] = parts;
  if (where === 'body') return rest.length > 0 ? rest.join('.') : 'body';
  if (where === 'headers') return `header ${rest.join('.')}`;
  if (where === 'pathParameters') return `path ${rest.join('.')}`;
  if (where === 'queryStringParameters') return `query ${rest.join('.')}`;
  return parts.length > 0 ? parts.join('.') : 'request';
}

/** A field name we may repeat back: a plain identifier, not whatever a client sent as a key. */
const SAFE_KEY = /^[A-Za-z][A-Za-z0-9_]{0,31}$/;

/** Why the field failed, from the schema's own rule; never the value that failed it. */
function reasonOf(issue: Issue): string {
  const { code, origin } = issue;
  const unit = (bound: unknown) =>
    origin === 'string' || origin === 'array'
      ? ` ${origin === 'string' ? 'character' : 'item'}${Number(bound) === 1 ? '' : 's'}`
      : '';
  if (issue.message && issue.message !== 'Invalid input') return issue.message;
  if (code === 'invalid_type') {
    const expected = issue.expected === 'int' ? 'integer' : (issue.expected ?? 'value');
    return `missing or not ${/^[aeiou]/.test(expected) ? 'an' : 'a'} ${expected}`;
  }
  if (code === 'too_small') {
    return `${issue.inclusive === false ? 'more than' : 'at least'} ${issue.minimum}${unit(issue.minimum)}`;
  }
  if (code === 'too_big') {
    return `${issue.inclusive === false ? 'less than' : 'at most'} ${issue.maximum}${unit(issue.maximum)}`;
  }
  if (code === 'invalid_format') {
    if (issue.format === 'datetime') return 'an ISO 8601 date-time with an offset, e.g. 2026-05-01T09:00:00Z';
    if (issue.format === 'uuid') return 'a UUID';
    return 'wrong format';
  }
  if (code === 'unrecognized_keys') {
    const keys = issue.keys ?? [];
    const named = keys.filter((key) => SAFE_KEY.test(key)).slice(0, 5);
    return named.length === keys.length && named.length > 0
      ? `unknown field${named.length > 1 ? 's' : ''} ${named.join(', ')}`
      : `${keys.length} unknown field${keys.length === 1 ? '' : 's'}`;
  }
  if (code === 'invalid_value' && issue.values?.every((value) => typeof value === 'string')) {
    return `one of ${issue.values.join(', ')}`;
  }
  return 'invalid';
}

/**
 * Each invalid field with the schema's reason: `quantity: at least 1; header
 * idempotency-key: printable ASCII; at most 255`. Client values are never
 * echoed (they may be hostile, or someone's private data); field names are
 * the schema's, and an unknown key is named only when it is a plain identifier.
 */
export function describeIssues(error: ParseError): string {
  const issues = Array.isArray(error.cause) ? (error.cause as Issue[]) : [];
  const described = issues.map((issue) => {
    const field = fieldOf(issue.path ?? []);
    if (field === 'body' && issue.code === 'unrecognized_keys') return reasonOf(issue);
    if (field === 'body' && issue.code === 'invalid_type') return 'body: missing or not a JSON object';
    return `${field}: ${reasonOf(issue)}`;
  });
  return described.length > 0 ? [...new Set(described)].slice(0, 10).join('; ') : 'malformed request';
}

function errorName(error: unknown): string {
  return error instanceof Error ? error.name : typeof error;
}

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message.slice(0, 200) : 'non-error thrown';
}

/** Decodes base64 bodies (as API Gateway sends binary media) and refuses oversized ones. */
const boundedBody = (): middy.MiddlewareObj<APIGatewayProxyEvent> => ({
  before: ({ event }) => {
    if (event.body == null) return;
    if (Buffer.byteLength(event.body) > MAX_BODY_BYTES * 2) throw new PayloadTooLargeError(MAX_BODY_BYTES);
    const body = event.isBase64Encoded ? Buffer.from(event.body, 'base64').toString('utf8') : event.body;
    if (Buffer.byteLength(body) > MAX_BODY_BYTES) throw new PayloadTooLargeError(MAX_BODY_BYTES);
    event.body = body;
    event.isBase64Encoded = false;
  },
});

/** Maps errors to answers, and counts every answer by status class (and errors by code). */
const httpOutcomes = (): middy.MiddlewareObj<unknown, HttpResult> => ({
  after: ({ response }) => {
    metrics.addMetric(httpStatusMetric(response?.statusCode ?? 500), MetricUnit.Count, 1);
  },
  onError: (request) => {
    const response = toHttpError(request.error);
    const code = JSON.parse(response.body).error.code as string;
    metrics.addMetric(httpStatusMetric(response.statusCode), MetricUnit.Count, 1);
    metrics.addMetric(errorCodeMetric(code), MetricUnit.Count, 1);
    request.response = response;
  },
});

/**
 * Wraps an API handler: tracer (with `-c tracing=sdk`), logger, metrics (`observed()`), header normalisation, body
 * limits, zod parsing of the whole event, then error mapping last (so its
 * onError runs first).
 */
export function httpApi<S extends z.ZodMiniType>(
  schema: S,
  handler: (event: z.infer<S>, context: Context) => Promise<HttpResult>,
) {
  return observed<APIGatewayProxyEvent, HttpResult>({ captureColdStartMetric: true })
    .use(httpHeaderNormalizer())
    .use(boundedBody())
    .use(parser({ schema }) as middy.MiddlewareObj<APIGatewayProxyEvent>)
    .use(httpOutcomes())
    .handler(handler as unknown as (event: APIGatewayProxyEvent, context: Context) => Promise<HttpResult>);
}
