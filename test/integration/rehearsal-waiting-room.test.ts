/**
 * A rehearsal with the waiting room on (`dropline rehearse --waiting-room --json`), as a user runs it:
 * every promise still kept, the shoppers queued at the edge and were let in in ticket order, and the
 * bots, who farm tickets and storm without an admission, took no larger share of the units than of the
 * arrivals.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const bin = join(import.meta.dirname, '../../bin/dropline.js');

test('a rehearsal through the waiting room keeps every promise and admits in ticket order', async () => {
  const reportDir = mkdtempSync(join(tmpdir(), 'dropline-room-'));
  const { code, stdout, stderr } = await new Promise<{ code: number | null; stdout: string; stderr: string }>(
    (resolve) => {
      const child = spawn(
        process.execPath,
        [
          bin,
          'rehearse',
          '--waiting-room',
          '--stock=40',
          '--shoppers=300',
          '--duration=4',
          '--hold-seconds=5',
          '--seed=11',
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
    },
  );
  if (code !== 0) throw new Error(`rehearse exited ${code}:\n${stdout}\n${stderr}`);
  const summary = JSON.parse(stdout.trim().split('\n').at(-1) ?? '{}');
  expect(summary).toMatchObject({ passed: true, oversold: 0, ledgerBalanced: true, errors5xx: 0 });
  const room = summary.admission.waitingRoom;
  expect(room).toMatchObject({ orderInversions: 0 });
  expect(room.humansQueued).toBeGreaterThan(200);
  expect(room.humansAdmitted).toBeGreaterThan(0);
  expect(room.botTickets).toBeGreaterThan(0);
  expect(room.botUnitShare).toBeLessThanOrEqual(room.botArrivalShare);
  expect(stdout).toContain('waiting room:');
}, 200_000);
