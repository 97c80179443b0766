/**
 * The drop page on a stack that verifies shopper identity (the built-in test issuer standing in for the
 * shop's OpenID Connect provider), in Chromium. The shop's sign-in leaves `{subject, token}` in
 * sessionStorage (`dropline:identity`, site/assets/memory.js): the page reserves as that subject and sends
 * the token. Without a sign-in it is told to sign in, and nothing is held.
 */
import { type Browser, chromium, type Page } from 'playwright-core';
import { ApiClient } from '../../local/api-client';
import { startTestStack, type TestStack } from '../support/local-stack';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

let stack: TestStack;
let api: ApiClient;
let browser: Browser;
let serial = 0;

beforeAll(async () => {
  stack = await startTestStack({ identity: true });
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
  const sku = `signed-${++serial}`;
  expect((await api.putProduct(sku, { name: 'Signed Tee', priceCents: 3500, stock: 5 })).status).toBe(201);
  return sku;
}

async function inBrowser(body: (page: Page) => Promise<void>, signIn?: { subject: string; token: string }) {
  const context = await browser.newContext();
  if (signIn) {
    // As the shop's sign-in would, before the page's scripts run.
    await context.addInitScript((identity) => {
      sessionStorage.setItem('dropline:identity', JSON.stringify(identity));
    }, signIn);
  }
  const page = await context.newPage();
  const errors: string[] = [];
  page.on('pageerror', (error) => errors.push(error.message));
  try {
    await body(page);
    expect(errors).toEqual([]);
  } finally {
    await context.close();
  }
}

test('signed in, the page reserves as the signed-in subject and sends the token', async () => {
  const sku = await product();
  const issuer = stack.identity as NonNullable<TestStack['identity']>;
  await inBrowser(
    async (page) => {
      const sent = page.waitForRequest(
        (request) => request.method() === 'POST' && request.url().endsWith('/reservations'),
      );
      await page.goto(`${stack.url}/?sku=${sku}`);
      await page.locator('#reserve:enabled').click();
      await page.locator('#hold').waitFor();
      const request = await sent;
      expect((await request.allHeaders()).authorization).toMatch(/^Bearer [\w-]+\.[\w-]+\.[\w-]+$/);
      expect(JSON.parse(request.postData() ?? '{}').customerId).toBe('shopper-ann');
    },
    { subject: 'shopper-ann', token: issuer.mint('shopper-ann') },
  );
  expect(await api.ledger(sku)).toMatchObject({ held: 1 });
});

test('not signed in, the page says to sign in and holds nothing', async () => {
  const sku = await product();
  await inBrowser(async (page) => {
    await page.goto(`${stack.url}/?sku=${sku}`);
    await page.locator('#reserve:enabled').click();
    // Shown, and announced to screen readers (#announce).
    await page.getByText('Sign in to the shop to reserve').first().waitFor();
  });
  expect(await api.ledger(sku)).toMatchObject({ held: 0 });
});
