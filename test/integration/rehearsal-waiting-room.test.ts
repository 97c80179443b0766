/**
 * A rehearsal with the waiting room on (`dropline rehearse --waiting-room --json`), as a user runs it:
 * every promise still kept; the shoppers queued at the edge and were let in in ticket order; the bots
 * farmed tickets under made-up identities and stormed; the operator paused the drop mid-spike and the
 * edge itself answered DROP_PAUSED, then reservations resumed; the drop sold out for good while shoppers
 * still waited, and the report measured how soon they were told. The goals are reported, met or not:
 * this test checks the measures are there and agree with each other, not that a goal was met.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { chromium } from 'playwright-core';

const bin = join(import.meta.dirname, '../../bin/dropline.js');
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const PAUSE_AT = 4;
const PAUSE_FOR = 8;

interface RoomSample {
  second: number;
  waiting: number;
  botTicketsWaiting: number;
  admittedPerSecond: number;
  boundarySecond: number | null;
  admittedUpToSecond: number | null;
}

let stdout = '';
// biome-ignore lint/suspicious/noExplicitAny: the JSON line as the CLI prints it
let summary: any;

beforeAll(async () => {
  const reportDir = mkdtempSync(join(tmpdir(), 'dropline-room-'));
  const run = await new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
    const child = spawn(
      process.execPath,
      [
        bin,
        'rehearse',
        '--waiting-room',
        '--stock=40',
        '--shoppers=300',
        '--duration=6',
        '--hold-seconds=5',
        '--seed=11',
        `--pause-at=${PAUSE_AT}`,
        `--pause-for=${PAUSE_FOR}`,
        `--report-dir=${reportDir}`,
        '--json',
      ],
      { env: { ...process.env, NODE_OPTIONS: '' } },
    );
    let out = '';
    let err = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (err += chunk.toString()));
    child.once('exit', (exit) => resolve({ code: exit, stdout: out, stderr: err }));
  });
  if (run.code !== 0) throw new Error(`rehearse exited ${run.code}:\n${run.stdout}\n${run.stderr}`);
  stdout = run.stdout;
  summary = JSON.parse(stdout.trim().split('\n').at(-1) ?? '{}');
}, 280_000);

test('a rehearsal through the waiting room keeps every promise and admits in ticket order', () => {
  expect(summary).toMatchObject({ passed: true, oversold: 0, ledgerBalanced: true, errors5xx: 0 });
  const room = summary.admission.waitingRoom;
  expect(room).toMatchObject({ orderInversions: 0 });
  expect(room.humansQueued).toBeGreaterThan(200);
  expect(room.humansAdmitted).toBeGreaterThan(0);
  // The crowd comes before the start, once the room is open at the edge: early shoppers and bots pre-queue.
  expect(room.preQueue.shoppers).toBeGreaterThan(0);
  expect(room.preQueue.shoppers).toBeLessThan(room.humansQueued);
  expect(room.preQueue.botTickets).toBeGreaterThan(0);
  expect(room.preQueue.botTickets).toBeLessThanOrEqual(room.botTickets);
  expect(stdout).toContain('waiting room:');
});

test('bots farm a ticket per made-up identity, and their share of the units is measured against their share of arrivals', () => {
  const room = summary.admission.waitingRoom;
  // Each bot takes four tickets under identities of its own making.
  expect(room.botTickets).toBeGreaterThan(summary.bots);
  expect(room.botTickets).toBeLessThanOrEqual(summary.bots * 4);
  expect(room.botArrivalShare).toBeCloseTo(summary.bots / (summary.bots + summary.shoppers), 3);
  expect(room.botUnitShare).toBeGreaterThanOrEqual(0);
  expect(room.botUnitShare).toBeLessThanOrEqual(1);
  const goal = summary.admission.goals.find((g: { goal: string }) => g.goal.startsWith('bots'));
  expect(goal.met).toBe(room.botUnitShare <= room.botArrivalShare);
});

test('the queue is sampled each second: shoppers waiting, admissions per second and the boundary, consistently', () => {
  const room = summary.admission.waitingRoom;
  const series: RoomSample[] = room.series;
  expect(series.length).toBeGreaterThanOrEqual(6);
  for (let i = 1; i < series.length; i++) {
    const [before, after] = [series[i - 1] as RoomSample, series[i] as RoomSample];
    expect(after.second).toBeGreaterThan(before.second);
    // The boundary never moves back, nor does the latest ticket let in.
    if (before.boundarySecond !== null && after.boundarySecond !== null) {
      expect(after.boundarySecond).toBeGreaterThanOrEqual(before.boundarySecond);
    }
    if (before.admittedUpToSecond !== null)
      expect(after.admittedUpToSecond).toBeGreaterThanOrEqual(before.admittedUpToSecond);
  }
  for (const sample of series) {
    expect(sample.waiting).toBeGreaterThanOrEqual(0);
    expect(sample.waiting).toBeLessThanOrEqual(room.humansQueued);
    expect(sample.botTicketsWaiting).toBeLessThanOrEqual(room.botTickets);
    expect(sample.admittedPerSecond).toBeGreaterThanOrEqual(0);
    // No ticket is let in beyond the boundary the edge read (sampled a moment apart: 1 s of slack).
    if (sample.boundarySecond !== null && sample.admittedUpToSecond !== null) {
      expect(sample.admittedUpToSecond).toBeLessThanOrEqual(sample.boundarySecond + 1);
    }
  }
  expect(Math.max(...series.map((sample) => sample.waiting))).toBeGreaterThan(0);
  expect(series.some((sample) => sample.boundarySecond !== null)).toBe(true);
  // Admissions over the samples add up to no more than the admissions there were (shoppers' and bots', a
  // shopper let in again after a refusal counted again), and to at least every shopper let in once.
  let admitted = 0;
  for (let i = 1; i < series.length; i++) {
    admitted +=
      (series[i] as RoomSample).admittedPerSecond *
      ((series[i] as RoomSample).second - (series[i - 1] as RoomSample).second);
  }
  expect(admitted).toBeGreaterThan(0);
  expect(room.admissions).toBeGreaterThanOrEqual(room.humansAdmitted);
  // Each rate is rounded to 0.1 per second (0.05 per second of samples either way) and each sample's second
  // to 0.01 s (1 % of the admissions at most).
  expect(admitted).toBeLessThanOrEqual(room.admissions * 1.02 + 0.05 * ((series.at(-1) as RoomSample).second + 1));
});

test('the operator pauses mid-spike: the edge itself answers DROP_PAUSED, nothing breaks, and holds resume after the resume', () => {
  const pause = summary.pause;
  expect(pause.pausedAtSecond).toBeGreaterThanOrEqual(PAUSE_AT);
  expect(pause.resumedAtSecond).toBeGreaterThanOrEqual(pause.pausedAtSecond + PAUSE_FOR);
  expect(pause.firstPausedAnswerSeconds).not.toBeNull();
  expect(pause.edgePausedAfterSeconds).not.toBeNull();
  expect(pause.edgePausedAfterSeconds).toBeGreaterThanOrEqual(pause.firstPausedAnswerSeconds);
  expect(pause.edgePausedAfterSeconds).toBeLessThan(pause.resumedAtSecond - pause.pausedAtSecond);
  expect(pause.holdsAfterResume).toBeGreaterThan(0);
  expect(pause.firstHoldAfterResumeSeconds).toBeGreaterThanOrEqual(0);
  // A paused drop's 503 is the operator's answer, counted apart from the 5xx (of which there were none).
  expect(summary.refusals.paused).toBeGreaterThan(0);
  expect(stdout).toContain('paused at');
});

test('the drop sells out for good while shoppers wait, and the report says how soon they were told and what the edge answered after', () => {
  const { admission } = summary;
  const room = admission.waitingRoom;
  expect(admission.soldOutForGoodAtSecond).not.toBeNull();
  expect(summary.sold).toBe(40);
  expect(room.waitingAtSoldOut).toBeGreaterThan(0);
  expect(room.toldSoldOut).toBeGreaterThan(0);
  expect(room.toldSoldOut).toBeLessThanOrEqual(room.waitingAtSoldOut);
  expect(room.soldOutNoticeSeconds).toBeGreaterThanOrEqual(0);
  const goals = Object.fromEntries(admission.goals.map((g: { goal: string; met: boolean }) => [g.goal, g.met]));
  // Met only when it was quick and every shopper waiting at the sell-out was told.
  expect(goals['sold-out notice ≤ 3 s']).toBe(
    room.soldOutNoticeSeconds <= 3 && room.toldSoldOut === room.waitingAtSoldOut,
  );
  expect(goals['edge answers ≥ 90 % of attempts after the sell-out']).toBe(
    admission.edgeAnsweredShare !== null && admission.edgeAnsweredShare >= 0.9,
  );
  expect(goals['no order inversions']).toBe(true);
  // The shoppers' attempts are a part of them.
  const shoppers = admission.shoppersAfterSoldOut;
  expect(shoppers.attempts).toBeLessThanOrEqual(admission.attemptsAfterSoldOut);
  expect(shoppers.edgeAnsweredShare === null).toBe(shoppers.attempts === 0);
  // Every attempt after the sell-out that reached the origin did so by the edge's own rule, read with the
  // `since` its store held: none that the edge should have answered went on.
  const { edgeSinceAfterSoldOutSeconds, retriesFromBefore, newWithinRetryWindow, unknownAgeKeys, edgeFailures, other } =
    admission.originAfterSoldOut;
  expect(edgeSinceAfterSoldOutSeconds).not.toBeNull();
  expect(other).toBe(0);
  const toOrigin = admission.attemptsAfterSoldOut * (1 - admission.edgeAnsweredShare);
  // The share is rounded to three places.
  const counted = retriesFromBefore + newWithinRetryWindow + unknownAgeKeys + edgeFailures;
  expect(Math.abs(counted - toOrigin)).toBeLessThanOrEqual(admission.attemptsAfterSoldOut * 0.0005 + 0.5);
});

test('the report charts the queue, the admissions and the boundary, with the pause window marked', async () => {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`No Chromium at ${CHROMIUM}: install Debian's chromium (bash .ci/run does) or set CHROMIUM_PATH`);
  }
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-gpu'] });
  try {
    const page = await browser.newPage({ viewport: { width: 1100, height: 1600 } });
    const errors: string[] = [];
    page.on('pageerror', (error) => errors.push(error.message));
    await page.goto(pathToFileURL(summary.reportPath).href);
    expect(errors).toEqual([]);
    for (const id of ['queue', 'admissions', 'boundary']) {
      const points = await page.$$eval(`#chart-${id} polyline`, (lines) =>
        lines.map((line) => (line.getAttribute('points') ?? '').split(' ').length),
      );
      expect(points.length).toBeGreaterThan(0);
      expect(Math.max(...points)).toBeGreaterThan(1);
      expect(await page.$$eval(`#chart-${id} .pause-window`, (rects) => rects.length)).toBe(1);
    }
    expect(await page.$$eval('#goals tr', (rows) => rows.length)).toBe(1 + summary.admission.goals.length);
    expect(await page.textContent('#legend-throughput')).toContain('paused (503 DROP_PAUSED)');
  } finally {
    await browser.close();
  }
}, 60_000);
