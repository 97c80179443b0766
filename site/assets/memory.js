/**
 * What the page remembers across reloads, per browser: who the shopper is,
 * and per drop the hold, the order, an unanswered Reserve (so a reload resends
 * it under the same Idempotency-Key) and the last availability seen (shown,
 * marked as such, when the network is gone). Storage may be refused
 * (private modes, quotas): the page then works without memory.
 */
const CUSTOMER_KEY = 'dropline:customer';

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

/** A stable id for this browser, as the shop's sign-in would give when one is configured. */
export function customerId() {
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
