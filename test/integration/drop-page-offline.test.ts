/**
 * The drop page without a network: its service worker keeps the shell, so a
 * reload opens the page and shows the last state it knew, saying so; no API
 * answer is ever in its cache. The network is taken away for real: the
 * local stack stops, so nothing answers at all. A failure saves a screenshot
 * under reports/drop-page/.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { type Browser, type BrowserContext, chromium, type Page } from 'playwright-core';
import { ApiClient } from '../../local/api-client';
import { eventually } from '../support/eventually';
import { startTestStack, type TestStack } from '../support/local-stack';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const SCREENSHOTS = join(import.meta.dirname, '..', '..', 'reports', 'drop-page');
const SKU = 'offline-tee';

let stack: TestStack | undefined;
let browser: Browser;
let context: BrowserContext;
let page: Page;
const errors: string[] = [];

beforeAll(async () => {
  stack = await startTestStack();
  const api = new ApiClient(stack.url, stack.adminKey);
  try {
    const created = await api.putProduct(SKU, { name: 'Offline Tee', priceCents: 2900, stock: 7 });
    expect(created.status).toBe(201);
  } finally {
    await api.close();
  }
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-gpu'] });
  context = await browser.newContext();
  page = await context.newPage();
  page.on('pageerror', (error) => errors.push(error.message));
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await stack?.stop();
});

/** Photographs the page when `body` fails. */
async function photographedOnFailure(body: () => Promise<void>): Promise<void> {
  try {
    await body();
  } catch (error) {
    mkdirSync(SCREENSHOTS, { recursive: true });
    const name = (expect.getState().currentTestName ?? 'offline').replace(/[^\w-]+/g, '-').slice(0, 120);
    const file = join(SCREENSHOTS, `${name}.png`);
    await page.screenshot({ path: file, fullPage: true }).catch(() => undefined);
    console.error(`drop page screenshot: ${file}`);
    throw error;
  }
}

const text = async (selector: string) => (await page.locator(selector).textContent()) ?? '';
/** Every URL in the page's caches, read in the page (this project's TypeScript has no DOM types). */
const cachedUrls = () =>
  page.evaluate(`caches.keys()
    .then((names) => Promise.all(names.map((name) => caches.open(name).then((cache) => cache.keys()))))
    .then((lists) => lists.flat().map((request) => new URL(request.url).pathname))`) as Promise<string[]>;

test('online, the service worker takes the shell and holds no API answer', async () => {
  await photographedOnFailure(async () => {
    await page.goto(`${(stack as TestStack).url}/?sku=${SKU}`);
    // Polled from outside: waitForFunction would evaluate its text inside the page, which the page's CSP forbids.
    await eventually(
      async () => expect(await page.evaluate('navigator.serviceWorker.controller !== null')).toBe(true),
      {
        timeoutMs: 10_000,
      },
    );
    await page.locator('#reserve:enabled').click();
    await page.locator('#hold').waitFor();
    await page.waitForTimeout(1500); // a few polls, the hold and the waiting-room check go by

    const cached = await cachedUrls();

    expect(cached).toEqual(
      expect.arrayContaining(['/', '/assets/drop.js', '/assets/drop.css', '/assets/api.js', '/assets/messages.js']),
    );
    expect(cached.filter((path) => !path.startsWith('/assets/') && path !== '/')).toEqual([]);
    expect(errors).toEqual([]);
  });
});

test('with the network gone, a reload opens the page with the last known state and says so', async () => {
  await photographedOnFailure(async () => {
    const available = await text('#available');
    const held = await text('#hold-quantity');
    await (stack as TestStack).stop();
    stack = undefined;

    await page.reload();

    await page.locator('#network').waitFor({ timeout: 10_000 });
    expect(await text('#network')).toMatch(/^You are offline\. This is the last known state, from .+\.$/);
    expect(await text('#name')).toBe('Offline Tee');
    expect(await text('#price')).toBe('$29.00');
    expect(await text('#available')).toBe(available);
    expect(await page.locator('#hold').isVisible()).toBe(true);
    expect(await text('#hold-quantity')).toBe(held);
    expect(await page.locator('#reserve-form').isHidden()).toBe(true);
    expect(errors).toEqual([]);
  });
});
