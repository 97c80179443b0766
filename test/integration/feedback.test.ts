/**
 * Shopper feedback: POST /products/{sku}/feedback and the admin's counts at
 * GET /admin/products/{sku}/feedback, on the local stack against DynamoDB
 * Local. One answer per customer and outcome, replaced at most once per
 * cool-down; hostile input is refused with a 4xx and writes nothing.
 */
import { BACKGROUND_KEY_PREFIXES } from '../../contract/inventory-table';
import { FEEDBACK_COOLDOWN_MS } from '../../lambdas/domain/feedback';
import { ApiClient } from '../../local/api-client';
import { eventually } from '../support/eventually';
import { startTestStack, type TestStack } from '../support/local-stack';

let stack: TestStack;
let api: ApiClient;
let serial = 0;

beforeAll(async () => {
  stack = await startTestStack();
  api = new ApiClient(stack.url, stack.adminKey);
});

afterAll(async () => {
  await api.close();
  await stack.stop();
});

async function product(stock = 10): Promise<string> {
  const sku = `feedback-${++serial}`;
  expect((await api.putProduct(sku, { name: 'Feedback Tee', priceCents: 1000, stock })).status).toBe(201);
  return sku;
}

const answer = (sku: string, body: Record<string, unknown>) =>
  api.call('POST', `/products/${sku}/feedback`, { body: { customerId: 'ann', outcome: 'PAID', rating: 4, ...body } });
const counts = async (sku: string) => {
  const response = await api.call('GET', `/admin/products/${sku}/feedback`, { admin: true });
  expect(response.status).toBe(200);
  return response.body;
};
const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

test('a first answer is 201 and counted by outcome, rating and reason', async () => {
  const sku = await product();

  const created = await answer(sku, { outcome: 'HELD', rating: 2, reasons: ['SLOW', 'ERROR'], comment: 'took ages' });

  expect(created.status).toBe(201);
  expect(created.body).toMatchObject({
    sku,
    customerId: 'ann',
    outcome: 'HELD',
    rating: 2,
    reasons: ['SLOW', 'ERROR'],
    comment: 'took ages',
  });
  const summary = await counts(sku);
  expect(summary.total).toBe(1);
  expect(summary.outcomes.HELD).toMatchObject({
    answers: 1,
    ratings: { '1': 0, '2': 1, '3': 0, '4': 0, '5': 0 },
    averageRating: 2,
    reasons: { SLOW: 1, ERROR: 1, STOCK_WRONG: 0, UNFAIR: 0, OTHER: 0 },
  });
  expect(summary.outcomes.PAID.answers).toBe(0);
});

test('the same customer answering about the same outcome again replaces the answer (200), and the counts move', async () => {
  const sku = await product();
  expect((await answer(sku, { rating: 2, reasons: ['SLOW'] })).status).toBe(201);
  await pause(FEEDBACK_COOLDOWN_MS + 100);

  const replaced = await answer(sku, { rating: 5 });

  expect(replaced.status).toBe(200);
  const summary = await counts(sku);
  expect(summary.total).toBe(1);
  expect(summary.outcomes.PAID).toMatchObject({
    answers: 1,
    ratings: { '2': 0, '5': 1 },
    averageRating: 5,
    reasons: { SLOW: 0 },
  });
});

test('another outcome, or another customer, is another answer', async () => {
  const sku = await product();

  expect((await answer(sku, { outcome: 'DECLINED', rating: 1 })).status).toBe(201);
  expect((await answer(sku, { outcome: 'PAID', rating: 5 })).status).toBe(201);
  expect((await answer(sku, { customerId: 'bob', outcome: 'PAID', rating: 3 })).status).toBe(201);

  const summary = await counts(sku);
  expect(summary.total).toBe(3);
  expect(summary.outcomes.PAID).toMatchObject({ answers: 2, averageRating: 4 });
  expect(summary.outcomes.DECLINED).toMatchObject({ answers: 1, averageRating: 1 });
});

test('a flood from one customer gets 429 with Retry-After and counts once', async () => {
  const sku = await product();

  const answers = await Promise.all(
    Array.from({ length: 12 }, (_, index) => answer(sku, { customerId: 'flooder', rating: (index % 5) + 1 })),
  );

  const statuses = answers.map((response) => response.status).sort();
  expect(statuses.filter((status) => status === 201)).toHaveLength(1);
  expect(statuses.filter((status) => status === 429)).toHaveLength(11);
  for (const refused of answers.filter((response) => response.status === 429)) {
    expect(refused.body.error.code).toBe('BUSY');
    expect(Number(refused.headers['retry-after'])).toBeGreaterThanOrEqual(1);
  }
  expect((await counts(sku)).total).toBe(1);
});

test('"the stock looked wrong" is set against the stock the shop had, with the latency the shopper saw', async () => {
  const sku = await product(10);
  // The storefront channel has applied the product's first snapshot: its lag is what the reports meet.
  await eventually(async () => {
    const { body } = await api.call('GET', `/admin/products/${sku}/channels`, { admin: true });
    expect(body.channels.find((view: { channel: string }) => view.channel === 'storefront')).toMatchObject({
      synced: true,
    });
  });

  await answer(sku, { customerId: 'c1', outcome: 'SOLD_OUT', rating: 1, reasons: ['STOCK_WRONG'], seenAvailable: 7 });
  await answer(sku, { customerId: 'c2', outcome: 'SOLD_OUT', rating: 2, reasons: ['STOCK_WRONG'], seenAvailable: 10 });
  await answer(sku, { customerId: 'c3', outcome: 'SOLD_OUT', rating: 3, latencyMs: 300 });
  await answer(sku, { customerId: 'c4', outcome: 'SOLD_OUT', rating: 3, latencyMs: 100 });

  const summary = await counts(sku);
  expect(summary.stockLookedWrong).toMatchObject({ reports: 2, pageDiffered: 1, averageGap: 1.5 });
  // Set against the storefront channel's lag when the reports came (the read model the page polls).
  expect(summary.stockLookedWrong.averageChannelLagMs).toEqual(expect.any(Number));
  expect(summary.averageChannelLagMs).toEqual(expect.any(Number));
  expect(summary.outcomes.SOLD_OUT.averageLatencyMs).toBe(200);
});

test('an unknown product is 404, and the admin counts need the API key', async () => {
  expect((await answer('no-such-drop', {})).status).toBe(404);
  expect((await api.call('GET', '/admin/products/no-such-drop/feedback')).status).toBe(403);
  expect((await api.call('GET', '/admin/products/no-such-drop/feedback', { admin: true })).status).toBe(404);
});

describe('hostile answers are refused with 400 and write nothing', () => {
  let sku: string;
  beforeAll(async () => {
    sku = await product();
  });

  test.each<[string, Record<string, unknown> | string]>([
    ['an oversized comment', { comment: 'x'.repeat(501) }],
    ['a script in the comment', { comment: '<script>alert(1)</script>' }],
    ['markup in the comment', { comment: 'nice <img src=x onerror=alert(1)>' }],
    ['a control character in the comment', { comment: 'bell\u0007' }],
    ['an unknown reason', { reasons: ['TOO_CHEAP'] }],
    ['reasons that are not a list', { reasons: 'SLOW' }],
    ['an unknown outcome', { outcome: 'WON' }],
    ['a rating of 0', { rating: 0 }],
    ['a rating of 6', { rating: 6 }],
    ['a fractional rating', { rating: 2.5 }],
    ['a rating as text', { rating: '5' }],
    ['an unknown field', { email: 'ann@example.com' }],
    ['a customer id with a key separator', { customerId: 'ann#PAID' }],
    ['a negative latency', { latencyMs: -1 }],
    ['malformed JSON', '{"customerId":"ann",'],
  ])('%s', async (_label, hostile) => {
    const writesBefore = stack.dynamodbRequests.writesExcept(BACKGROUND_KEY_PREFIXES);

    const response =
      typeof hostile === 'string'
        ? await api.call('POST', `/products/${sku}/feedback`, { rawBody: hostile })
        : await answer(sku, hostile);

    expect(response.status).toBe(400);
    expect(response.body.error.code).toBe('VALIDATION_ERROR');
    expect(response.text).not.toContain('<script>');
    expect(stack.dynamodbRequests.writesExcept(BACKGROUND_KEY_PREFIXES)).toBe(writesBefore);
    expect((await counts(sku)).total).toBe(0);
  });
});
