/**
 * @jest-environment node
 *
 * The one place errors become HTTP answers: every domain error's code keeps
 * its status, faults a retry may get past say when to retry, and nothing
 * internal reaches the client.
 */
import { ParseError } from '@aws-lambda-powertools/parser/errors';
import * as errors from '../../lambdas/domain/errors';
import { MAX_BODY_BYTES, toHttpError } from '../../lambdas/shared/http';
import { logger } from '../../lambdas/shared/powertools/logger';

/** Every domain error, the status it answers and its Retry-After (only a fault a retry may get past has one). */
const ANSWERS: ReadonlyArray<readonly [error: errors.DomainError, status: number, retryAfter?: string]> = [
  [new errors.ValidationError('quantity: at least 1'), 400],
  [new errors.PaymentDeclinedError(), 402],
  [new errors.DropNotStartedError('2026-05-01T09:00:00.000Z'), 403],
  [new errors.DropPausedError(5), 503, '5'],
  [new errors.DropClosedError(), 409],
  [new errors.AdmissionError('ADMISSION_WRONG_CUSTOMER'), 403],
  [new errors.IdentityError('CUSTOMER_MISMATCH', 'Another customer is signed in'), 403],
  [new errors.NotFoundError('No such reservation'), 404],
  [new errors.SoldOutError(0), 409],
  [new errors.InvalidStateError('The reservation was released'), 409],
  [new errors.ProductCreationConflictError('DROP-1'), 409],
  [new errors.PaymentMismatchError(), 409],
  [new errors.ReservationExpiredError(), 410],
  [new errors.PayloadTooLargeError(MAX_BODY_BYTES), 413],
  [new errors.IdempotencyMismatchError(), 422],
  [new errors.LimitExceededError(2), 429],
  [new errors.BusyError(), 429, '1'],
];

const answerOf = (error: unknown) => {
  const response = toHttpError(error);
  return { status: response.statusCode, headers: response.headers ?? {}, body: JSON.parse(response.body) };
};

/** An error as the AWS SDK throws it: a name, and the HTTP status in `$metadata`. */
const awsError = (name: string, httpStatusCode?: number) =>
  Object.assign(new Error(`${name} from the service`), { name, $metadata: { httpStatusCode } });

const logLevel = logger.getLevelName();
beforeAll(() => logger.setLogLevel('SILENT'));
afterAll(() => logger.setLogLevel(logLevel));

test('the table answers for every error class lambdas/domain/errors.ts declares', () => {
  const declared = Object.values(errors).filter((value) => value.prototype instanceof errors.DomainError);
  const tabled = new Set<unknown>(ANSWERS.map(([error]) => error.constructor));

  expect(declared.filter((errorClass) => !tabled.has(errorClass)).map((errorClass) => errorClass.name)).toEqual([]);
  expect(tabled.size).toBe(ANSWERS.length);
});

test.each(ANSWERS.map(([error, status, retryAfter]) => [error.code, status, error, retryAfter] as const))(
  '%s answers %i with its code and message only',
  (code, status, error, retryAfter) => {
    const answer = answerOf(error);

    expect(answer.status).toBe(status);
    expect(answer.body).toEqual({ error: { code, message: error.message } });
    expect(answer.headers).toEqual({
      'content-type': 'application/json',
      'cache-control': 'no-store',
      ...(retryAfter ? { 'retry-after': retryAfter } : {}),
    });
  },
);

test('BUSY tells the client how long to wait', () => {
  expect(answerOf(new errors.BusyError(5)).headers['retry-after']).toBe('5');
});

test.each([['ThrottlingException'], ['ProvisionedThroughputExceededException'], ['RequestLimitExceeded']])(
  'a dependency throttled (%s) answers 429 THROTTLED, retry after 1 s',
  (name) => {
    const answer = answerOf(awsError(name, 400));

    expect(answer.status).toBe(429);
    expect(answer.body.error.code).toBe('THROTTLED');
    expect(answer.headers['retry-after']).toBe('1');
  },
);

test.each([
  ['a timeout', awsError('TimeoutError')],
  ['a 503', awsError('ServiceUnavailable', 503)],
  ['a 500', awsError('InternalServerError', 500)],
  ['a reset connection', Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' })],
])('a transient fault (%s) answers 503 UNAVAILABLE, retry after 1 s', (_, error) => {
  const answer = answerOf(error);

  expect(answer.status).toBe(503);
  expect(answer.body.error.code).toBe('UNAVAILABLE');
  expect(answer.headers['retry-after']).toBe('1');
});

test('a request the schema refused answers 400 VALIDATION_ERROR', () => {
  const refused = new ParseError('Failed to parse schema', {
    cause: [{ code: 'too_small', path: ['body', 'quantity'], minimum: 1, inclusive: true, origin: 'number' }],
  });

  expect(answerOf(refused)).toMatchObject({
    status: 400,
    body: { error: { code: 'VALIDATION_ERROR', message: 'Invalid request: quantity: at least 1' } },
  });
});

test.each([
  ['an error', new Error('ConnectionString=secret; at Store.placeHold (/var/task/index.js:1:1)')],
  ['a thrown string', 'boom'],
])('anything else (%s) answers 500 INTERNAL_ERROR without a word of what was thrown', (_, thrown) => {
  const answer = answerOf(thrown);

  expect(answer.status).toBe(500);
  expect(answer.body).toEqual({
    error: {
      code: 'INTERNAL_ERROR',
      message: 'Something went wrong; retrying with the same Idempotency-Key is safe',
    },
  });
  expect(answer.headers['retry-after']).toBeUndefined();
});

test('a refused identity says how to authenticate (RFC 6750); an unreachable provider is retried, not refused', () => {
  expect(answerOf(new errors.IdentityError('UNAUTHENTICATED', 'Sign in first')).headers).toMatchObject({
    'www-authenticate': 'Bearer realm="dropline"',
  });
  expect(answerOf(new errors.IdentityError('UNAUTHENTICATED', 'The token has expired', true)).headers).toMatchObject({
    'www-authenticate': 'Bearer realm="dropline", error="invalid_token"',
  });
  const mismatch = answerOf(new errors.IdentityError('CUSTOMER_MISMATCH', 'another customer'));
  expect([mismatch.status, mismatch.body.error.code, mismatch.headers['www-authenticate']]).toEqual([
    403,
    'CUSTOMER_MISMATCH',
    undefined,
  ]);
  const unavailable = answerOf(new errors.IdentityUnavailableError(new Error('connect ECONNREFUSED 10.0.0.1:443')));
  expect([unavailable.status, unavailable.body.error.code, unavailable.headers['retry-after']]).toEqual([
    503,
    'UNAVAILABLE',
    '1',
  ]);
  expect(JSON.stringify(unavailable.body)).not.toContain('10.0.0.1');
});
