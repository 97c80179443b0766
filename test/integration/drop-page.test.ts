/**
 * The drop page as a shopper uses it: in a real browser (Debian's Chromium,
 * driven by playwright-core) against the local stack's gateway, which serves
 * the page and the API from one origin as CloudFront does. A failing test
 * saves a screenshot under reports/drop-page/.
 */
import { mkdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { type Browser, type BrowserContextOptions, chromium, type Page } from 'playwright-core';
import { ApiClient } from '../../local/api-client';
import { eventually } from '../support/eventually';
import { startTestStack, type TestStack } from '../support/local-stack';

const root = join(import.meta.dirname, '..', '..');
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const SCREENSHOTS = join(root, 'reports', 'drop-page');
const PHONE: BrowserContextOptions = { viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true };

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

/** A fresh product per test, so tests share no stock. */
async function product(overrides: Record<string, unknown> = {}): Promise<string> {
  const sku = `page-${++serial}`;
  const created = await api.putProduct(sku, { name: 'Drop Tee', priceCents: 3500, stock: 5, ...overrides });
  expect(created.status).toBe(201);
  return sku;
}

interface Watched {
  readonly page: Page;
  /** POST /products/{sku}/reservations requests, by their Idempotency-Key. */
  readonly reserveKeys: string[];
  readonly queueAnswers: number[];
}

/**
 * Runs `body` on a fresh page (its own storage: its own shopper). The page must
 * throw no script error and ask nothing of any other origin; on failure the
 * page is photographed.
 */
async function inBrowser(options: BrowserContextOptions, body: (watched: Watched) => Promise<void>): Promise<void> {
  const context = await browser.newContext(options);
  const page = await context.newPage();
  const errors: string[] = [];
  const foreign: string[] = [];
  const watched: Watched = { page, reserveKeys: [], queueAnswers: [] };
  page.on('pageerror', (error) => errors.push(error.message));
  page.on('request', (request) => {
    const url = request.url();
    if (!url.startsWith(stack.url) && !url.startsWith('data:')) foreign.push(url);
    if (request.method() === 'POST' && url.endsWith('/reservations')) {
      watched.reserveKeys.push(request.headers()['idempotency-key'] ?? '(none)');
    }
  });
  page.on('response', (response) => {
    if (/\/drops\/[^/]+\/queue(\?|$)/.test(response.url())) watched.queueAnswers.push(response.status());
  });
  try {
    await body(watched);
    expect(errors).toEqual([]);
    expect(foreign).toEqual([]);
  } catch (error) {
    mkdirSync(SCREENSHOTS, { recursive: true });
    const name = (expect.getState().currentTestName ?? 'drop-page').replace(/[^\w-]+/g, '-').slice(0, 120);
    const file = join(SCREENSHOTS, `${name}.png`);
    await page.screenshot({ path: file, fullPage: true }).catch(() => undefined);
    console.error(`drop page screenshot: ${file}`);
    throw error;
  } finally {
    await context.close();
  }
}

const open = (page: Page, sku: string) => page.goto(`${stack.url}/?sku=${sku}`);
/** Scripts run in the page, written as text: this project's TypeScript has no DOM types. */
const pageWidth = (page: Page) => page.evaluate('document.documentElement.scrollWidth') as Promise<number>;
const focused = (page: Page) => page.evaluate('document.activeElement?.id') as Promise<string | undefined>;
const text = async (page: Page, selector: string) => (await page.locator(selector).textContent()) ?? '';

async function reserveOne(page: Page): Promise<void> {
  await page.locator('#reserve:enabled').click();
  await page.locator('#hold').waitFor();
}

async function payAndSeeFulfilled(page: Page): Promise<void> {
  await page.locator('#pay').click();
  await page.locator('#order').waitFor();
  await page.locator('#order-steps li[data-step="FULFILLED"][data-done]').waitFor({ timeout: 15_000 });
}

test('shows the product, its price and availability, and follows a change made elsewhere within 3 s', async () => {
  const sku = await product({ name: 'Live Tee', priceCents: 4250, stock: 5 });
  await inBrowser({}, async ({ page }) => {
    await open(page, sku);
    await page.locator('#available', { hasText: '5' }).waitFor();
    expect(await text(page, '#name')).toBe('Live Tee');
    expect(await text(page, '#price')).toBe('$42.50');

    expect((await api.reserve(sku, 'someone-else', 2, `elsewhere-${sku}`)).status).toBe(201);
    const changed = Date.now();
    await page.locator('#available', { hasText: '3' }).waitFor({ timeout: 5000 });

    // 3 s from the API's answer changing (docs/capacity.md: the edge's second, one poll served stale while it
    // refreshes, the next poll), and a second of the handlers' own stock view before that.
    expect(Date.now() - changed).toBeLessThan(4000);
  });
});

test('reserve, then pay: the order goes through to FULFILLED, announced in the live region', async () => {
  const sku = await product();
  await inBrowser({}, async ({ page }) => {
    await open(page, sku);
    await reserveOne(page);
    // The live region is emptied, then filled on the next frame, so a repeated sentence is announced again.
    await page.locator('#announce', { hasText: /^Held 1\. Pay within \d+ minutes?/ }).waitFor({ state: 'attached' });
    expect(await text(page, '#hold-left')).toMatch(/^(5:00|4:5\d)$/);

    await payAndSeeFulfilled(page);

    expect(await text(page, '#order-status')).toBe('Fulfilled: your order is on its way.');
    await page.locator('#announce', { hasText: 'Fulfilled: your order is on its way.' }).waitFor({ state: 'attached' });
    expect(await api.ledger(sku)).toMatchObject({ sold: 1, held: 0, available: 4 });
  });
});

test('a double click on Reserve makes one hold', async () => {
  const sku = await product({ maxPerCustomer: 4 });
  await inBrowser({}, async ({ page, reserveKeys }) => {
    await open(page, sku);
    await page.locator('#reserve:enabled').dblclick();
    await page.locator('#hold').waitFor();
    await page.waitForTimeout(500);

    expect(reserveKeys).toHaveLength(1);
    expect(await api.ledger(sku)).toMatchObject({ held: 1, available: 4 });
  });
});

test('an answer lost on the way back is retried under the same Idempotency-Key: one hold', async () => {
  const sku = await product({ maxPerCustomer: 4 });
  await inBrowser({}, async ({ page, reserveKeys }) => {
    let dropped = 0;
    await page.route('**/reservations', async (route) => {
      if (dropped++ > 0) return route.continue();
      await route.fetch(); // the hold is made…
      return route.abort('connectionreset'); // …and its answer never arrives
    });
    await open(page, sku);
    await reserveOne(page);

    expect(reserveKeys).toHaveLength(2);
    expect(new Set(reserveKeys).size).toBe(1);
    expect(await api.ledger(sku)).toMatchObject({ held: 1, available: 4 });
  });
});

test('a reload keeps the hold, and makes no other', async () => {
  const sku = await product({ maxPerCustomer: 4 });
  await inBrowser({}, async ({ page, reserveKeys }) => {
    await open(page, sku);
    await reserveOne(page);
    const quantity = await text(page, '#hold-quantity');

    await page.reload();
    await page.locator('#hold').waitFor();

    expect(await text(page, '#hold-quantity')).toBe(quantity);
    expect(await page.locator('#reserve-form').isHidden()).toBe(true);
    expect(reserveKeys).toHaveLength(1);
    expect(await api.ledger(sku)).toMatchObject({ held: 1 });
  });
});

test('a sold-out drop says so at once, and a page that is open sees it sell out', async () => {
  const gone = await product({ stock: 0 });
  const lastOne = await product({ stock: 1 });
  await inBrowser({}, async ({ page }) => {
    await open(page, gone);
    await page.locator('#sold-out').waitFor({ timeout: 1500 });
    expect(await page.locator('#reserve-form').isHidden()).toBe(true);

    await open(page, lastOne);
    await page.locator('#available', { hasText: '1' }).waitFor();
    expect((await api.reserve(lastOne, 'quicker', 1, `quicker-${lastOne}`)).status).toBe(201);

    await page.locator('#sold-out').waitFor({ timeout: 5000 });
    expect(await page.locator('#reserve-form').isHidden()).toBe(true);
    await eventually(async () => expect(await page.locator('#announce').textContent()).toBe('Sold out.'));
  });
});

test('counts down to the start, and opens Reserve when the drop starts', async () => {
  const sku = await product({ dropStartsAt: new Date(Date.now() + 4000).toISOString() });
  await inBrowser({}, async ({ page }) => {
    await open(page, sku);
    await page.locator('#starts').waitFor();
    expect(await text(page, '#starts-in')).toMatch(/^0:0[1-4]$/);
    expect(await page.locator('#reserve').isDisabled()).toBe(true);

    await page.locator('#reserve:enabled').waitFor({ timeout: 8000 });

    expect(await page.locator('#starts').isHidden()).toBe(true);
    await reserveOne(page);
  });
});

test('a declined payment keeps the hold and says what to do', async () => {
  const sku = await product();
  await inBrowser({}, async ({ page }) => {
    await open(page, sku);
    await reserveOne(page);
    await page.fill('#token', 'tok_decline');
    await page.locator('#pay').click();

    await page.locator('#message[data-tone="error"]').waitFor();
    expect(await text(page, '#message')).toMatch(/declined.*hold is kept/i);
    expect(await page.locator('#hold').isVisible()).toBe(true);

    await page.fill('#token', 'tok_visa');
    await payAndSeeFulfilled(page);
  });
});

test('a refusal is said plainly: past the limit per customer', async () => {
  const sku = await product({ maxPerCustomer: 1 });
  await inBrowser({}, async ({ page }) => {
    await open(page, sku);
    await reserveOne(page);
    await payAndSeeFulfilled(page);

    await page.locator('#reserve:enabled').click();

    await page.locator('#message[data-tone="error"]').waitFor();
    expect(await text(page, '#message')).toBe('You already have as many as one customer may buy in this drop.');
  });
});

test('a hold that runs out says so and gives Reserve back', async () => {
  const sku = await product({ holdSeconds: 2 });
  await inBrowser({}, async ({ page }) => {
    await open(page, sku);
    await reserveOne(page);

    await page.locator('#message', { hasText: 'Your hold ran out' }).waitFor({ timeout: 6000 });

    expect(await page.locator('#hold').isHidden()).toBe(true);
    await page.locator('#reserve:enabled').waitFor({ timeout: 5000 });
  });
});

test('without a waiting room the queue admits at once and the page shows no queue', async () => {
  const sku = await product();
  // The edge learns of a new drop through the fan-out, seconds after it is created; until then the queue is
  // the origin's (no such route: 404) and the page goes straight through all the same.
  await eventually(async () => {
    expect((await api.call('GET', `/drops/${sku}/queue?customerId=edge-probe`)).status).toBe(200);
  });
  await inBrowser({}, async ({ page, queueAnswers }) => {
    await open(page, sku);
    await page.locator('#reserve:enabled').waitFor();

    expect(queueAnswers).toEqual([200]);
    expect(await page.locator('#waiting').isHidden()).toBe(true);
  });
});

test('with the waiting room on, the page shows its place, keeps its ticket, and reserves with the admission', async () => {
  const sku = await product({ dropStartsAt: new Date(Date.now() + 5_000).toISOString() });
  expect((await api.call('POST', `/admin/drops/${sku}/waiting-room-on`, { admin: true })).status).toBe(200);
  // The edge learns of the room through the writer.
  await eventually(async () => {
    const place = await api.call('GET', `/drops/${sku}/queue?customerId=probe`);
    expect(place.body.ticket).toEqual(expect.any(String));
  });
  await inBrowser({}, async ({ page }) => {
    await open(page, sku);
    await page.locator('#waiting').waitFor();
    // Let in once the drop starts and the boundary passes the ticket; then one click holds a unit.
    await page.locator('#reserve:enabled').waitFor({ timeout: 60_000 });
    expect(await page.locator('#waiting').isHidden()).toBe(true);
    await reserveOne(page);
  });
  expect(await api.ledger(sku)).toMatchObject({ held: 1 });
}, 120_000);

test('told its turn passed, the page says so and queues again at the back, with a new ticket', async () => {
  const sku = await product();
  expect((await api.call('POST', `/admin/drops/${sku}/waiting-room-on`, { admin: true })).status).toBe(200);
  await eventually(async () => {
    const place = await api.call('GET', `/drops/${sku}/queue?customerId=probe`);
    expect(place.body.ticket).toEqual(expect.any(String));
  });
  await inBrowser({}, async ({ page }) => {
    // The edge says `turnPassed` a window after letting a shopper in while every unit stayed held (the edge's
    // own tests); here the browser's routing gives that answer to the page's first poll with its ticket.
    const asked: Array<string | undefined> = [];
    let passedTicket: string | undefined;
    await page.context().route('**/drops/*/queue*', async (route, request) => {
      const ticket = request.headers()['x-dropline-ticket'];
      asked.push(ticket);
      if (ticket === undefined || passedTicket !== undefined) return route.continue();
      passedTicket = ticket;
      const body = { state: 'OPEN', position: null, ahead: null, etaSeconds: null, admitted: false, ticket };
      await route.fulfill({
        status: 200,
        contentType: 'application/json',
        body: JSON.stringify({ ...body, turnPassed: true }),
      });
    });
    await open(page, sku);
    await page.locator('#message', { hasText: 'Your turn to reserve passed' }).waitFor({ timeout: 10_000 });
    await eventually(async () =>
      expect(asked.filter((ticket) => ticket !== undefined && ticket !== passedTicket).length).toBeGreaterThan(0),
    );

    // Asked again without the passed ticket (a new arrival), then with the new one it was given: later in line.
    const after = asked.slice(asked.indexOf(passedTicket) + 1);
    expect(after[0]).toBeUndefined();
    const order = (ticket: string | undefined) =>
      JSON.parse(Buffer.from((ticket ?? '').split('.')[0] ?? '', 'base64url').toString('utf8')).o as number;
    expect(order(after.find((ticket) => ticket !== undefined))).toBeGreaterThan(order(passedTicket));
  });
}, 60_000);

test('a click whose answer was lost is resumed on reload before the queue: its hold is replayed, not waited out', async () => {
  const sku = await product({ stock: 1 });
  expect((await api.call('POST', `/admin/drops/${sku}/waiting-room-on`, { admin: true })).status).toBe(200);
  await eventually(async () => {
    const place = await api.call('GET', `/drops/${sku}/queue?customerId=probe`);
    expect(place.body.ticket).toEqual(expect.any(String));
  });
  await inBrowser({}, async ({ page, reserveKeys }) => {
    // Every answer to the attempt is lost: the hold is made, the page never hears of it.
    let lose = true;
    await page.route('**/reservations', async (route) => {
      if (!lose) return route.continue();
      await route.fetch();
      return route.abort('connectionreset');
    });
    await open(page, sku);
    await page.locator('#reserve:enabled').click({ timeout: 60_000 });
    await page.locator('#message', { hasText: 'Press Reserve to keep trying' }).waitFor({ timeout: 60_000 });
    expect(await api.ledger(sku)).toMatchObject({ held: 1, available: 0 });
    lose = false;
    // Reloaded, its turn has passed: every unit is held (its own), so the room stands still and the queue
    // answers turnPassed to every poll (routed here; the edge's own tests make that answer).
    await page.context().route('**/drops/*/queue*', (route, request) =>
      route.fulfill({
        status: 200,
        contentType: 'application/json',
        body: JSON.stringify({
          state: 'WAITING_FOR_RETURNS',
          position: null,
          ahead: null,
          etaSeconds: null,
          admitted: false,
          ticket: request.headers()['x-dropline-ticket'] ?? 'a-new-ticket',
          mayReturn: 1,
          turnPassed: true,
        }),
      }),
    );
    // And the page's admission is gone, as the queue drops it when told the turn passed (on an earlier
    // reload whose resend was lost too): the attempt still shows the one it was first sent with.
    await page.evaluate((key) => {
      const remembered = JSON.parse(localStorage.getItem(key) ?? '{}');
      delete remembered.admission;
      localStorage.setItem(key, JSON.stringify(remembered));
    }, `dropline:drop:${sku}`);
    await page.reload();

    await page.locator('#hold').waitFor({ timeout: 10_000 });
    expect(new Set(reserveKeys).size).toBe(1);
    expect(await api.ledger(sku)).toMatchObject({ held: 1, available: 0 });
  });
}, 120_000);

test('the poll after a hold takes a rating in one tap, counted by the admin route; more detail replaces it', async () => {
  const sku = await product({ stock: 6 });
  const feedback = async () => (await api.call('GET', `/admin/products/${sku}/feedback`, { admin: true })).body;
  await inBrowser({}, async ({ page }) => {
    await open(page, sku);
    await reserveOne(page);
    await page.locator('#poll').waitFor();
    expect(await text(page, '#poll-title')).toBe('How was getting your hold?');

    await page.locator('#poll [data-rating="4"]').click();

    await page.locator('#poll-thanks', { hasText: 'Thank you.' }).waitFor();
    const first = await feedback();
    expect(first.total).toBe(1);
    expect(first.outcomes.HELD.ratings['4']).toBe(1);
    expect(first.outcomes.HELD.averageLatencyMs).toEqual(expect.any(Number));

    await page.locator('#poll summary').click();
    await page.locator('#poll input[value="STOCK_WRONG"]').check();
    await page.fill('#poll-comment', 'said <b>5</b> left');
    await page.locator('#poll-send').click();

    await eventually(async () => {
      const replaced = await feedback();
      expect(replaced.total).toBe(1);
      expect(replaced.outcomes.HELD.reasons.STOCK_WRONG).toBe(1);
      expect(replaced.stockLookedWrong.reports).toBe(1);
    });
    await page.locator('#pay').click();
    await page.locator('#poll-title', { hasText: 'How was checking out?' }).waitFor();
  });
});

test('on a 390 × 844 phone the whole purchase works by keyboard, with nothing wider than the screen', async () => {
  const sku = await product();
  await inBrowser(PHONE, async ({ page }) => {
    await open(page, sku);
    await page.locator('#reserve:enabled').waitFor();
    expect(await pageWidth(page)).toBeLessThanOrEqual(390);
    expect((await page.locator('#reserve').boundingBox())?.height).toBeGreaterThanOrEqual(44);

    await page.focus('#quantity');
    await page.keyboard.press('Tab');
    expect(await focused(page)).toBe('reserve');
    await page.keyboard.press('Enter');
    await page.locator('#hold').waitFor();
    expect(await focused(page)).toBe('hold-title');
    await page.keyboard.press('Tab');
    expect(await focused(page)).toBe('token');
    await page.keyboard.press('Enter');

    await page.locator('#order-steps li[data-step="FULFILLED"][data-done]').waitFor({ timeout: 15_000 });
    expect(await pageWidth(page)).toBeLessThanOrEqual(390);
  });
});

test('axe-core finds no accessibility violations in any state of the page', async () => {
  const axeSource = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');
  const gone = await product({ stock: 0 });
  const sku = await product();
  // The page's CSP admits no inline script; the audit's own script is let in by the browser, not the page.
  await inBrowser({ ...PHONE, bypassCSP: true }, async ({ page }) => {
    const audit = async (state: string) => {
      await page.evaluate(axeSource);
      const { passed, violations } = (await page.evaluate(
        `axe.run(document).then((results) => ({
          passed: results.passes.length,
          violations: results.violations.map((violation) =>
            violation.id + ': ' + violation.nodes.map((node) => node.target.join(' ')).join(', ')),
        }))`,
      )) as { passed: number; violations: string[] };
      expect([state, violations]).toEqual([state, []]);
      expect(passed).toBeGreaterThan(10);
    };

    await page.goto(`${stack.url}/`);
    await page.locator('#pick').waitFor();
    await audit('choosing a drop');
    await open(page, gone);
    await page.locator('#sold-out').waitFor();
    await audit('sold out');
    await open(page, sku);
    await page.locator('#reserve:enabled').waitFor();
    await audit('open');
    await reserveOne(page);
    await page.locator('#poll summary').click();
    await audit('holding, the poll open');
    await page.fill('#token', 'tok_decline');
    await page.locator('#pay').click();
    await page.locator('#message[data-tone="error"]').waitFor();
    await audit('declined');
    await page.fill('#token', 'tok_visa');
    await payAndSeeFulfilled(page);
    await audit('fulfilled');
  });
});

test('every error code the API can answer has a plain sentence on the page', async () => {
  const source = (path: string) => readFileSync(join(root, path), 'utf8');
  const quoted = (text: string) => [...text.matchAll(/'([A-Z][A-Z_]+)'/g)].map((match) => match[1] as string);
  const domain = quoted(/export type ErrorCode =([^;]+);/.exec(source('lambdas/domain/errors.ts'))?.[1] ?? '');
  const faults = quoted(/type FaultCode =([^;]+);/.exec(source('lambdas/shared/http.ts'))?.[1] ?? '');
  const apiGateway = [...source('lib/constructs/drop-api.ts').matchAll(/code: '(\w+)'/g)].map((m) => m[1] as string);
  const localGateway = [...source('local/event-sources/api-gateway.ts').matchAll(/GatewayError\(\d+, '(\w+)'/g)].map(
    (m) => m[1] as string,
  );
  const paused = [...source('lib/constructs/paused-origin.ts').matchAll(/code: '(\w+)'/g)].map((m) => m[1] as string);
  const codes = [...new Set([...domain, ...faults, ...apiGateway, ...paused, ...localGateway])].sort();
  expect(domain.length).toBeGreaterThanOrEqual(12);
  expect(faults).toEqual(expect.arrayContaining(['THROTTLED', 'UNAVAILABLE', 'INTERNAL_ERROR']));
  expect(apiGateway.length).toBeGreaterThan(5);
  expect(localGateway.length).toBeGreaterThan(5);
  expect(paused).toEqual(['PAUSED']);

  await inBrowser({}, async ({ page }) => {
    await page.goto(`${stack.url}/`);
    const unexplained = await page.evaluate(async (all) => {
      const { MESSAGES } = (await import('/assets/messages.js' as string)) as { MESSAGES: Record<string, string> };
      return all.filter((code) => !(typeof MESSAGES[code] === 'string' && MESSAGES[code].length > 20));
    }, codes);

    expect(unexplained).toEqual([]);
  });
});
