/**
 * cdk-nag's AWS Solutions pack runs on every synth (lib/app.ts); a finding
 * that is not acknowledged with a reason fails the synth. These tests synth
 * every shape of the app and expect zero findings, and prove the check bites.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App } from 'aws-cdk-lib';
import { Bucket } from 'aws-cdk-lib/aws-s3';
import { buildDroplineApp } from '../../lib/app';
import { type DeploySettings, readSettings } from '../../lib/config/settings';
import { dns, NOW, plan } from './synth';

const root = join(import.meta.dirname, '..', '..');
const outdirs: string[] = [];
afterAll(() => {
  for (const dir of outdirs) rmSync(dir, { recursive: true, force: true });
});

function build(overrides: Partial<DeploySettings>) {
  const outdir = mkdtempSync(join(tmpdir(), 'dropline-nag-'));
  outdirs.push(outdir);
  const app = new App({ outdir, context: { 'aws:cdk:bundling-stacks': [] } });
  const stacks = buildDroplineApp(app, { ...readSettings(app.node, {}), dropPlan: plan, ...overrides }, NOW);
  return { app, stacks, outdir };
}

it.each([
  ['without DNS', {}],
  ['with DNS and a drop plan', { dns }],
  ['with the API outside us-east-1 (cross-region edge)', { region: 'eu-west-1' }],
])('synthesizes %s with zero unacknowledged cdk-nag findings', (_, overrides) => {
  const { app } = build(overrides);
  expect(() => app.synth()).not.toThrow();
});

it('fails the synth on a finding nobody acknowledged', () => {
  const { app, stacks, outdir } = build({});
  new Bucket(stacks.stateful, 'Careless');
  expect(() => app.synth()).toThrow(/AwsSolutions-S1/);
  const report = readFileSync(join(outdir, 'validation-report.json'), 'utf8');
  expect(report).toMatch(/AwsSolutions-S1/);
  expect(report).toMatch(/Careless/);
});

it('synthesizes with the CDK CLI offline, without AWS credentials, bundling every function', () => {
  const outdir = mkdtempSync(join(tmpdir(), 'dropline-cdk-'));
  outdirs.push(outdir);
  const env = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('AWS_')));
  const result = spawnSync(
    'npx',
    [
      'cdk',
      'synth',
      '--quiet',
      '--no-notices',
      '--output',
      outdir,
      '-c',
      `domainName=${dns.domainName}`,
      '-c',
      `hostedZoneId=${dns.hostedZoneId}`,
      '-c',
      `hostedZoneName=${dns.hostedZoneName}`,
      '-c',
      'dropPlan=examples/drop-plan.json',
    ],
    {
      cwd: root,
      encoding: 'utf8',
      env: {
        ...env,
        NODE_OPTIONS: '',
        AWS_CONFIG_FILE: join(outdir, 'no-config'),
        AWS_SHARED_CREDENTIALS_FILE: join(outdir, 'no-credentials'),
        AWS_EC2_METADATA_DISABLED: 'true',
        CDK_DISABLE_VERSION_CHECK: 'true',
        CDK_DISABLE_CLI_TELEMETRY: 'true',
      },
      timeout: 180_000,
    },
  );
  // The CLI logs to stdout instead of stderr when CI is set (as on CI runners): read both.
  const output = `${result.stdout}${result.stderr}`;
  if (result.status !== 0) {
    const why = result.error?.message ?? `status ${result.status}, signal ${result.signal}`;
    throw new Error(`cdk synth failed (${why}):\n${output.slice(-4000)}`);
  }
  expect(output).toMatch(/Successfully synthesized/);
  const template = JSON.parse(readFileSync(join(outdir, 'Dropline-Stateless.template.json'), 'utf8'));
  const functions = Object.values(template.Resources as Record<string, { Type: string }>).filter(
    (resource) => resource.Type === 'AWS::Lambda::Function',
  );
  expect(functions.length).toBeGreaterThanOrEqual(16);
}, 180_000);
