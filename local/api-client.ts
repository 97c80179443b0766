/** A keep-alive HTTP client for the dropline API, as a shopper's or operator's tool would use it. */
import { randomBytes, randomUUID } from 'node:crypto';
import { Agent } from 'undici';
import { GATEWAY_THROTTLED_MESSAGE } from '../contract/retries';

/**
 * A new attempt's Idempotency-Key, as the drop page makes it: a UUIDv7 (RFC 9562), whose first 48 bits
 * are the Unix time in milliseconds. The edge passes an attempt whose key is older than the drop's last
 * change on to the origin (it may be the retry of one that made a hold) and answers newer ones itself.
 */
export function attemptKey(ms = Date.now()): string {
  const bytes = randomBytes(16);
  bytes.writeUIntBE(ms, 0, 6);
  bytes[6] = ((bytes[6] as number) & 0x0f) | 0x70;
  bytes[8] = ((bytes[8] as number) & 0x3f) | 0x80;
  const hex = bytes.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** When an attempt key was minted (ms since the epoch), if it is a UUIDv7; the edge reads it the same way. */
export function attemptKeyMintedAt(key: string): number | undefined {
  if (!/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/i.test(key)) return undefined;
  return Number.parseInt(key.slice(0, 8) + key.slice(9, 13), 16);
}

export interface ApiResponse<T = Record<string, unknown>> {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly body: T;
  readonly text: string;
}

export interface CallOptions {
  readonly body?: unknown;
  /** Sent as is, unlike `body` which is JSON-encoded. */
  readonly rawBody?: string | Buffer;
  readonly headers?: Record<string, string>;
  readonly admin?: boolean;
  /** Give up after this long (throws a TimeoutError), as a shopper's app would. */
  readonly timeoutMs?: number;
}

/**
 * Answers the contract says to retry with the same request (and the same
 * Idempotency-Key): 429 THROTTLED or BUSY, any 503, and a 504 (the function
 * timed out, so the request may or may not have taken effect — the key makes
 * the retry safe either way). 429 LIMIT_EXCEEDED is a verdict, not a retry.
 */
export function invitesRetry(response: ApiResponse<unknown>): boolean {
  if (response.status === 503 || response.status === 504) return true;
  const code = (response.body as { error?: { code?: unknown } }).error?.code;
  return response.status === 429 && (code === 'THROTTLED' || code === 'BUSY');
}

/**
 * API Gateway's 429 THROTTLED: the request was refused before any function ran (a function's own THROTTLED,
 * when DynamoDB throttled it, may come after a write, and says so in its message).
 */
export function isGatewayThrottled(response: ApiResponse<unknown>): boolean {
  const error = (response.body as { error?: { code?: unknown; message?: unknown } }).error;
  return response.status === 429 && error?.code === 'THROTTLED' && error.message === GATEWAY_THROTTLED_MESSAGE;
}

/** Enough for a burst of operator requests to drain through a bucket of 20 that refills at 10 a second. */
const ADMIN_THROTTLE_RETRIES = 10;
/** A throttle that asks for a longer wait than this (a usage plan's quota: a minute) is answered, not waited out. */
const ADMIN_MAX_RETRY_AFTER_SECONDS = 5;

/** How long to wait before retrying: the answer's `Retry-After` (seconds, 1 when absent), jittered to 50–150 %. */
export function retryDelayMs(response: ApiResponse<unknown>, random: () => number = Math.random): number {
  const seconds = Number(response.headers['retry-after'] ?? 1);
  return 1000 * (Number.isFinite(seconds) && seconds >= 0 ? seconds : 1) * (0.5 + random());
}

/**
 * Sends, and resends after the answer's `Retry-After` while the answer
 * invites a retry, at most `maxRetries` times — what a well-behaved app does.
 * Returns the last answer and how many retries it took.
 */
export async function untilSettled<T>(
  request: () => Promise<ApiResponse<T>>,
  maxRetries: number,
  retryable: (response: ApiResponse<T>) => boolean = invitesRetry,
): Promise<{ response: ApiResponse<T>; retries: number }> {
  let response = await request();
  let retries = 0;
  while (retryable(response) && retries < maxRetries) {
    await new Promise((resolve) => setTimeout(resolve, retryDelayMs(response)));
    retries++;
    response = await request();
  }
  return { response, retries };
}

export class ApiClient {
  private readonly agent: Agent;

  constructor(
    private readonly baseUrl: string,
    private readonly adminKey: string,
    connections = 128,
  ) {
    this.agent = new Agent({ connections, pipelining: 1, keepAliveTimeout: 30_000 });
  }

  // biome-ignore lint/suspicious/noExplicitAny: tests read whatever shape the contract promises
  async call<T = any>(method: string, path: string, options: CallOptions = {}): Promise<ApiResponse<T>> {
    const headers: Record<string, string> = { 'content-type': 'application/json', ...options.headers };
    if (options.admin) headers['x-api-key'] = this.adminKey;
    const body = options.rawBody ?? (options.body === undefined ? undefined : JSON.stringify(options.body));
    // The path goes out exactly as given (no dot-segment normalisation), as an attacker would send it.
    const response = await this.agent.request({
      origin: this.baseUrl,
      path,
      method: method as 'GET',
      headers,
      ...(body === undefined ? {} : { body }),
      ...(options.timeoutMs ? { signal: AbortSignal.timeout(options.timeoutMs) } : {}),
    });
    const text = await response.body.text();
    let parsed: unknown = {};
    try {
      parsed = text ? JSON.parse(text) : {};
    } catch {
      parsed = { unparsable: true };
    }
    return { status: response.statusCode, headers: response.headers, body: parsed as T, text };
  }

  reserve(sku: string, customerId: string, quantity: number, idempotencyKey: string, timeoutMs?: number) {
    return this.call('POST', `/products/${sku}/reservations`, {
      body: { customerId, quantity },
      headers: { 'idempotency-key': idempotencyKey },
      ...(timeoutMs ? { timeoutMs } : {}),
    });
  }

  /**
   * An operator's request, sent again while API Gateway throttles it (the admin key's usage plan: 10 a
   * second deployed): that refusal comes before any function runs, so the request goes again as it was.
   */
  // biome-ignore lint/suspicious/noExplicitAny: tests read whatever shape the contract promises
  async admin<T = any>(
    method: string,
    path: string,
    options: Omit<CallOptions, 'admin'> = {},
  ): Promise<ApiResponse<T>> {
    const { response } = await untilSettled(
      () => this.call<T>(method, path, { ...options, admin: true }),
      ADMIN_THROTTLE_RETRIES,
      (answer) =>
        isGatewayThrottled(answer) && Number(answer.headers['retry-after'] ?? 1) <= ADMIN_MAX_RETRY_AFTER_SECONDS,
    );
    return response;
  }

  /** Creates or updates a product, under an Idempotency-Key of its own unless `headers` name one. */
  putProduct(sku: string, product: Record<string, unknown>, headers: Record<string, string> = {}) {
    return this.admin('PUT', `/admin/products/${sku}`, {
      body: product,
      headers: { 'idempotency-key': randomUUID(), ...headers },
    });
  }

  async ledger(sku: string) {
    const response = await this.admin<Ledger>('GET', `/admin/products/${sku}/ledger`);
    if (response.status !== 200) throw new Error(`ledger answered ${response.status}: ${response.text}`);
    return response.body;
  }

  close(): Promise<void> {
    return this.agent.close();
  }
}

export interface Ledger {
  sku: string;
  supplied: number;
  available: number;
  held: number;
  sold: number;
  released: number;
  expired: number;
}
