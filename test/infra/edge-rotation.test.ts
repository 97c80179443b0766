/**
 * Rotating the origin secret must never leave CloudFront sending a value the
 * API's web ACL refuses. Both templates are built from one context value, and
 * every reference names a VersionId, so what each side resolves is fixed by
 * its template text (lib/constructs/origin-guard.ts).
 */
import { App } from 'aws-cdk-lib';
import { readSettings, SettingsError } from '../../lib/config/settings';
import { onlyResource, type Synthesized, synthesize } from './synth';

const V1 = '11111111-2222-3333-4444-555555555555';
const V2 = 'aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee';
const V3 = '99999999-8888-7777-6666-555555555555';

/** The origin header value the distribution sends to the API. */
function sent(synth: Synthesized): string {
  const distribution = onlyResource(synth.edge, 'AWS::CloudFront::Distribution');
  const origins = (distribution.Properties.DistributionConfig as { Origins: Array<Record<string, unknown>> }).Origins;
  const headers = origins.flatMap(
    (origin) => (origin.OriginCustomHeaders ?? []) as Array<{ HeaderName: string; HeaderValue: unknown }>,
  );
  // The API is one origin for writes and the primary of the read origin group: every copy sends the same value.
  const values = new Set(headers.map((header) => JSON.stringify(header.HeaderValue)));
  expect(headers.length).toBeGreaterThan(0);
  expect(values.size).toBe(1);
  return [...values][0] as string;
}

/** The origin header values the API's regional web ACL lets through. */
function accepted(synth: Synthesized): string[] {
  const acl = onlyResource(synth.stateless, 'AWS::WAFv2::WebACL');
  const [rule] = acl.Properties.Rules as Array<{ Action: object; Statement: Record<string, unknown> }>;
  expect(rule?.Action).toEqual({ Allow: {} });
  type Match = { ByteMatchStatement: { SearchString: unknown; FieldToMatch: unknown } };
  const statement = rule?.Statement as Match & { OrStatement?: { Statements: Match[] } };
  const matches = statement.OrStatement ? statement.OrStatement.Statements : [statement];
  for (const match of matches) {
    expect(match.ByteMatchStatement.FieldToMatch).toEqual({ SingleHeader: { Name: 'x-dropline-origin' } });
  }
  return matches.map((match) => JSON.stringify(match.ByteMatchStatement.SearchString));
}

const versioned = (versionId: string) =>
  new RegExp(`\\{\\{resolve:secretsmanager:[^:]+:SecretString:::${versionId}\\}\\}`);

describe('origin secret rotation', () => {
  const before = synthesize();
  const rotating = synthesize({ originSecret: { version: V2, previousVersion: V1 } });
  const rotated = synthesize({ originSecret: { version: V2, previousVersion: undefined } });
  const next = synthesize({ originSecret: { version: V3, previousVersion: V2 } });

  it('sends a value the API accepts in every shape the settings allow', () => {
    for (const synth of [before, rotating, rotated, next]) expect(accepted(synth)).toContain(sent(synth));
  });

  it('names the version in both references, so CloudFormation resolves both again when it changes', () => {
    expect(sent(rotating)).toMatch(versioned(V2));
    expect(sent(next)).toMatch(versioned(V3));
    expect(accepted(rotating)[0]).toBe(sent(rotating));
  });

  it('accepts the current and the previous version while a rotation runs (stateless deploys first)', () => {
    const [current, previous] = accepted(rotating);
    expect(current).toMatch(versioned(V2));
    expect(previous).toMatch(versioned(V1));
    // The next rotation: the edge still sends V2 (from `rotated`) until its own deploy, and the API lets it through.
    expect(accepted(next)).toEqual([sent(next), expect.stringMatching(versioned(V2))]);
  });

  it('changes both references together: no context change moves one side alone', () => {
    const shapes = [before, rotating, rotated, next];
    for (const a of shapes) {
      for (const b of shapes) {
        const edgeChanged = sent(a) !== sent(b);
        const apiCurrentChanged = accepted(a)[0] !== accepted(b)[0];
        expect(edgeChanged).toBe(apiCurrentChanged);
      }
    }
  });

  it('creates the web ACL only after the secret its references name', () => {
    const [secretId] = Object.keys(rotating.stateless.findResources('AWS::SecretsManager::Secret'));
    const [, acl] = Object.entries(rotating.stateless.findResources('AWS::WAFv2::WebACL'))[0] ?? [];
    expect(acl?.DependsOn).toContain(secretId);
  });

  it('revokes the previous version once the rotation is done', () => {
    expect(accepted(rotated)).toEqual([sent(rotated)]);
  });

  it('never uses a staging label, whose first resolved value CloudFormation would keep', () => {
    for (const synth of [before, rotating, rotated, next]) {
      expect(JSON.stringify([sent(synth), ...accepted(synth)])).not.toMatch(/AWSCURRENT|AWSPREVIOUS|AWSPENDING/);
    }
  });
});

describe('origin secret context', () => {
  const read = (context: Record<string, string>) => readSettings(new App({ context }).node, {}).originSecret;

  it('reads the version CloudFront sends and the one the API still accepts', () => {
    expect(read({ originSecretVersion: V2, originSecretPreviousVersion: V1 })).toEqual({
      version: V2,
      previousVersion: V1,
    });
    expect(read({})).toEqual({ version: undefined, previousVersion: undefined });
  });

  it.each([
    ['a previous version without a current one', { originSecretPreviousVersion: V1 }],
    ['the same version twice', { originSecretVersion: V1, originSecretPreviousVersion: V1 }],
    ['a staging label instead of a VersionId', { originSecretVersion: 'AWSCURRENT' }],
    ['a value that would break the reference', { originSecretVersion: `${V1}}}:x` }],
  ])('refuses %s', (_, context) => {
    expect(() => read(context)).toThrow(SettingsError);
  });
});
