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

const managed = (
  name: string,
  priority: number,
  enforce: boolean,
  config?: CfnWebACL.ManagedRuleGroupConfigProperty,
) => ({
  name,
  priority,
  overrideAction: enforce ? { none: {} } : { count: {} },
  statement: {
    managedRuleGroupStatement: {
      vendorName: 'AWS',
      name,
      ...(config ? { managedRuleGroupConfigs: [config] } : {}),
    },
  },
  visibilityConfig: visibility(name),
});

/**
 * The CloudFront web ACL (scope CLOUDFRONT, so it lives in us-east-1). Bots
 * are slowed before they reach the stock: per-IP rate rules, Bot Control, and
 * a silent browser challenge — solved when the drop page loads, its token
 * checked on every reservation attempt.
 */
export interface EdgeFirewallProps {
  /**
   * `count` only records what each rule would do: for a stage that a
   * rehearsal (`dropline rehearse --target`) loads from a few machines, which
   * per-IP limits, Bot Control and the browser challenge would otherwise stop.
   * @default 'enforce'
   */
  readonly mode?: 'enforce' | 'count';
}

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
          awsManagedRulesBotControlRuleSet: { inspectionLevel: 'COMMON' },
        }),
        {
          name: 'challenge-on-drop-page',
          priority: 6,
          action: or({ challenge: {} }),
          statement: dropPage,
          visibilityConfig: visibility('dropline-challenge-page'),
        },
        {
          name: 'challenge-on-reservation',
          priority: 7,
          action: or({ challenge: {} }),
          statement: reservationPath,
          visibilityConfig: visibility('dropline-challenge-reservation'),
        },
      ],
    });
  }
}
