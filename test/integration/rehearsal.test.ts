/**
 * The drop rehearsal end to end, as a user runs it (`dropline rehearse
 * --json`), and its HTML report as a person would open it: in a real browser
 * (Debian's Chromium, driven by playwright-core), checking the charts drew.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { chromium } from 'playwright-core';

const bin = join(import.meta.dirname, '../../bin/dropline.js');
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const reportDir = mkdtempSync(join(tmpdir(), 'dropline-rehearsal-'));
let summary: Record<string, unknown> & { reportPath: string; latencyMs: Record<string, number> };

function run(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [bin, ...args], { env: { ...process.env, NODE_OPTIONS: '' } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.once('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

beforeAll(async () => {
  const { code, stdout, stderr } = await run([
    'rehearse',
    '--stock=40',
    '--shoppers=300',
    '--duration=8',
    // Spread over 8 s (peak ≈ 70 arrivals/s), with holds that outlive this machine's worst checkout latency
    // under it (p99 ≈ 8 s on two cores): over 4 s with 5 s holds, the retry storm could hold the local
    // gateway's concurrency until every hold lapsed before its checkout got through, and a run sold nothing.
    '--hold-seconds=15',
    '--seed=7',
    `--report-dir=${reportDir}`,
    '--json',
  ]);
  if (code !== 0) throw new Error(`rehearse exited ${code}:\n${stdout}\n${stderr}`);
  summary = JSON.parse(stdout.trim().split('\n').at(-1) ?? '{}');
}, 170_000);

test('a small rehearsal ends with every promise kept and prints its figures as the last JSON line', () => {
  expect(summary).toMatchObject({
    passed: true,
    failures: [],
    oversold: 0,
    ledgerBalanced: true,
    errors5xx: 0,
    stock: 40,
  });
  for (const field of ['throughputRps', 'sold', 'attempts']) expect(typeof summary[field]).toBe('number');
  expect(summary.attempts as number).toBeGreaterThan(40);
  expect(summary.sold as number).toBeGreaterThan(0);
  expect(summary.sold as number).toBeLessThanOrEqual(40);
  expect(summary.latencyMs.p50).toBeLessThanOrEqual(summary.latencyMs.p99 ?? 0);
  expect(existsSync(summary.reportPath)).toBe(true);
  // Some shoppers answered the page's poll, and the feedback route counted them (a repeat replaces).
  const feedback = summary.feedback as { sent: number; counted: number; outcomes: Record<string, unknown> };
  expect(feedback).toMatchObject({ sent: expect.any(Number), counted: expect.any(Number) });
  expect([feedback.sent > 0, feedback.counted > 0, feedback.counted <= feedback.sent, feedback]).toEqual([
    true,
    true,
    true,
    feedback,
  ]);
  expect(Object.keys(feedback.outcomes).length).toBeGreaterThan(0);
  expect(existsSync(summary.reportPath.replace(/\.html$/, '.json'))).toBe(true);
});

test('the HTML report opens offline in Chromium and its charts draw', async () => {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`No Chromium at ${CHROMIUM}: install Debian's chromium (bash .ci/run does) or set CHROMIUM_PATH`);
  }
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--no-first-run',
    ],
  });
  try {
    const page = await browser.newPage({ viewport: { width: 1100, height: 1600 } });
    const requests: string[] = [];
    page.on('request', (request) => requests.push(request.url()));
    const errors: string[] = [];
    page.on('pageerror', (error) => errors.push(error.message));
    await page.goto(pathToFileURL(summary.reportPath).href);

    expect(errors).toEqual([]);
    expect(await page.getAttribute('body', 'data-charts-drawn')).toBe('12');
    for (const id of ['throughput', 'latency', 'stock']) {
      const points = await page.$$eval(`#chart-${id} polyline`, (lines) =>
        lines.map((line) => (line.getAttribute('points') ?? '').split(' ').length),
      );
      expect(points.length).toBeGreaterThan(0);
      expect(Math.min(...points)).toBeGreaterThan(1);
    }
    expect(await page.textContent('.verdict')).toBe('Every promise kept');
    expect(await page.$$eval('#feedback tr', (rows) => rows.length)).toBeGreaterThan(1);
    expect(requests.every((url) => url.startsWith('file:'))).toBe(true);
  } finally {
    await browser.close();
  }
});

test('the report explains itself: settings, the seed, refusals by meaning, marked time axes, stock on the supply', async () => {
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-gpu'] });
  try {
    const page = await browser.newPage({ viewport: { width: 1100, height: 1600 } });
    await page.goto(pathToFileURL(summary.reportPath).href);
    const refusals = summary.refusals as Record<string, number>;

    const settings = Object.fromEntries(
      await page.$$eval('#settings tr', (trs) => trs.map((tr) => [...tr.cells].map((cell) => cell.textContent ?? ''))),
    );
    expect(settings).toMatchObject({
      stock: '40 units',
      shoppers: String(summary.shoppers),
      bots: String(summary.bots),
      seed: '7',
      hold: '15 s',
      shards: String((summary.settings as { shards: number }).shards),
    });
    expect(await page.textContent('body')).toMatch(
      /same seed gives the same shoppers[\s\S]*outcome still varies with timing/,
    );

    const whatHappened = (await page.textContent('#what-happened')) ?? '';
    const n = (value: number | undefined) => (value ?? Number.NaN).toLocaleString('en-US');
    expect(whatHappened).toContain(
      `Refused: ${n(refusals.soldOut)} sold out, ${n(refusals.limit)} over the limit, ` +
        `${n(refusals.throttled)} throttled, ${n(refusals.busy)} busy`,
    );
    const legend = (await page.textContent('#legend-throughput')) ?? '';
    for (const meaning of ['sold out (409)', 'over the limit (429)', 'throttled (429)', 'busy (429)', '5xx']) {
      expect(legend).toContain(meaning);
    }
    if ((refusals.soldOut ?? 0) > 0) expect(await page.textContent('#error-codes')).toContain('SOLD_OUT');

    for (const id of ['throughput', 'latency', 'stock']) {
      const markers = await page.$$eval(`#chart-${id} .marker-label`, (labels) => labels.map((l) => l.textContent));
      expect(markers).toContain(`spike ends ${summary.spikeEndedAtSecond} s`);
      if (summary.soldOutAtSecond !== null) expect(markers).toContain(`sold out ${summary.soldOutAtSecond} s`);
      const ticks = await page.$$eval(`#chart-${id} .x-tick`, (labels) => labels.map((l) => l.textContent));
      expect(ticks[0]).toBe('0 s');
      expect(ticks.length).toBeGreaterThan(2);
    }
    const stockScale = await page.$$eval('#chart-stock .y-tick', (labels) => labels.map((l) => l.textContent));
    expect(stockScale.at(-1)).toBe('40');

    // One number format: grouped thousands, at most one decimal, in figures and tables alike.
    const figures = await page.$$eval('.figure, td.n', (cells) => cells.map((cell) => cell.textContent ?? ''));
    for (const figure of figures) expect(figure).toMatch(/^[\d,]+(\.\d)?( \/ [\d,]+(\.\d)?)?$/);
    // "held" counts units; a promise's verdict is "kept" or "BROKEN".
    const verdicts = await page.$$eval('td.pass, td.fail', (cells) => cells.map((cell) => cell.textContent));
    expect(new Set(verdicts)).toEqual(new Set(['kept']));
    await page.screenshot({ path: join(reportDir, 'report.png'), fullPage: true });
  } finally {
    await browser.close();
  }
});
