/**
 * Builds the whole app in memory for assertion tests. Function code is not
 * bundled here (the CLI synth test bundles for real); everything else is the
 * template `cdk deploy` would get.
 */
import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { buildDroplineApp, type DroplineStacks } from '../../lib/app';
import { parseDropPlan } from '../../lib/config/drop-plan';
import { type DeploySettings, readSettings } from '../../lib/config/settings';

export const NOW = new Date('2030-01-01T00:00:00Z');

export const plan = parseDropPlan({
  drops: [
    { sku: 'SNKR-RED-42', startsAt: '2030-03-14T17:00:00Z', expectedPeakRps: 2000, units: 5000 },
    { sku: 'HOODIE-BLK', startsAt: '2030-03-20T17:00:00Z', expectedPeakRps: 400, units: 300 },
  ],
});

export const dns = {
  domainName: 'drop.example.com',
  hostedZoneId: 'Z0123456789ABCDEFGHIJ',
  hostedZoneName: 'example.com',
};

export interface Synthesized {
  readonly stacks: DroplineStacks;
  readonly stateful: Template;
  readonly stateless: Template;
  readonly edge: Template;
  readonly monitoring: Template;
}

export function synthesize(overrides: Partial<DeploySettings> = {}): Synthesized {
  const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
  const settings: DeploySettings = { ...readSettings(app.node, {}), dropPlan: plan, ...overrides };
  const stacks = buildDroplineApp(app, settings, NOW);
  return {
    stacks,
    stateful: Template.fromStack(stacks.stateful),
    stateless: Template.fromStack(stacks.stateless),
    edge: Template.fromStack(stacks.edge),
    monitoring: Template.fromStack(stacks.monitoring),
  };
}

type Resources = Record<string, { Type: string; Properties: Record<string, unknown> }>;

export const resourcesOf = (template: Template, type: string): Resources => template.findResources(type) as Resources;

/** The one resource of a type in a template (fails the test when there are none or several). */
export function onlyResource(template: Template, type: string): Resources[string] {
  const all = Object.values(resourcesOf(template, type));
  if (all.length !== 1 || !all[0]) throw new Error(`expected one ${type}, found ${all.length}`);
  return all[0];
}
