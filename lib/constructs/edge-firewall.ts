import { CfnWebACL } from 'aws-cdk-lib/aws-wafv2';
import { Construct } from 'constructs';

/** Per-IP limits: generous enough for shoppers behind one carrier NAT, far below what a bot farm needs. */
export const rateLimits = {
  /** Any request, per IP, per minute. */
  perIpPerMinute: 1200,
  /** Reservation attempts, per IP, per minute. */
  reservationsPerIpPerMinute: 60,
} as const;

const visibility = (metricName: string) => ({
  cloudWatchMetricsEnabled: true,
  metricName,
  sampledRequestsEnabled: true,
});

const reservationPath: CfnWebACL.StatementProperty = {
  andStatement: {
    statements: [
      {
        byteMatchStatement: {
          fieldToMatch: { uriPath: {} },
          positionalConstraint: 'ENDS_WITH',
          searchString: '/reservations',
          textTransformations: [{ priority: 0, type: 'LOWERCASE' }],
        },
      },
      {
        byteMatchStatement: {
          fieldToMatch: { method: {} },
          positionalConstraint: 'EXACTLY',
          searchString: 'POST',
          textTransformations: [{ priority: 0, type: 'NONE' }],
        },
      },
    ],
  },
};

const dropPage: CfnWebACL.StatementProperty = {
  orStatement: {
    statements: ['/', '/index.html'].map((path) => ({
      byteMatchStatement: {
        fieldToMatch: { uriPath: {} },
        positionalConstraint: 'EXACTLY',
        searchString: path,
        textTransformations: [{ priority: 0, type: 'NONE' }],
      },
    })),
  },
};

/**
 * Routes whose callers are not browsers by design: admin calls (curl, scripts; the API key guards them) and
 * `/health` (Route 53 health checkers). Bot Control never sees them.
 */
const nonBrowserRoutes: CfnWebACL.StatementProperty = {
  orStatement: {
    statements: [
      {
        byteMatchStatement: {
          fieldToMatch: { uriPath: {} },
          positionalConstraint: 'STARTS_WITH',
          searchString: '/admin/',
          textTransformations: [{ priority: 0, type: 'NONE' }],
        },
      },
      {
        byteMatchStatement: {
          fieldToMatch: { uriPath: {} },
          positionalConstraint: 'EXACTLY',
          searchString: '/health',
          textTransformations: [{ priority: 0, type: 'NONE' }],
        },
      },
    ],
  },
};

/**
 * Bot Control rules that block any client that is not a browser by default: they only label here, and
 * `non-browser-reservations` turns the labels into a block where a bot does harm.
 */
export const nonBrowserSignals = {
  SignalNonBrowserUserAgent: 'awswaf:managed:aws:bot-control:signal:non_browser_user_agent',
  CategoryHttpLibrary: 'awswaf:managed:aws:bot-control:bot:category:http_library',
} as const;

/** Token management labels every request Bot Control inspects; `accepted` is a valid, unexpired challenge token. */
export const ACCEPTED_TOKEN_LABEL = 'awswaf:managed:token:accepted';

const label = (key: string): CfnWebACL.StatementProperty => ({ labelMatchStatement: { scope: 'LABEL', key } });

const managed = (
  name: string,
  priority: number,
  enforce: boolean,
  config?: Partial<CfnWebACL.ManagedRuleGroupStatementProperty>,
) => ({
  name,
  priority,
  overrideAction: enforce ? { none: {} } : { count: {} },
  statement: {
    managedRuleGroupStatement: { vendorName: 'AWS', name, ...config },
  },
  visibilityConfig: visibility(name),
});

export interface EdgeFirewallProps {
  /**
   * `count` only records what each rule would do: for a stage that a
   * rehearsal (`dropline rehearse --target`) loads from a few machines, which
   * per-IP limits, Bot Control and the browser challenge would otherwise stop.
   * @default 'enforce'
   */
  readonly mode?: 'enforce' | 'count';
}

/**
 * The CloudFront web ACL (scope CLOUDFRONT, so it lives in us-east-1). Bots
 * are slowed before they reach the stock: per-IP rate rules, Bot Control, and
 * a silent browser challenge — solved when the drop page loads, its token
 * checked on every reservation attempt.
 *
 * Legitimate clients that are not browsers keep a path (docs/deploy.md, "Who
 * gets through the edge"). Bot Control's common level blocks
 * `SignalNonBrowserUserAgent` and `CategoryHttpLibrary` by default, "Mobile
 * apps typically have non-browser user agents, which the
 * SignalNonBrowserUserAgent rule blocks by default"; AWS's remedy is to set
 * the rule to Count and combine its label with your own criteria in a later
 * rule (AWS WAF Developer Guide, "Bot Control example: Creating an exception
 * for a blocked user agent",
 * https://docs.aws.amazon.com/waf/latest/developerguide/waf-bot-control-example-user-agent-exception.html;
 * label names: "AWS WAF Bot Control rule group",
 * https://docs.aws.amazon.com/waf/latest/developerguide/aws-managed-rule-groups-bot.html).
 * So: admin routes and `/health` are scoped out of Bot Control; the two
 * signals only label; and `non-browser-reservations` blocks a labelled
 * request on the reservation path unless it carries an accepted AWS WAF token
 * (a browser that solved the challenge, or a native app using the AWS WAF
 * mobile SDK) — a rule placed right after the managed group, matching the
 * token labels Bot Control adds, as AWS describes in "Blocking requests that
 * don't have a valid AWS WAF token",
 * https://docs.aws.amazon.com/waf/latest/developerguide/waf-tokens-block-missing-tokens.html
 * (token labels: "Types of token labels in AWS WAF",
 * https://docs.aws.amazon.com/waf/latest/developerguide/waf-tokens-labeling.html).
 */
export class EdgeFirewall extends Construct {
  readonly webAcl: CfnWebACL;

  constructor(scope: Construct, id: string, props: EdgeFirewallProps = {}) {
    super(scope, id);
    const enforce = (props.mode ?? 'enforce') === 'enforce';
    const or = (action: CfnWebACL.RuleActionProperty) => (enforce ? action : { count: {} });
    this.webAcl = new CfnWebACL(this, 'WebAcl', {
      scope: 'CLOUDFRONT',
      description: 'dropline edge: rate limits, bot control, challenge on reservations',
      defaultAction: { allow: {} },
      visibilityConfig: visibility('dropline-edge'),
      // A solved challenge is good for a whole drop's queue, not the default five minutes.
      challengeConfig: { immunityTimeProperty: { immunityTime: 900 } },
      rules: [
        {
          name: 'reservations-per-ip',
          priority: 0,
          action: or({ block: { customResponse: { responseCode: 429 } } }),
          statement: {
            rateBasedStatement: {
              aggregateKeyType: 'IP',
              evaluationWindowSec: 60,
              limit: rateLimits.reservationsPerIpPerMinute,
              scopeDownStatement: reservationPath,
            },
          },
          visibilityConfig: visibility('dropline-reservations-per-ip'),
        },
        {
          name: 'requests-per-ip',
          priority: 1,
          action: or({ block: { customResponse: { responseCode: 429 } } }),
          statement: {
            rateBasedStatement: { aggregateKeyType: 'IP', evaluationWindowSec: 60, limit: rateLimits.perIpPerMinute },
          },
          visibilityConfig: visibility('dropline-requests-per-ip'),
        },
        managed('AWSManagedRulesAmazonIpReputationList', 2, enforce),
        managed('AWSManagedRulesCommonRuleSet', 3, enforce),
        managed('AWSManagedRulesKnownBadInputsRuleSet', 4, enforce),
        managed('AWSManagedRulesBotControlRuleSet', 5, enforce, {
          managedRuleGroupConfigs: [{ awsManagedRulesBotControlRuleSet: { inspectionLevel: 'COMMON' } }],
          scopeDownStatement: { notStatement: { statement: nonBrowserRoutes } },
          ruleActionOverrides: Object.keys(nonBrowserSignals).map((rule) => ({
            name: rule,
            actionToUse: { count: {} },
          })),
        }),
        {
          name: 'non-browser-reservations',
          priority: 6,
          action: or({ block: {} }),
          statement: {
            andStatement: {
              statements: [
                reservationPath,
                { orStatement: { statements: Object.values(nonBrowserSignals).map(label) } },
                { notStatement: { statement: label(ACCEPTED_TOKEN_LABEL) } },
              ],
            },
          },
          visibilityConfig: visibility('dropline-non-browser-reservations'),
        },
        {
          name: 'challenge-on-drop-page',
          priority: 7,
          action: or({ challenge: {} }),
          statement: dropPage,
          visibilityConfig: visibility('dropline-challenge-page'),
        },
        {
          name: 'challenge-on-reservation',
          priority: 8,
          action: or({ challenge: {} }),
          statement: reservationPath,
          visibilityConfig: visibility('dropline-challenge-reservation'),
        },
      ],
    });
  }
}
