/**
 * A waiting-room rehearsal with shopper identity on (`dropline rehearse --waiting-room --identity`): the
 * test issuer stands in for the shop's provider, shoppers and each bot's one real account sign in, and the
 * tickets bots farmed under made-up customers admit no one — every promise still kept. Without identity
 * the same bots hold units under made-up customers (the default waiting-room rehearsal shows it).
 */
import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const bin = join(import.meta.dirname, '../../bin/dropline.js');

test('signed-in shoppers get their units; farmed identities hold none', async () => {
  const reportDir = mkdtempSync(join(tmpdir(), 'dropline-identity-'));
  const run = await new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
    const child = spawn(
      process.execPath,
      [
        bin,
        'rehearse',
        '--waiting-room',
        '--identity',
        '--stock=30',
        '--shoppers=200',
        '--duration=5',
        '--bot-share=0.2',
        '--seed=7',
        '--pause-at=0',
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
  const summary = JSON.parse(run.stdout.trim().split('\n').at(-1) ?? '{}');
  expect(summary).toMatchObject({ passed: true, oversold: 0, ledgerBalanced: true, errors5xx: 0 });
  expect(summary.settings).toMatchObject({ identity: true });
  const room = summary.admission.waitingRoom;
  expect(room.botTickets).toBeGreaterThan(0);
  expect(room.botUnitsUnderMadeUpIdentities).toBe(0);
  expect(summary.sold).toBeGreaterThan(0);
}, 280_000);
