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
    '--duration=4',
    '--hold-seconds=2',
    '--seed=7',
    `--report-dir=${reportDir}`,
    '--json',
  ]);
  if (code !== 0) throw new Error(`rehearse exited ${code}:\n${stdout}\n${stderr}`);
  summary = JSON.parse(stdout.trim().split('\n').at(-1) ?? '{}');
}, 170_000);

test('a small rehearsal ends with every promise held and prints its figures as the last JSON line', () => {
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
    expect(await page.getAttribute('body', 'data-charts-drawn')).toBe('8');
    for (const id of ['throughput', 'latency', 'stock']) {
      const points = await page.$$eval(`#chart-${id} polyline`, (lines) =>
        lines.map((line) => (line.getAttribute('points') ?? '').split(' ').length),
      );
      expect(points.length).toBeGreaterThan(0);
      expect(Math.min(...points)).toBeGreaterThan(1);
    }
    expect(await page.textContent('.verdict')).toBe('Every promise held');
    expect(requests.every((url) => url.startsWith('file:'))).toBe(true);
    await page.screenshot({ path: join(reportDir, 'report.png'), fullPage: true });
  } finally {
    await browser.close();
  }
});
