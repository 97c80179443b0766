/**
 * Issue 14, point 8: a CAPTCHA when a client Bot Control finds suspicious asks the waiting room for a
 * ticket (lib/constructs/edge-firewall.ts). The page's side is test/integration/drop-page-waf.test.ts.
 */
import { CAPTCHA_IMMUNITY_SECONDS, SUSPICIOUS_SIGNAL_NAMESPACE } from '../../lib/constructs/edge-firewall';
import { onlyResource, type Synthesized, synthesize } from './synth';

type Statement = Record<string, unknown>;
type Rule = {
  Name: string;
  Priority: number;
  Action?: Record<string, unknown>;
  OverrideAction?: Record<string, unknown>;
  CaptchaConfig?: { ImmunityTimeProperty: { ImmunityTime: number } };
  Statement: { AndStatement?: { Statements: Statement[] } };
};

const rulesOf = (synth: Synthesized) => onlyResource(synth.edge, 'AWS::WAFv2::WebACL').Properties.Rules as Rule[];

const byName = (rules: Rule[], name: string) => {
  const rule = rules.find((candidate) => candidate.Name === name);
  if (!rule) throw new Error(`no rule ${name}`);
  return rule;
};

const RULE = 'captcha-on-suspicious-ticket';

describe('the CAPTCHA at ticket issuance', () => {
  const rules = rulesOf(synthesize());
  const rule = byName(rules, RULE);
  const [issuance, signals] = rule.Statement.AndStatement?.Statements ?? [];

  it('answers with the CAPTCHA action, and a solve spares the browser for five minutes', () => {
    expect(rule.Action).toEqual({ Captcha: {} });
    expect(CAPTCHA_IMMUNITY_SECONDS).toBe(300);
    expect(rule.CaptchaConfig).toEqual({ ImmunityTimeProperty: { ImmunityTime: CAPTCHA_IMMUNITY_SECONDS } });
  });

  it('keys on the namespace of Bot Control signals', () => {
    expect(SUSPICIOUS_SIGNAL_NAMESPACE).toBe('awswaf:managed:aws:bot-control:signal:');
    expect(signals).toEqual({ LabelMatchStatement: { Scope: 'NAMESPACE', Key: SUSPICIOUS_SIGNAL_NAMESPACE } });
    expect(rule.Statement.AndStatement?.Statements).toHaveLength(2);
  });

  it('applies only to GET /drops/{sku}/queue without a ticket, so a waiting shopper is not asked on every poll', () => {
    expect(issuance).toEqual({
      AndStatement: {
        Statements: [
          {
            ByteMatchStatement: {
              FieldToMatch: { UriPath: {} },
              PositionalConstraint: 'STARTS_WITH',
              SearchString: '/drops/',
              TextTransformations: [{ Priority: 0, Type: 'NONE' }],
            },
          },
          {
            ByteMatchStatement: {
              FieldToMatch: { UriPath: {} },
              PositionalConstraint: 'ENDS_WITH',
              SearchString: '/queue',
              TextTransformations: [{ Priority: 0, Type: 'NONE' }],
            },
          },
          {
            ByteMatchStatement: {
              FieldToMatch: { Method: {} },
              PositionalConstraint: 'EXACTLY',
              SearchString: 'GET',
              TextTransformations: [{ Priority: 0, Type: 'NONE' }],
            },
          },
          {
            NotStatement: {
              Statement: {
                SizeConstraintStatement: {
                  FieldToMatch: { SingleHeader: { Name: 'x-dropline-ticket' } },
                  ComparisonOperator: 'GT',
                  Size: 0,
                  TextTransformations: [{ Priority: 0, Type: 'NONE' }],
                },
              },
            },
          },
        ],
      },
    });
  });

  it('is evaluated after Bot Control, whose labels a rule sees only when it runs later', () => {
    const botControl = byName(rules, 'AWSManagedRulesBotControlRuleSet');
    expect(rule.Priority).toBeGreaterThan(botControl.Priority);
    const priorities = rules.map((candidate) => candidate.Priority);
    expect(new Set(priorities).size).toBe(priorities.length);
  });

  it('is inside Bot Control’s scope: its scope-down statement, evaluated, takes the queue in', () => {
    const botControl = byName(rules, 'AWSManagedRulesBotControlRuleSet') as unknown as {
      Statement: { ManagedRuleGroupStatement: { ScopeDownStatement?: PathStatement } };
    };
    const scope = botControl.Statement.ManagedRuleGroupStatement.ScopeDownStatement;
    const inScope = (path: string) => (scope === undefined ? true : matches(scope, path));
    expect(inScope('/drops/sku-1/queue')).toBe(true);
    // And the evaluator reads the statement: the routes it scopes out are out.
    expect(inScope('/admin/products/sku-1')).toBe(false);
  });

  it('only counts on a rehearsal stage (wafMode=count)', () => {
    const counting = byName(rulesOf(synthesize({ wafMode: 'count' })), RULE);
    expect(counting.Action).toEqual({ Count: {} });
    expect(counting.Statement).toEqual(rule.Statement);
  });
});

/** A WAF statement, as far as path matching goes: byte matches on the URI path under Not, Or and And. */
interface PathStatement {
  readonly NotStatement?: { readonly Statement: PathStatement };
  readonly OrStatement?: { readonly Statements: readonly PathStatement[] };
  readonly AndStatement?: { readonly Statements: readonly PathStatement[] };
  readonly ByteMatchStatement?: {
    readonly FieldToMatch: { readonly UriPath?: unknown };
    readonly PositionalConstraint: string;
    readonly SearchString: string;
  };
}

/** Whether `statement` matches a request for `path` (only URI-path byte matches; anything else fails the test). */
function matches(statement: PathStatement, path: string): boolean {
  if (statement.NotStatement) return !matches(statement.NotStatement.Statement, path);
  if (statement.OrStatement) return statement.OrStatement.Statements.some((inner) => matches(inner, path));
  if (statement.AndStatement) return statement.AndStatement.Statements.every((inner) => matches(inner, path));
  const byteMatch = statement.ByteMatchStatement;
  if (!byteMatch || byteMatch.FieldToMatch.UriPath === undefined) {
    throw new Error(`a scope-down this test cannot read: ${JSON.stringify(statement)}`);
  }
  const { PositionalConstraint: where, SearchString: text } = byteMatch;
  if (where === 'STARTS_WITH') return path.startsWith(text);
  if (where === 'ENDS_WITH') return path.endsWith(text);
  if (where === 'EXACTLY') return path === text;
  if (where === 'CONTAINS') return path.includes(text);
  throw new Error(`a positional constraint this test cannot read: ${where}`);
}
