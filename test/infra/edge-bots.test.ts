/**
 * Bot Control's common level blocks every non-browser user agent by default:
 * admin curl, health checkers, native apps. Each legitimate one keeps a path
 * (lib/constructs/edge-firewall.ts, docs/deploy.md).
 */
import { ACCEPTED_TOKEN_LABEL, nonBrowserSignals } from '../../lib/constructs/edge-firewall';
import { onlyResource, type Synthesized, synthesize } from './synth';

type ByteMatch = { ByteMatchStatement: { PositionalConstraint: string; SearchString: string; FieldToMatch: object } };
type Group = {
  ScopeDownStatement: { NotStatement: { Statement: { OrStatement: { Statements: ByteMatch[] } } } };
  RuleActionOverrides: Array<{ Name: string; ActionToUse: object }>;
  ManagedRuleGroupConfigs: object[];
};
type Rule = {
  Name: string;
  Priority: number;
  Action?: Record<string, unknown>;
  OverrideAction?: Record<string, unknown>;
  Statement: {
    ManagedRuleGroupStatement: Group;
    AndStatement: { Statements: [object, { OrStatement: { Statements: object[] } }, object] };
  };
};

const rulesOf = (synth: Synthesized) => onlyResource(synth.edge, 'AWS::WAFv2::WebACL').Properties.Rules as Rule[];

const byName = (rules: Rule[], name: string) => {
  const rule = rules.find((candidate) => candidate.Name === name);
  if (!rule) throw new Error(`no rule ${name}`);
  return rule;
};

describe('Bot Control and clients that are not browsers', () => {
  const rules = rulesOf(synthesize());
  const botControl = byName(rules, 'AWSManagedRulesBotControlRuleSet');
  const group = botControl.Statement.ManagedRuleGroupStatement;

  it('never inspects admin routes or the health check (scope-down statement)', () => {
    const excluded = group.ScopeDownStatement.NotStatement.Statement.OrStatement.Statements.map((statement) => [
      statement.ByteMatchStatement.PositionalConstraint,
      statement.ByteMatchStatement.SearchString,
      statement.ByteMatchStatement.FieldToMatch,
    ]);
    expect(excluded).toEqual([
      ['STARTS_WITH', '/admin/', { UriPath: {} }],
      ['EXACTLY', '/health', { UriPath: {} }],
    ]);
  });

  it('only labels non-browser user agents and HTTP libraries, and still enforces the rest of the group', () => {
    expect(group.RuleActionOverrides).toEqual([
      { Name: 'SignalNonBrowserUserAgent', ActionToUse: { Count: {} } },
      { Name: 'CategoryHttpLibrary', ActionToUse: { Count: {} } },
    ]);
    expect(botControl.OverrideAction).toEqual({ None: {} });
    expect(group.ManagedRuleGroupConfigs).toEqual([
      { AWSManagedRulesBotControlRuleSet: { InspectionLevel: 'COMMON' } },
    ]);
  });

  it('blocks those labels on reservation attempts only, and not when the request carries an accepted WAF token', () => {
    const rule = byName(rules, 'non-browser-reservations');
    expect(rule.Action).toEqual({ Block: {} });
    // Labels are visible only to rules evaluated after the rule group that adds them.
    expect(rule.Priority).toBeGreaterThan(botControl.Priority);
    const [path, signals, token] = rule.Statement.AndStatement.Statements;
    expect(JSON.stringify(path)).toMatch(/"SearchString":"\/reservations"/);
    expect(JSON.stringify(path)).toMatch(/"SearchString":"POST"/);
    expect(signals.OrStatement.Statements).toEqual(
      Object.values(nonBrowserSignals).map((key) => ({ LabelMatchStatement: { Scope: 'LABEL', Key: key } })),
    );
    expect(token).toEqual({
      NotStatement: { Statement: { LabelMatchStatement: { Scope: 'LABEL', Key: ACCEPTED_TOKEN_LABEL } } },
    });
  });

  it('names the labels the overridden rules add', () => {
    expect(Object.keys(nonBrowserSignals)).toEqual(group.RuleActionOverrides.map((override) => override.Name));
    expect(nonBrowserSignals.SignalNonBrowserUserAgent).toBe(
      'awswaf:managed:aws:bot-control:signal:non_browser_user_agent',
    );
    expect(nonBrowserSignals.CategoryHttpLibrary).toBe('awswaf:managed:aws:bot-control:bot:category:http_library');
  });

  it('keeps every rule priority distinct', () => {
    const priorities = rules.map((rule) => rule.Priority);
    expect(new Set(priorities).size).toBe(priorities.length);
  });

  it('only counts on a rehearsal stage (wafMode=count), where `dropline rehearse --target` loads from a few machines', () => {
    const counting = rulesOf(synthesize({ wafMode: 'count' }));
    expect(byName(counting, 'non-browser-reservations').Action).toEqual({ Count: {} });
    expect(byName(counting, 'AWSManagedRulesBotControlRuleSet').OverrideAction).toEqual({ Count: {} });
  });
});
