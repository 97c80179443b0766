/**
 * What the page remembers across reloads, per browser: who the shopper is,
 * and per drop the hold, the order, an unanswered Reserve (so a reload resends
 * it under the same Idempotency-Key) and the last availability seen (shown,
 * marked as such, when the network is gone). Storage may be refused
 * (private modes, quotas): the page then works without memory.
 */
const CUSTOMER_KEY = 'dropline:customer';
/**
 * Where the shop's sign-in leaves the shopper for this page, when the stack verifies identity:
 * `sessionStorage['dropline:identity'] = JSON.stringify({ subject, token })` (the token's `sub`, and the
 * token itself, sent as `Authorization: Bearer` on a reservation).
 */
const IDENTITY_KEY = 'dropline:identity';

function read(key) {
  try {
    return JSON.parse(localStorage.getItem(key) ?? 'null');
  } catch {
    return null;
  }
}

function write(key, value) {
  try {
    localStorage.setItem(key, JSON.stringify(value));
  } catch {
    // Storage refused: this page load still works, a reload forgets.
  }
}

/** The shop's sign-in, when it left one: `{ subject, token }`, else null. */
export function signedIn() {
  try {
    const identity = JSON.parse(sessionStorage.getItem(IDENTITY_KEY) ?? 'null');
    return typeof identity?.subject === 'string' && typeof identity?.token === 'string' ? identity : null;
  } catch {
    return null;
  }
}

/** The signed-in subject; without a sign-in, a stable id for this browser. */
export function customerId() {
  const identity = signedIn();
  if (identity) return identity.subject;
  const known = read(CUSTOMER_KEY);
  if (typeof known === 'string' && /^web-[0-9a-f-]{36}$/.test(known)) return known;
  const fresh = `web-${crypto.randomUUID()}`;
  write(CUSTOMER_KEY, fresh);
  return fresh;
}

/** The drop's remembered state: `{ reservation?, order?, pending?, product?, productSeenAt? }`. */
export function dropMemory(sku) {
  const key = `dropline:drop:${sku}`;
  return {
    load: () => read(key) ?? {},
    save(patch) {
      const next = { ...(read(key) ?? {}), ...patch };
      for (const [name, value] of Object.entries(next)) if (value === undefined) delete next[name];
      write(key, next);
    },
  };
}
