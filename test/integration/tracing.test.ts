/**
 * The X-Ray SDK keeps its context with cls-hooked, an async hook on every promise that every invocation
 * pays for, sampled or not (docs/benchmarks.md, "Tracing"). A function loads it only when the stack asks
 * for `sdk`: checked on the reservation handler bundled as it deploys, loaded in a fresh Node process as
 * Lambda loads it. The X-Ray SDK's namespace in `process.namespaces` (cls-hooked's registry, made with
 * the hook when the SDK loads) shows whether it started.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { bundleAsDeployed } from '../../bench/bundles';
import { envVars } from '../../contract/env-vars';

// Inside the project, where the AWS SDK the bundle leaves to the runtime resolves from node_modules.
const scratch = join(import.meta.dirname, '../../.dropline');
mkdirSync(scratch, { recursive: true });
const dir = mkdtempSync(join(scratch, 'tracing-'));
const bundle = join(dir, 'create-reservation.mjs');

beforeAll(async () => {
  await bundleAsDeployed(join(import.meta.dirname, '../../lambdas/handlers/create-reservation.ts'), bundle);
}, 60_000);

afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Loads the bundle with `DROPLINE_TRACING` as given (unset when undefined): did the X-Ray SDK's hook start? */
function load(mode: string | undefined): { status: number | null; hooked?: boolean; stderr: string } {
  // A failed load prints its message alone: Node's own report leads with the bundle's minified source line.
  const script =
    `try { await import(${JSON.stringify(pathToFileURL(bundle).href)}); }` +
    'catch (error) { console.error(error.message); process.exit(1); }' +
    'console.log(JSON.stringify({ hooked: process.namespaces?.AWSXRay !== undefined }))';
  const { [envVars.tracing]: _, ...environment } = process.env;
  const result = spawnSync(process.execPath, ['--input-type=module', '-e', script], {
    encoding: 'utf8',
    env: {
      ...environment,
      NODE_OPTIONS: '',
      [envVars.tableName]: 'tracing-test',
      AWS_REGION: 'us-east-1',
      ...(mode === undefined ? {} : { [envVars.tracing]: mode }),
    },
  });
  const hooked = result.status === 0 ? (JSON.parse(result.stdout.trim()) as { hooked: boolean }).hooked : undefined;
  return { status: result.status, stderr: result.stderr, ...(hooked === undefined ? {} : { hooked }) };
}

describe('in-function tracing', () => {
  it('keeps the X-Ray SDK in the bundle, for a stack that asks for it', () => {
    expect(readFileSync(bundle, 'utf8')).toContain('process.namespaces');
  });

  it('leaves the X-Ray SDK unloaded by default and with `service`', () => {
    expect(load(undefined)).toMatchObject({ status: 0, hooked: false });
    expect(load('service')).toMatchObject({ status: 0, hooked: false });
  });

  it('loads it with `sdk`', () => {
    expect(load('sdk')).toMatchObject({ status: 0, hooked: true });
  });

  it('refuses to start with a mode it does not know, naming the variable', () => {
    const result = load('xray');
    expect(result.status).not.toBe(0);
    expect(result.stderr.trim()).toBe(`${envVars.tracing} must be one of service, sdk, not xray`);
  });
});
