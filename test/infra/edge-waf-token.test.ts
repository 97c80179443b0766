/**
 * The drop page's AWS WAF integration URL travels with the page: the edge
 * stack's bucket deployment carries `assets/config.json`, after the site, whose
 * `wafIntegrationUrl` is the web ACL's `ApplicationIntegrationURL`, read at
 * deploy time with WAFv2's GetWebACL (CloudFormation has no attribute for it).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { App } from 'aws-cdk-lib';
import { WAF_CONFIG_KEY } from '../../lib/stacks/edge-stack';
import { onlyResource, resourcesOf, type Synthesized, synthesize } from './synth';

let synth: Synthesized;
beforeAll(() => {
  synth = synthesize();
});

type Json = Record<string, unknown>;

function deployment() {
  const { Properties } = onlyResource(synth.edge, 'Custom::CDKBucketDeployment');
  return Properties as { SourceObjectKeys: string[]; SourceMarkers: Json[]; SourceMarkersConfig: Json[] };
}

/** The staged files of a source, by path inside it (the assembly keeps each zip's content as `asset.<hash>`). */
function sourceFiles(objectKey: string): Map<string, string> {
  const hash = /^([0-9a-f]{64})\.zip$/.exec(objectKey)?.[1];
  if (!hash) throw new Error(`not an asset zip: ${objectKey}`);
  const dir = join((synth.stacks.edge.node.root as App).outdir, `asset.${hash}`);
  const files = readdirSync(dir, { recursive: true, withFileTypes: true }).filter((entry) => entry.isFile());
  return new Map(
    files.map((entry) => {
      const path = join(entry.parentPath, entry.name);
      return [path.slice(dir.length + 1), readFileSync(path, 'utf8')];
    }),
  );
}

const logicalIdOf = (template: Synthesized['edge'], type: string) => {
  const ids = Object.keys(resourcesOf(template, type));
  if (ids.length !== 1) throw new Error(`expected one ${type}, found ${ids.length}`);
  return ids[0] as string;
};

it('deploys config.json after the site, so the deployed one replaces the local one', () => {
  const { SourceObjectKeys } = deployment();
  expect(SourceObjectKeys).toHaveLength(2);
  const [site, config] = SourceObjectKeys.map(sourceFiles);

  expect(site?.has('index.html')).toBe(true);
  expect(JSON.parse(site?.get(WAF_CONFIG_KEY) ?? '')).toEqual({ wafIntegrationUrl: null });
  expect([...(config?.keys() ?? [])]).toEqual([WAF_CONFIG_KEY]);
});

it("fills wafIntegrationUrl with the web ACL's ApplicationIntegrationURL, read by GetWebACL at deploy time", () => {
  const { SourceObjectKeys, SourceMarkers, SourceMarkersConfig } = deployment();
  const config = JSON.parse(sourceFiles(SourceObjectKeys[1] as string).get(WAF_CONFIG_KEY) ?? '');
  const marker = config.wafIntegrationUrl as string;

  // The handler writes the value JSON-escaped into the marker's place.
  expect(SourceMarkersConfig[1]).toMatchObject({ jsonEscape: true });
  const lookup = logicalIdOf(synth.edge, 'Custom::AWS');
  expect(SourceMarkers[1]).toEqual({ [marker]: { 'Fn::GetAtt': [lookup, 'ApplicationIntegrationURL'] } });

  const webAcl = logicalIdOf(synth.edge, 'AWS::WAFv2::WebACL');
  const call = JSON.stringify(resourcesOf(synth.edge, 'Custom::AWS')[lookup]?.Properties.Create);
  expect(call).toContain('\\"service\\":\\"WAFV2\\",\\"action\\":\\"GetWebACL\\"');
  expect(call).toContain('\\"Scope\\":\\"CLOUDFRONT\\"');
  expect(call).toContain(JSON.stringify({ 'Fn::GetAtt': [webAcl, 'Id'] }));
  expect(call).toContain('\\"outputPaths\\":[\\"ApplicationIntegrationURL\\"]');
});

it('lets the lookup call GetWebACL on this web ACL only', () => {
  const webAcl = logicalIdOf(synth.edge, 'AWS::WAFv2::WebACL');
  const statements = Object.values(resourcesOf(synth.edge, 'AWS::IAM::Policy')).flatMap(
    (policy) => (policy.Properties.PolicyDocument as { Statement: Json[] }).Statement,
  );
  const wafStatements = statements.filter((statement) => JSON.stringify(statement.Action).includes('wafv2:'));
  expect(wafStatements).toEqual([
    { Action: 'wafv2:GetWebACL', Effect: 'Allow', Resource: { 'Fn::GetAtt': [webAcl, 'Arn'] } },
  ]);
});
