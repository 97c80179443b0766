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

import { CAPTCHA_STEP, messageFor } from './messages.js';

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

/**
 * The edge's CAPTCHA at ticket issuance (`captcha-on-suspicious-ticket`, lib/constructs/edge-firewall.ts):
 * when Bot Control finds the client suspicious, WAF answers the queue's fetch with 405 and
 * `x-amzn-waf-action: captcha` and no puzzle, since only a request that accepts text/html gets the
 * puzzle page ("CaptchaAction", https://docs.aws.amazon.com/waf/latest/APIReference/API_CaptchaAction.html).
 *
 * The choice: WAF's own CAPTCHA page, opened in a new tab, not the puzzle drawn in this page.
 * `AwsWafCaptcha.renderCaptcha` needs an API key ("CAPTCHA JavaScript API specification",
 * https://docs.aws.amazon.com/waf/latest/developerguide/waf-js-captcha-api-specification.html), and
 * CloudFormation has no resource for one: keys come from the console or WAFv2 `CreateAPIKey`, tied to the
 * page's domains, and the `jsapi.js` address that goes with them is shown in the console, returned by no
 * API ("Using the CAPTCHA JavaScript API", https://docs.aws.amazon.com/waf/latest/developerguide/waf-js-captcha-api.html;
 * "CreateAPIKey", https://docs.aws.amazon.com/waf/latest/APIReference/API_CreateAPIKey.html). The deploy
 * could not write them into `assets/config.json` as it writes the integration URL. WAF's page needs
 * neither: a navigation to the queue address is a GET that accepts text/html, so WAF shows its puzzle
 * and, once solved, leaves the CAPTCHA timestamp in the `aws-waf-token` cookie and resubmits the request
 * ("Handling a CAPTCHA response from AWS WAF",
 * https://docs.aws.amazon.com/waf/latest/developerguide/waf-js-captcha-api-conditional.html). The cookie
 * is this origin's, so this page's retry carries it. A new tab (a link, which no popup blocker stops)
 * keeps this page and its state; the tab itself ends on the queue's JSON, which the shopper closes.
 */

/** True when the answer is AWS WAF's CAPTCHA action rather than the API's. */
export function isCaptcha(answer) {
  return answer.status === 405 && answer.headers?.get?.('x-amzn-waf-action') === 'captcha';
}

let step;

/** The step's card, made once, placed before the queue's (site/index.html `#waiting`). */
function captchaCard() {
  if (step) return step;
  const section = document.createElement('section');
  section.id = 'captcha';
  section.className = 'card';
  section.setAttribute('aria-labelledby', 'captcha-title');
  section.hidden = true;
  const title = document.createElement('h2');
  title.id = 'captcha-title';
  title.tabIndex = -1;
  title.textContent = CAPTCHA_STEP.title;
  const text = document.createElement('p');
  text.id = 'captcha-text';
  const link = document.createElement('a');
  link.id = 'captcha-open';
  link.target = '_blank';
  link.rel = 'noopener';
  link.textContent = CAPTCHA_STEP.open;
  const done = document.createElement('button');
  done.type = 'button';
  done.id = 'captcha-done';
  done.className = 'secondary';
  done.textContent = CAPTCHA_STEP.done;
  section.append(title, text, link, done);
  const waiting = document.getElementById('waiting');
  if (waiting) waiting.before(section);
  else (document.querySelector('main') ?? document.body).append(section);
  step = { section, title, text, link, done };
  return step;
}

/**
 * Shows the CAPTCHA step for `url` (the queue address the edge refused) and resolves once the shopper
 * says the puzzle is solved or comes back to this tab after opening it; the caller then asks again.
 * Nothing is asked of the edge while the step waits. `unsolved` says the last try came back refused.
 */
export function askForCaptcha(url, { signal, unsolved = false } = {}) {
  const card = captchaCard();
  card.link.href = url;
  card.text.textContent = messageFor(unsolved ? 'CAPTCHA_UNSOLVED' : 'CAPTCHA_REQUIRED');
  const wasHidden = card.section.hidden;
  card.section.hidden = false;
  if (wasHidden || unsolved) card.title.focus();
  return new Promise((resolve, reject) => {
    let opened = false;
    const stop = () => {
      card.link.removeEventListener('click', onOpen);
      card.done.removeEventListener('click', finish);
      removeEventListener('focus', onReturn);
      document.removeEventListener('visibilitychange', onReturn);
      signal?.removeEventListener('abort', onAbort);
    };
    const finish = () => {
      stop();
      resolve();
    };
    const onOpen = () => {
      opened = true;
    };
    const onReturn = () => {
      if (opened && !document.hidden && document.hasFocus()) finish();
    };
    const onAbort = () => {
      stop();
      reject(signal.reason ?? new DOMException('Aborted', 'AbortError'));
    };
    if (signal?.aborted) return onAbort();
    card.link.addEventListener('click', onOpen);
    card.done.addEventListener('click', finish);
    addEventListener('focus', onReturn);
    document.addEventListener('visibilitychange', onReturn);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** Takes the step away once the edge has let the queue's request through. */
export function hideCaptcha() {
  if (step) step.section.hidden = true;
}
