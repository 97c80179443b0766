/**
 * The deploy freeze: inside a drop window, synth refuses unless the drop
 * paths' aliases are pinned to the versions they serve (their provisioned
 * environments then stay allocated) or the operator accepts the
 * reallocation. Pinned or not, the versions those aliases may point at are
 * never deleted by a later deploy.
 */
import { App } from 'aws-cdk-lib';
import { readSettings, SettingsError } from '../../lib/config/settings';
import { resourcesOf, synthesize } from './synth';

/** Opened ten minutes before the synth time (NOW in ./synth: 2030-01-01T00:00Z). */
const live = { sku: 'LIVE-1', startsAt: '2029-12-31T23:50:00Z', expectedPeakRps: 2000, units: 5000 };
/** Opens 20 minutes after it: inside the margin a deploy takes. */
const imminent = { sku: 'SOON-1', startsAt: '2030-01-01T00:35:00Z', expectedPeakRps: 2000, units: 5000 };
/** Opens in a week. */
const later = { sku: 'LATER-1', startsAt: '2030-01-08T17:00:00Z', expectedPeakRps: 2000, units: 5000 };

const aliases = (template: ReturnType<typeof synthesize>['stateless']) =>
  Object.values(resourcesOf(template, 'AWS::Lambda::Alias')).map((alias) => alias.Properties.FunctionVersion);

describe('a deploy inside a drop window', () => {
  it.each([
    ['open', live],
    ['opening before a deploy could finish', imminent],
  ])('is refused when a window is %s and the aliases are not pinned, naming the drop and the way out', (_, drop) => {
    expect(() => synthesize({ dropPlan: { drops: [drop] } })).toThrow(SettingsError);
    expect(() => synthesize({ dropPlan: { drops: [drop] } })).toThrow(
      new RegExp(`${drop.sku}.*reservationVersion=N -c checkoutVersion=M.*deployDuringDrop=true`),
    );
  });

  it('is refused when only one alias is pinned', () => {
    expect(() =>
      synthesize({ dropPlan: { drops: [live] }, pinnedVersions: { reservation: '7', checkout: undefined } }),
    ).toThrow(/a drop window is open/);
  });

  it('keeps both aliases on the pinned versions, whatever this deploy publishes', () => {
    const { stateless } = synthesize({
      dropPlan: { drops: [live] },
      pinnedVersions: { reservation: '7', checkout: '4' },
    });
    expect(aliases(stateless).sort()).toEqual(['4', '7']);
    // The deploy still publishes each function's new version, kept for the deploy that moves the alias.
    const versions = Object.values(resourcesOf(stateless, 'AWS::Lambda::Version')) as Array<{
      DeletionPolicy?: string;
    }>;
    expect(versions.map((version) => version.DeletionPolicy)).toEqual(['Retain', 'Retain']);
  });

  it('goes through with deployDuringDrop, the aliases following the new versions', () => {
    const { stateless } = synthesize({ dropPlan: { drops: [live] }, deployDuringDrop: true });
    const versions = resourcesOf(stateless, 'AWS::Lambda::Version');
    for (const version of aliases(stateless)) {
      expect(version).toEqual({ 'Fn::GetAtt': [expect.any(String), 'Version'] });
      const [logicalId] = (version as { 'Fn::GetAtt': [string, string] })['Fn::GetAtt'];
      expect(versions[logicalId]).toBeDefined();
    }
  });

  it('is not refused outside every window', () => {
    expect(() => synthesize({ dropPlan: { drops: [later] } })).not.toThrow();
  });
});

describe('published versions of the aliased functions', () => {
  it('are retained when a deploy replaces them, so a pinned alias never loses its version', () => {
    const { stateless } = synthesize({ dropPlan: { drops: [later] } });
    const versions = Object.values(resourcesOf(stateless, 'AWS::Lambda::Version')) as Array<{
      DeletionPolicy?: string;
      UpdateReplacePolicy?: string;
    }>;
    expect(versions).toHaveLength(2);
    for (const version of versions) {
      expect(version.DeletionPolicy).toBe('Retain');
      expect(version.UpdateReplacePolicy).toBe('Retain');
    }
  });
});

describe('pins and the override in context', () => {
  const settingsWith = (context: Record<string, unknown>) => readSettings(new App({ context }).node, {});

  it('reads version numbers and the flag', () => {
    const settings = settingsWith({ reservationVersion: '12', checkoutVersion: 3, deployDuringDrop: 'true' });
    expect(settings.pinnedVersions).toEqual({ reservation: '12', checkout: '3' });
    expect(settings.deployDuringDrop).toBe(true);
  });

  it.each([
    [{ reservationVersion: 0 }, /reservationVersion must be a published Lambda version number/],
    [{ checkoutVersion: '$LATEST' }, /checkoutVersion must be a published Lambda version number/],
    [{ checkoutVersion: 'live' }, /checkoutVersion must be a published Lambda version number/],
    [{ deployDuringDrop: 'yes' }, /deployDuringDrop must be true or false/],
  ])('refuses %p', (context, message) => {
    expect(() => settingsWith(context)).toThrow(message);
  });
});
