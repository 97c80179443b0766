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
