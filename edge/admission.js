import cf from 'cloudfront';

// Edge admission: CloudFront Function (JS runtime 2.0), viewer request on /products/*/reservations.
// A POST to /products/{sku}/reservations reads `drop:<sku>` (contract/drops.ts) from the KeyValueStore;
// a closed, paused, not-started or sold-out drop is answered here. Anything unknown (no value, a bad
// one, a KVS error) goes to the origin: the edge answers only what it knows.
// Retries pass: a key gets the same reservation whatever the state is now, and only the origin knows
// if it made a hold. A UUIDv7 key (RFC 9562: first 48 bits Unix ms) minted before the value was written
// (`since`, +2 s skew) may be one; any other key is a new attempt.
// Limits: 10 KB code, no network/timers/eval, ~1 ms compute; kvs.get() is async and throws on a missing
// key; values <= 1 KB. See docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/ pages
// functions-javascript-runtime-20, cloudfront-function-restrictions, cloudfront-limits,
// functions-custom-methods, functions-event-structure.
const kvs = cf.kvs();

const RESERVATIONS = /^\/products\/([A-Za-z0-9][A-Za-z0-9_-]{0,63})\/reservations$/;
const UUID_V7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/i;
const CLOCK_SKEW_MS = 2000;
const PAUSED_RETRY_AFTER_SECONDS = '5';
const STATES = ['OPEN', 'PAUSED', 'CLOSED'];

// biome-ignore lint/correctness/noUnusedVariables: CloudFront calls it
async function handler(event) {
  const request = event.request;
  const sku = reservationSku(request);
  if (sku === null) return request;

  const drop = await dropState(sku);
  if (drop === null) return request;
  if (mayBeRetry(request.headers['idempotency-key'], drop.since)) return request;
  return refusal(drop, Date.now()) || request;
}

function reservationSku(request) {
  if (request.method !== 'POST') return null;
  const match = RESERVATIONS.exec(request.uri);
  return match ? match[1] : null;
}

/** The drop's state (version 1), or null when missing or unreadable. */
async function dropState(sku) {
  let value;
  try {
    value = await kvs.get(`drop:${sku}`, { format: 'json' });
  } catch (_missing) {
    return null;
  }
  return isDropState(value) ? value : null;
}

function isDropState(value) {
  return (
    value !== null &&
    typeof value === 'object' &&
    value.v === 1 &&
    STATES.indexOf(value.state) !== -1 &&
    typeof value.startsAt === 'string' &&
    !Number.isNaN(Date.parse(value.startsAt)) &&
    isCount(value.available) &&
    isCount(value.held) &&
    isCount(value.since)
  );
}

function isCount(value) {
  return Number.isInteger(value) && value >= 0;
}

/** Whether the key is a UUIDv7 minted before the value was written (give or take skew). */
function mayBeRetry(keyHeader, since) {
  if (!keyHeader || !UUID_V7.test(keyHeader.value)) return false;
  const key = keyHeader.value;
  const mintedAt = parseInt(key.slice(0, 8) + key.slice(9, 13), 16);
  return mintedAt < since + CLOCK_SKEW_MS;
}

/** The edge's answer for a drop that takes no new attempt now, or null: the origin decides. */
function refusal(drop, now) {
  if (drop.state === 'CLOSED') return answer(409, 'Conflict', 'DROP_CLOSED', 'The drop is closed');
  if (drop.state === 'PAUSED') {
    return answer(503, 'Service Unavailable', 'DROP_PAUSED', 'The drop is paused; try again shortly', {
      'retry-after': { value: PAUSED_RETRY_AFTER_SECONDS },
    });
  }
  if (now < Date.parse(drop.startsAt)) {
    return answer(403, 'Forbidden', 'DROP_NOT_STARTED', `The drop starts at ${drop.startsAt}`);
  }
  // Held units may come back: then the origin answers (cheaply).
  if (drop.available === 0 && drop.held === 0) return answer(409, 'Conflict', 'SOLD_OUT', 'Sold out');
  return null;
}

// Runtime 2.0 takes a response body as { encoding, data }.
function answer(statusCode, statusDescription, code, message, extraHeaders) {
  const headers = {
    'content-type': { value: 'application/json' },
    'cache-control': { value: 'no-store' },
    'x-dropline-edge': { value: 'answered' },
  };
  for (const name in extraHeaders) headers[name] = extraHeaders[name];
  return {
    statusCode: statusCode,
    statusDescription: statusDescription,
    headers: headers,
    body: { encoding: 'text', data: JSON.stringify({ error: { code: code, message: message } }) },
  };
}
