import cf from 'cloudfront';
// biome-ignore lint/style/useNodejsImportProtocol: CloudFront Functions names it 'crypto'
import crypto from 'crypto';

// Edge admission (CloudFront Function, JS runtime 2.0, viewer request). Reads the KeyValueStore
// (contract/drops.ts): `drop:<sku>` (state, stock, room), `room:<sku>` (boundary), `admission-keys`.
// POST /products/{sku}/reservations: closed, paused, not-started and sold-out drops are answered here;
// with the waiting room on, a valid admission token (x-dropline-admission) for the sku is required, and for
// the bearer token's subject when one is sent (the origin checks it again, binds it to the body's customer,
// verifies the bearer token and judges expiry), above the room's floor (its turn not passed).
// GET /drops/{sku}/queue?customerId=: signed tickets (order fixed at issue: pre-start ranked by a keyed
// hash, then arrival), the place, and an admission token once inside the boundary.
// Unknown state goes to the origin; so does a possible retry (see mayBeRetry): it may have made a hold,
// unless the drop sold out for good, the room was on when its key was minted, and its admission is missing
// or for someone else (see cannotHoldAny).
// Limits: 10 KB, no network/timers/eval (CloudFront Developer Guide: functions-javascript-runtime-20).
const kvs = cf.kvs();

const SKU = '([A-Za-z0-9][A-Za-z0-9_-]{0,63})';
const RESERVATIONS = new RegExp(`^/products/${SKU}/reservations$`);
const QUEUE = new RegExp(`^/drops/${SKU}/queue$`);
const ESCAPED = /%/;
const NO_ROUTE = /\/\/|\/\.\.?(\/|$)/;
const SINGLE = ['idempotency-key', 'x-dropline-admission', 'x-dropline-ticket', 'authorization'];
const CUSTOMER = /^[A-Za-z0-9][A-Za-z0-9._@:+|-]{0,127}$/;
const UUID_V7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/i;
const SKEW_MS = 2000;
const TOKEN_MS = 120000;
const PRE_QUEUE_MS = 60000;
const DAY_MS = 86400000;
const STATES = ['OPEN', 'PAUSED', 'CLOSED'];
// Replaced when built (edge/build.ts): true when the origin verifies shopper identity, so that the bearer
// token's subject is the customer. Unbuilt, it is undeclared and the check is off.
const BEARER_CHECK = typeof BEARER_IS_CUSTOMER === 'boolean' && BEARER_IS_CUSTOMER;
const BEARER = /^Bearer +[\w-]*\.([\w-]*)\./i;

// biome-ignore lint/correctness/noUnusedVariables: CloudFront calls it
async function handler(event) {
  const request = event.request;
  // CloudFront gives the function the path as the viewer spelled it, and API Gateway decodes it: spelled
  // otherwise than plainly (`%73neaker`, `/./`, `//`), a path would name a drop at the origin that the
  // patterns here do not see, and pass by every check. A SKU never needs it. An empty or dot segment gets
  // the origin's own answer to it; an escape, which the origin would read as a drop, a 400.
  if (NO_ROUTE.test(request.uri)) return error(404, 'ROUTE_NOT_FOUND', 'No such route');
  if (ESCAPED.test(request.uri)) return error(400, 'VALIDATION_ERROR', 'Spell the path plainly: no %-escapes');
  // The function reads a header's first value, API Gateway its last: one of each, or the two would differ.
  for (let i = 0; i < SINGLE.length; i++) {
    // biome-ignore lint/complexity/useOptionalChain: runtime 2.0 does not list optional chaining
    if (((request.headers[SINGLE[i]] || {}).multiValue || []).length > 1) {
      return error(400, 'VALIDATION_ERROR', `Send one ${SINGLE[i]} header`);
    }
  }
  let match = request.method === 'POST' && RESERVATIONS.exec(request.uri);
  if (match) return reservation(request, match[1]);
  match = request.method === 'GET' && QUEUE.exec(request.uri);
  if (match) return queue(request, match[1]);
  return request;
}

async function reservation(request, sku) {
  const drop = await read(`drop:${sku}`, isDrop);
  if (drop === null) return request;
  const key = request.headers['idempotency-key'];
  if (mayBeRetry(key, drop.since) && !(await cannotHoldAny(request, sku, drop, key))) {
    return drop.room ? replayOnlyIfPassed(request, sku) : request;
  }
  const refused = refusal(drop, Date.now());
  if (refused) return refused;
  if (!drop.room) return request;
  const admitted = await admission(request, sku, false);
  if (admitted.refused) return admitted.refused;
  const token = admitted.token;
  if (!token) return request;
  // Below the floor the turn has passed: units coming back go to the next in line, not to this storm. A
  // possible retry goes on, marked: the origin replays its hold or refuses it, and makes no new one.
  const room = await read(`room:${sku}`, isRoom);
  if (room && passed(room, token.o)) {
    if (!mayBeRetry(key, passedAt(room, token.o))) {
      return error(403, 'ADMISSION_EXPIRED', 'Your turn passed; units that come back go to the next in line');
    }
    request.headers['x-dropline-turn-passed'] = { value: '1' };
  }
  // Expired: the origin answers (a retry of an attempt that made a hold gets that hold).
  return request;
}

// A possible retry that the drop's refusal answers as well as the origin would: sold out for good (nothing
// held, so any hold it made has lapsed or was bought; nothing of the shopper's is at stake but the replay's
// message), its key minted after the room went on (+skew), so its first send had to show an admission for
// this drop and customer, and it shows none, or one for another drop or (identity on) another customer. A
// farmed storm is answered here as soon as the sell-out's news arrives, not 2 s after.
async function cannotHoldAny(request, sku, drop, key) {
  if (!drop.room || !(drop.roomSince > 0) || drop.available !== 0 || drop.held !== 0) return false;
  if (!(mintedAt(key) >= drop.roomSince + SKEW_MS)) return false;
  return Boolean((await admission(request, sku, true)).refused);
}

// The attempt's admission: { token } (its verified claims), { refused } (the answer), or {} when the keys
// cannot be read (the origin judges). Lenient: a token that does not verify is {}, not refused.
async function admission(request, sku, lenient) {
  const keys = await read('admission-keys', isKeys);
  if (keys === null) return {};
  const header = request.headers['x-dropline-admission'];
  if (!header) {
    return refuse('ADMISSION_REQUIRED', 'The waiting room is on: queue first (GET /drops/{sku}/queue)');
  }
  const token = verify(header.value, keys);
  if (token === null || typeof token.e !== 'number')
    return lenient ? {} : refuse('ADMISSION_INVALID', 'Not a valid admission');
  if (token.s !== sku) return refuse('ADMISSION_WRONG_SKU', 'This admission is for another drop');
  // With shopper identity on, a signed-in shopper's admission must name them. The bearer token's subject is
  // read here, not verified (runtime 2.0 has no RSA or ECDSA; the origin verifies it): admissions farmed
  // under made-up customers by a signed-in account stop at the edge instead of spending the API's throttle
  // on CUSTOMER_MISMATCH. A client that leaves the token out or forges its subject still reaches the origin.
  const bearer = BEARER_CHECK && request.headers.authorization && BEARER.exec(request.headers.authorization.value);
  const subject = bearer && claimsOf(bearer[1]).sub;
  if (typeof subject === 'string' && CUSTOMER.test(subject) && subject !== token.c) {
    return refuse('ADMISSION_WRONG_CUSTOMER', 'This admission is for another customer');
  }
  return { token: token };
}

function refuse(code, message) {
  return { refused: error(403, code, message) };
}

// A possible retry passed on before the token is checked: marked when its admission's turn has passed (the
// claims read unverified; the origin verifies the token, and a forged order gains nothing there).
async function replayOnlyIfPassed(request, sku) {
  const header = request.headers['x-dropline-admission'];
  const order = header ? claimsOf(String(header.value).split('.')[0]).o : undefined;
  const room = typeof order === 'number' ? await read(`room:${sku}`, isRoom) : null;
  if (room && passed(room, order)) request.headers['x-dropline-turn-passed'] = { value: '1' };
  return request;
}

async function queue(request, sku) {
  const drop = await read(`drop:${sku}`, isDrop);
  if (drop === null) return request;
  const now = Date.now();
  const state = stateOf(drop, now);
  if (!drop.room) {
    return ok({
      state: state,
      position: 0,
      ahead: 0,
      etaSeconds: 0,
      admitted: state === 'OPEN',
      pollSeconds: poll(state, drop),
    });
  }
  const subject = customerOf(request.querystring.customerId);
  if (subject === null) return error(400, 'VALIDATION_ERROR', 'customerId: letters, digits and ._@:+|-; at most 128');
  const keys = await read('admission-keys', isKeys);
  if (keys === null) return error(503, 'UNAVAILABLE', 'The waiting room is starting; retry shortly', retryAfter('1'));
  let ticket;
  const header = request.headers['x-dropline-ticket'];
  const startsAt = Date.parse(drop.startsAt);
  if (header) {
    ticket = verify(header.value, keys);
    if (!ticket || typeof ticket.o !== 'number' || typeof ticket.t !== 'number') {
      return error(403, 'TICKET_INVALID', 'Not a valid ticket');
    }
    if (ticket.s !== sku) return error(403, 'TICKET_WRONG_SKU', 'This ticket is for another drop');
    if (ticket.c !== subject) return error(403, 'TICKET_WRONG_CUSTOMER', 'This ticket is for another customer');
  } else {
    // The order is fixed and signed now: a second ticket draws the same rank, a key rotation too (keys.rank).
    const o = now < startsAt ? startsAt - PRE_QUEUE_MS + rank(keys, sku, subject) * PRE_QUEUE_MS : now;
    ticket = { s: sku, c: subject, t: now, o: o };
  }
  const order = ticket.o;
  const room = (await read(`room:${sku}`, isRoom)) || { boundary: startsAt - PRE_QUEUE_MS, speed: 0, rate: 0 };
  const turnPassed = passed(room, order);
  const admitted = state === 'OPEN' && order <= room.boundary && !turnPassed;
  const waitingMs = Math.max(0, order - room.boundary);
  const eta = admitted ? 0 : !turnPassed && room.speed > 0 ? Math.ceil(waitingMs / room.speed) : null;
  const ahead = admitted ? 0 : eta === null || !room.rate ? null : Math.round(eta * room.rate);
  const answer = {
    state: state,
    position: admitted ? 0 : ahead === null ? null : ahead + 1,
    ahead: ahead,
    etaSeconds: eta,
    admitted: admitted,
    ticket: header ? header.value : sign(ticket, keys),
    pollSeconds: poll(state, drop),
  };
  if (turnPassed) answer.turnPassed = true;
  if (state === 'WAITING_FOR_RETURNS') answer.mayReturn = drop.held;
  if (admitted) answer.admission = sign({ s: sku, c: subject, o: order, e: now + TOKEN_MS }, keys);
  return ok(answer);
}

// How soon to ask again: every 2 s, and every second near the end (twice the requests for the shortest
// wait) — every unit held, or no more left than held: the last units are going, and the drop may end, or a
// unit come back to the next in line, any second. Told 2 s, a shopper would learn of the end up to 2 s after
// the edge did, which comes a second or more after the end itself.
function poll(state, drop) {
  return state === 'WAITING_FOR_RETURNS' || (state === 'OPEN' && drop.available >= 0 && drop.available <= drop.held)
    ? 1
    : 2;
}

function customerOf(param) {
  try {
    const value = param ? decodeURIComponent(param.value) : '';
    return CUSTOMER.test(value) ? value : null;
  } catch (_malformed) {
    return null;
  }
}

/** SOLD_OUT (nothing available or held), WAITING_FOR_RETURNS (all held), NOT_STARTED, PAUSED, CLOSED, OPEN. */
function stateOf(drop, now) {
  if (drop.state !== 'OPEN') return drop.state;
  if (drop.available === 0 && drop.held === 0) return 'SOLD_OUT';
  if (now < Date.parse(drop.startsAt)) return 'NOT_STARTED';
  if (drop.available === 0) return 'WAITING_FOR_RETURNS';
  return 'OPEN';
}

async function read(key, valid) {
  try {
    const value = await kvs.get(key, { format: 'json' });
    return valid(value) ? value : null;
  } catch (_missing) {
    return null;
  }
}

function isDrop(v) {
  return (
    v !== null &&
    typeof v === 'object' &&
    v.v === 1 &&
    STATES.indexOf(v.state) !== -1 &&
    typeof v.startsAt === 'string' &&
    !Number.isNaN(Date.parse(v.startsAt)) &&
    isCount(v.available) &&
    isCount(v.held) &&
    isCount(v.since) &&
    (v.roomSince === undefined || isCount(v.roomSince))
  );
}

function isKeys(v) {
  return isObject(v) && typeof v.active === 'string' && isObject(v.keys) && typeof v.keys[v.active] === 'string';
}

function isObject(v) {
  return v !== null && typeof v === 'object';
}

function isRoom(v) {
  return v !== null && typeof v === 'object' && v.v === 1 && Number.isFinite(v.boundary) && v.speed >= 0;
}

// An order key at or below the room's floor: admitted a window of open drop ago, its turn is over.
function passed(room, order) {
  return Number.isFinite(room.floor) && isCount(room.floorAt) && order <= room.floor;
}

// When a passed order's turn ended, at the latest (the floor's last rise, or the one before for older keys).
function passedAt(room, order) {
  return order <= room.lastFloor && isCount(room.lastFloorAt) ? room.lastFloorAt : room.floorAt;
}

// -1: not known yet.
function isCount(value) {
  return Number.isInteger(value) && value >= -1;
}

// A key that is not a UUIDv7 tells nothing of its age: it may retry an attempt that made a hold. A UUIDv7
// older than the origin keeps its record (24 h) cannot; one newer than the value (+skew) cannot either.
function mayBeRetry(keyHeader, since) {
  if (!keyHeader) return false;
  const minted = mintedAt(keyHeader);
  return Number.isNaN(minted) || (minted < since + SKEW_MS && minted > Date.now() - DAY_MS);
}

// When a UUIDv7 key was minted (its first 48 bits, ms); NaN for any other key, or none.
function mintedAt(keyHeader) {
  const key = keyHeader ? keyHeader.value : '';
  return UUID_V7.test(key) ? parseInt(key.slice(0, 8) + key.slice(9, 13), 16) : Number.NaN;
}

function refusal(drop, now) {
  if (drop.state === 'CLOSED') return error(409, 'DROP_CLOSED', 'The drop is closed');
  if (drop.state === 'PAUSED') {
    return error(503, 'DROP_PAUSED', 'The drop is paused; try again shortly', retryAfter('5'));
  }
  if (now < Date.parse(drop.startsAt)) return error(403, 'DROP_NOT_STARTED', `The drop starts at ${drop.startsAt}`);
  // Held units may come back: then the origin answers (cheaply).
  if (drop.available === 0 && drop.held === 0) return error(409, 'SOLD_OUT', 'Sold out');
  return null;
}

// A ticket or token: base64url(JSON with the key id) "." base64url(HMAC-SHA256 of the first part).
function sign(claims, keys) {
  claims.k = keys.active;
  const body = b64(Buffer.from(JSON.stringify(claims)).toString('base64'));
  return `${body}.${mac(keys.keys[keys.active], body)}`;
}

function verify(value, keys) {
  const parts = String(value).split('.');
  if (parts.length !== 2) return null;
  const claims = claimsOf(parts[0]);
  const secret = claims && typeof claims.k === 'string' && keys.keys[claims.k];
  return typeof secret === 'string' && same(mac(secret, parts[0]), parts[1]) ? claims : null;
}

// The JSON object in a base64url part ({} when there is none), as tickets, tokens and JWTs carry claims.
function claimsOf(part) {
  try {
    const claims = JSON.parse(Buffer.from(part.replace(/-/g, '+').replace(/_/g, '/'), 'base64').toString());
    return claims !== null && typeof claims === 'object' ? claims : {};
  } catch (_bad) {
    return {};
  }
}

// Constant-time: how much of a MAC matched must not show in the time taken (no timingSafeEqual here).
// codePointAt, not charCodeAt, which runtime 2.0's page does not list; the same on a MAC's ASCII, and any
// other character differs from it all the same.
function same(a, b) {
  let diff = a.length ^ b.length;
  for (let i = 0; i < a.length; i++) diff |= a.codePointAt(i) ^ b.codePointAt(i % (b.length || 1));
  return diff === 0;
}

function mac(secret, data) {
  return b64(crypto.createHmac('sha256', secret).update(data).digest('base64'));
}

function b64(base64) {
  return base64.replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

// In [0, 1): the pre-queue's shuffle, keyed by a secret so no one can compute their place; by one no rotation
// changes (keys.rank), or asking again after a rotation would be a second draw.
function rank(keys, sku, subject) {
  const secret = typeof keys.rank === 'string' ? keys.rank : keys.keys[keys.active];
  const hex = crypto.createHmac('sha256', secret).update(`rank:${sku}:${subject}`).digest('hex');
  return parseInt(hex.slice(0, 8), 16) / 4294967296;
}

function retryAfter(seconds) {
  return { 'retry-after': { value: seconds } };
}

function ok(body) {
  return respond(200, body, {});
}

function error(status, code, message, extra) {
  return respond(status, { error: { code: code, message: message } }, extra || {});
}

// Runtime 2.0 takes a response body as { encoding, data }.
function respond(statusCode, body, extra) {
  const headers = {
    'content-type': { value: 'application/json' },
    'cache-control': { value: 'no-store' },
    'x-dropline-edge': { value: 'answered' },
  };
  for (const name in extra) headers[name] = extra[name];
  return { statusCode: statusCode, headers: headers, body: { encoding: 'text', data: JSON.stringify(body) } };
}
