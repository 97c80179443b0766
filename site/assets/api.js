/**
 * The page's one way to the API: same origin, JSON, and the contract's
 * retry rule — 429 THROTTLED or BUSY, 5xx and lost connections are retried
 * with the very same request (so the same Idempotency-Key) after the answer's
 * Retry-After, jittered; every other answer is a verdict. Every write first
 * waits (3 s at most) for a fresh AWS WAF token when the deployment has one
 * (./waf.js): the edge challenges a reservation whose token has expired.
 */
import { wafReady } from './waf.js';

let lastLatency;
/** The server's clock minus this page's, from the last answer's Date header (whole seconds). */
let clockOffsetMs = 0;

/**
 * A new attempt's Idempotency-Key: a UUIDv7 (RFC 9562), whose first 48 bits are the time it was made, on
 * the server's clock and a second early (Date has whole seconds). The edge passes an attempt whose key is
 * older than the drop's last change on to the origin — it may be the retry of one that made a hold — and
 * answers newer ones itself, so a page whose clock runs fast must not look newer than it is.
 */
export function attemptKey() {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  let ms = Math.max(0, Date.now() + clockOffsetMs - 1000);
  for (let index = 5; index >= 0; index--) {
    bytes[index] = ms % 256;
    ms = Math.floor(ms / 256);
  }
  bytes[6] = (bytes[6] & 0x0f) | 0x70;
  bytes[8] = (bytes[8] & 0x3f) | 0x80;
  const hex = Array.from(bytes, (byte) => byte.toString(16).padStart(2, '0')).join('');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** How long the last answer took, in whole milliseconds, as the shopper waited for it (the poll reports it). */
export const lastLatencyMs = () => lastLatency;

/** An answer, or `{ status: 0, code: 'OFFLINE' }` when the request never got one. */
export async function call(method, path, { body, headers = {}, cache = 'no-store', signal } = {}) {
  if (method !== 'GET' && method !== 'HEAD') await wafReady();
  let response;
  const started = performance.now();
  try {
    response = await fetch(path, {
      method,
      cache,
      signal,
      credentials: 'same-origin',
      headers: body === undefined ? headers : { 'content-type': 'application/json', ...headers },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch (error) {
    if (error?.name === 'AbortError') throw error;
    return { status: 0, code: 'OFFLINE', body: {}, headers: new Headers() };
  }
  const text = await response.text().catch(() => '');
  lastLatency = Math.round(performance.now() - started);
  const serverDate = Date.parse(response.headers.get('date') ?? '');
  if (Number.isFinite(serverDate)) clockOffsetMs = serverDate - Date.now();
  let parsed = {};
  try {
    parsed = text ? JSON.parse(text) : {};
  } catch {
    parsed = {};
  }
  const code = response.ok ? undefined : (parsed?.error?.code ?? `HTTP_${response.status}`);
  return { status: response.status, code, body: parsed, headers: response.headers };
}

export function invitesRetry(answer) {
  if (answer.status === 0 || answer.status >= 500) return true;
  return answer.status === 429 && (answer.code === 'THROTTLED' || answer.code === 'BUSY');
}

/** Retry-After's seconds, else 2, 4, 8 s for a lost answer; jittered to 50–150 %, at most 30 s. */
export function retryDelayMs(answer, attempt) {
  const header = answer.headers.get('retry-after');
  const given = header === null ? Number.NaN : Number(header);
  const seconds = Number.isFinite(given) && given >= 0 ? given : Math.min(2 ** attempt, 8);
  return Math.min(30_000, 1000 * Math.max(seconds, 0.5) * (0.5 + Math.random()));
}

/**
 * Sends `request()` until its answer is a verdict or `maxAttempts` are spent.
 * `onRetry(answer, attempt)` lets the page say why it is waiting. While the
 * browser is offline it waits for the connection instead of spending attempts.
 */
export async function untilSettled(request, { maxAttempts = 6, onRetry = () => {} } = {}) {
  let answer = await request();
  for (let attempt = 1; attempt < maxAttempts && invitesRetry(answer); attempt++) {
    onRetry(answer, attempt);
    if (!navigator.onLine) await new Promise((resolve) => addEventListener('online', resolve, { once: true }));
    else await new Promise((resolve) => setTimeout(resolve, retryDelayMs(answer, attempt)));
    answer = await request();
  }
  return answer;
}
