/**
 * The drop page and AWS WAF's token (site/assets/waf.js), in Chromium
 * against the local stack. Locally there is no WAF: the page asks nothing of
 * any other origin. Deployed, `assets/config.json` names the web ACL's
 * integration URL: the page loads `challenge.js` from it once, gets a token
 * on load, and gets one again before a reservation, whose request carries it
 * in the `aws-waf-token` cookie as the real integration's getToken leaves it
 * ("How to use the integration getToken",
 * https://docs.aws.amazon.com/waf/latest/developerguide/waf-js-challenge-api-get-token.html).
 * Here that URL is on *.awswaf.com (so the page's own CSP is tested too) and
 * answered by a stub integration routed in the browser.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { type Browser, chromium, type Page, type Request } from 'playwright-core';
import { ApiClient } from '../../local/api-client';
import { eventually } from '../support/eventually';
import { startTestStack, type TestStack } from '../support/local-stack';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const SCREENSHOTS = join(import.meta.dirname, '..', '..', 'reports', 'drop-page');
/** The shape of a web ACL's integration URL; nothing answers it but the route below. */
const INTEGRATION_URL = 'https://0123456789ab.us-east-1.sdk.awswaf.com/0123456789ab/cdef01234567/';

/**
 * A stand-in for AWS WAF's challenge.js: the documented surface (getToken, hasToken, fetch). Its getToken
 * leaves a new token in the `aws-waf-token` cookie on every call, so a request shows which call it follows.
 */
const STUB_CHALLENGE_JS = `
window.wafStub = { getTokenCalls: 0 };
window.AwsWafIntegration = {
  async getToken() {
    const token = 'stub-token-' + ++window.wafStub.getTokenCalls;
    document.cookie = 'aws-waf-token=' + token + '; path=/; SameSite=Strict';
    return token;
  },
  hasToken() {
    return document.cookie.split('; ').some((pair) => pair.startsWith('aws-waf-token='));
  },
  fetch: (...args) => window.fetch(...args),
};
`;

let stack: TestStack;
let api: ApiClient;
let browser: Browser;
let serial = 0;

beforeAll(async () => {
  stack = await startTestStack();
  api = new ApiClient(stack.url, stack.adminKey);
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--no-first-run'],
  });
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await api?.close();
  await stack?.stop();
});

async function product(): Promise<string> {
  const sku = `waf-${++serial}`;
  const created = await api.putProduct(sku, { name: 'Token Tee', priceCents: 3500, stock: 5 });
  expect(created.status).toBe(201);
  return sku;
}

interface Watched {
  readonly page: Page;
  /** Every request the page made outside its origin. */
  readonly foreign: string[];
  readonly reservations: Request[];
}

/**
 * A fresh page that must throw no script error and log no failed load of the config or the integration;
 * photographed when `body` fails.
 */
async function inBrowser(body: (watched: Watched) => Promise<void>): Promise<void> {
  const context = await browser.newContext();
  const page = await context.newPage();
  const errors: string[] = [];
  const watched: Watched = { page, foreign: [], reservations: [] };
  page.on('pageerror', (error) => errors.push(error.message));
  page.on('console', (message) => {
    const text = `${message.text()} ${message.location().url}`;
    if (message.type() === 'error' && /config\.json|awswaf/.test(text)) errors.push(text);
  });
  page.on('request', (request) => {
    const url = request.url();
    if (!url.startsWith(stack.url) && !url.startsWith('data:')) watched.foreign.push(url);
    if (request.method() === 'POST' && url.endsWith('/reservations')) watched.reservations.push(request);
  });
  try {
    await body(watched);
    expect(errors).toEqual([]);
  } catch (error) {
    mkdirSync(SCREENSHOTS, { recursive: true });
    const name = (expect.getState().currentTestName ?? 'drop-page-waf').replace(/[^\w-]+/g, '-').slice(0, 120);
    const file = join(SCREENSHOTS, `${name}.png`);
    await page.screenshot({ path: file, fullPage: true }).catch(() => undefined);
    console.error(`drop page screenshot: ${file}`);
    throw error;
  } finally {
    await context.close();
  }
}

const stubCalls = (page: Page) => page.evaluate('window.wafStub?.getTokenCalls ?? 0') as Promise<number>;

test('locally the page loads no WAF integration and asks nothing of any other origin; reserving works', async () => {
  const sku = await product();
  await inBrowser(async ({ page, foreign, reservations }) => {
    const config = page.waitForResponse((response) => response.url().endsWith('/assets/config.json'));
    await page.goto(`${stack.url}/?sku=${sku}`);
    expect(await (await config).json()).toEqual({ wafIntegrationUrl: null });

    await page.locator('#reserve:enabled').click();
    await page.locator('#hold').waitFor();

    expect(reservations).toHaveLength(1);
    expect((await reservations[0]?.allHeaders())?.cookie ?? '').not.toContain('aws-waf-token');
    expect(await page.evaluate('typeof window.AwsWafIntegration')).toBe('undefined');
    expect(foreign).toEqual([]);
    expect(await api.ledger(sku)).toMatchObject({ held: 1 });
  });
});

test('deployed, the page loads challenge.js once, gets a token on load and again before the reservation it sends it with', async () => {
  const sku = await product();
  await inBrowser(async ({ page, foreign, reservations }) => {
    await page.route('**/assets/config.json', (route) =>
      route.fulfill({ contentType: 'application/json', body: JSON.stringify({ wafIntegrationUrl: INTEGRATION_URL }) }),
    );
    await page.route(`${INTEGRATION_URL}**`, (route) =>
      route.fulfill({ contentType: 'text/javascript', body: STUB_CHALLENGE_JS }),
    );
    await page.goto(`${stack.url}/?sku=${sku}`);
    await page.locator('#reserve:enabled').waitFor();
    await eventually(async () => expect(await stubCalls(page)).toBeGreaterThanOrEqual(1));
    const beforeClick = await stubCalls(page);

    await page.locator('#reserve:enabled').click();
    await page.locator('#hold').waitFor();

    // The token the reservation carries was made after the click, before the request left.
    expect(reservations).toHaveLength(1);
    const cookie = (await reservations[0]?.allHeaders())?.cookie ?? '';
    const sent = /(?:^|;\s*)aws-waf-token=stub-token-(\d+)/.exec(cookie);
    expect(Number(sent?.[1])).toBeGreaterThan(beforeClick);
    expect(foreign).toEqual([`${INTEGRATION_URL}challenge.js`]);
    expect(await api.ledger(sku)).toMatchObject({ held: 1 });
  });
});

/**
 * AWS WAF's CAPTCHA at ticket issuance (`captcha-on-suspicious-ticket`, lib/constructs/edge-firewall.ts).
 * There is no WAF locally, so the browser's own routing stands in for it on the queue's address, as the
 * rule would: a request without a ticket and without a solved CAPTCHA in its `aws-waf-token` cookie gets
 * 405 with `x-amzn-waf-action: captcha` when it is a fetch, and a puzzle page when it is a navigation
 * (Accept: text/html), whose solve sets the cookie and resubmits the request, as WAF's page does
 * ("CaptchaAction", https://docs.aws.amazon.com/waf/latest/APIReference/API_CaptchaAction.html). Every
 * other request goes on to the local stack.
 */
const SOLVED = 'aws-waf-token=captcha-solved';
const STUB_PUZZLE_PAGE = `<!doctype html><title>Human verification</title>
<button id="solve" onclick="document.cookie='${SOLVED}; path=/'; location.reload()">Solve</button>`;

test('a queue arrival the edge asks to solve a CAPTCHA sees the puzzle step, is not queued until it is solved, then queues and reserves', async () => {
  const sku = await product();
  await inBrowser(async ({ page, reservations }) => {
    const refusedFetches: string[] = [];
    await page.context().route('**/drops/*/queue*', async (route, request) => {
      const headers = await request.allHeaders();
      const solved = (headers.cookie ?? '').split(/;\s*/).includes(SOLVED);
      if (headers['x-dropline-ticket'] || solved) return route.continue();
      if (request.resourceType() === 'document') {
        return route.fulfill({
          status: 405,
          contentType: 'text/html',
          headers: { 'x-amzn-waf-action': 'captcha' },
          body: STUB_PUZZLE_PAGE,
        });
      }
      refusedFetches.push(request.url());
      return route.fulfill({ status: 405, headers: { 'x-amzn-waf-action': 'captcha' }, body: '' });
    });
    await page.goto(`${stack.url}/?sku=${sku}`);

    const step = page.locator('#captcha');
    await step.waitFor();
    await expect(page.locator('#captcha-text').textContent()).resolves.toMatch(/solve a short puzzle/);
    expect(await page.evaluate('document.activeElement?.id')).toBe('captcha-title');
    expect(await page.locator('#reserve').isEnabled()).toBe(false);

    // Saying it is solved when it is not: asked again, and still not queued.
    await page.locator('#captcha-done').click();
    await eventually(async () => expect(refusedFetches).toHaveLength(2));
    // The refusal is recorded as it is sent; the page says so once it has read it.
    await eventually(async () => expect(await page.locator('#captcha-text').textContent()).toMatch(/not solved yet/));
    expect(await page.locator('#reserve').isEnabled()).toBe(false);

    // The link opens WAF's puzzle page on the queue's own address, in a new tab.
    const [tab] = await Promise.all([page.context().waitForEvent('page'), page.locator('#captcha-open').click()]);
    await tab.waitForLoadState();
    const opened = new URL(tab.url());
    const customer = await page.evaluate(() => JSON.parse(localStorage.getItem('dropline:customer') ?? 'null'));
    expect(opened.pathname).toBe(`/drops/${sku}/queue`);
    expect(opened.searchParams.get('customerId')).toBe(customer);
    await tab.locator('#solve').click();
    await tab.waitForURL(/\/queue/);
    await tab.close();

    await page.locator('#captcha-done').click();
    await page.locator('#reserve:enabled').waitFor();
    expect(await step.isHidden()).toBe(true);
    // Nothing was asked of the edge while the step waited: one refused fetch on arrival, one after the
    // first "solved" click.
    expect(refusedFetches).toHaveLength(2);

    await page.locator('#reserve:enabled').click();
    await page.locator('#hold').waitFor();
    expect(reservations).toHaveLength(1);
    expect(await api.ledger(sku)).toMatchObject({ held: 1 });
  });
});
