/**
 * Keeps the shopper's AWS WAF token fresh while the page waits for the drop,
 * so a Reserve click made long after the page opened is not refused by the
 * edge's challenge because the token the page got on load has expired.
 *
 * Deployed, `assets/config.json` names the web ACL's integration URL and this
 * loads AWS WAF's JavaScript integration from it, `<integration URL>challenge.js`
 * ("AWS WAF JavaScript integrations",
 * https://docs.aws.amazon.com/waf/latest/developerguide/waf-javascript-api.html) —
 * the one request the page makes outside its own origin (the page's CSP admits
 * `https://*.awswaf.com` for it, as "Using the JavaScript API with content
 * security policies" says, https://docs.aws.amazon.com/waf/latest/developerguide/waf-javascript-api-csp.html).
 * Locally the file says `null` (there is no WAF) and nothing else happens.
 *
 * `AwsWafIntegration.getToken()` returns the token it holds while that is
 * unexpired, else fetches a new one (waiting up to 2 s, then throwing), and
 * stores it in the `aws-waf-token` cookie of the page ("How to use the
 * integration getToken", https://docs.aws.amazon.com/waf/latest/developerguide/waf-js-challenge-api-get-token.html;
 * "Intelligent threat API specification",
 * https://docs.aws.amazon.com/waf/latest/developerguide/waf-js-challenge-api-specification.html).
 * The API is on the page's origin, so every call the page makes sends that
 * cookie: a fresh cookie is all a request needs.
 */

/** Deployed, the web ACL's integration URL; locally `null`. Never cached: it is read fresh on every load. */
const CONFIG_PATH = '/assets/config.json';
/**
 * How often a waiting page asks for its token. The integration SDK uses the web ACL's challenge immunity
 * time, 900 s here (lib/constructs/edge-firewall.ts; "Setting timestamp expiration and token immunity
 * times", https://docs.aws.amazon.com/waf/latest/developerguide/waf-tokens-immunity-times.html). getToken
 * only goes to AWS once the token it holds has expired and answers at once before that, so this period is
 * the longest a waiting page can hold an expired token: a minute, 1/15 of the immunity time, for a call
 * that costs nothing while the token is fresh. A page that comes back into view asks at once.
 */
export const REFRESH_MS = 60_000;
/** The longest a write waits for a token: then it goes anyway, and the edge decides. Never blocks a purchase. */
export const READY_WAIT_MS = 3000;

let integration;
let refreshing;

/** The integration URL the deployment configured, or undefined (locally, offline, or an unreadable file). */
async function configuredUrl() {
  const response = await fetch(CONFIG_PATH, { cache: 'no-store', credentials: 'same-origin' });
  if (!response.ok) return undefined;
  const { wafIntegrationUrl } = await response.json();
  if (typeof wafIntegrationUrl !== 'string' || !wafIntegrationUrl) return undefined;
  const base = new URL(wafIntegrationUrl.endsWith('/') ? wafIntegrationUrl : `${wafIntegrationUrl}/`);
  return base.protocol === 'https:' ? base : undefined;
}

function loadScript(src) {
  return new Promise((resolve, reject) => {
    const script = document.createElement('script');
    script.src = src;
    script.async = true;
    script.addEventListener('load', resolve, { once: true });
    script.addEventListener('error', () => reject(new Error(`${src} did not load`)), { once: true });
    document.head.append(script);
  });
}

/** `AwsWafIntegration` once its script has loaded; undefined when there is none. Loads the script once. */
function loadIntegration() {
  integration ??= (async () => {
    const base = await configuredUrl();
    if (!base) return undefined;
    await loadScript(new URL('challenge.js', base).href);
    return typeof globalThis.AwsWafIntegration?.getToken === 'function' ? globalThis.AwsWafIntegration : undefined;
  })().catch(() => undefined);
  return integration;
}

/** `promise`'s value, or undefined once `ms` have passed. */
function within(promise, ms) {
  let timer;
  const late = new Promise((resolve) => {
    timer = setTimeout(resolve, ms);
  });
  return Promise.race([promise, late]).finally(() => clearTimeout(timer));
}

/** A current token (the cookie now holds it), or undefined. One request for a token at a time. */
function refresh() {
  refreshing ??= (async () => {
    const api = await loadIntegration();
    if (!api) return undefined;
    try {
      return await api.getToken();
    } catch {
      return undefined; // it timed out or failed: the next refresh, or the edge's own challenge, tries again
    } finally {
      refreshing = undefined;
    }
  })();
  return refreshing;
}

/**
 * Resolves when the page's token is fresh, or after `READY_WAIT_MS` whatever happened: every write awaits
 * it. Without an integration (locally) it resolves as soon as the config says so.
 */
export function wafReady() {
  return within(refresh(), READY_WAIT_MS);
}

let started = false;
/** Gets a token now, again whenever the page comes back into view, and every `REFRESH_MS` while it is seen. */
export function keepWafTokenFresh() {
  if (started) return;
  started = true;
  loadIntegration().then((api) => {
    if (!api) return;
    refresh();
    document.addEventListener('visibilitychange', () => {
      if (!document.hidden) refresh();
    });
    setInterval(() => {
      if (!document.hidden) refresh();
    }, REFRESH_MS);
  });
}
