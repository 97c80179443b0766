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
 * The waiting room's ticket issuance: `GET /drops/{sku}/queue` without a ticket. Every later poll carries
 * its ticket (`x-dropline-ticket`, site/assets/waiting-room.js), and the edge function never issues a
 * ticket to a request that carries that header (an unverifiable one is refused 403 TICKET_INVALID,
 * edge/admission.js): so a waiting shopper is asked once, on arrival, not on every poll.
 */
const ticketIssuance: CfnWebACL.StatementProperty = {
  andStatement: {
    statements: [
      {
        byteMatchStatement: {
          fieldToMatch: { uriPath: {} },
          positionalConstraint: 'STARTS_WITH',
          searchString: '/drops/',
          textTransformations: [{ priority: 0, type: 'NONE' }],
        },
      },
      {
        byteMatchStatement: {
          fieldToMatch: { uriPath: {} },
          positionalConstraint: 'ENDS_WITH',
          searchString: '/queue',
          textTransformations: [{ priority: 0, type: 'NONE' }],
        },
      },
      {
        byteMatchStatement: {
          fieldToMatch: { method: {} },
          positionalConstraint: 'EXACTLY',
          searchString: 'GET',
          textTransformations: [{ priority: 0, type: 'NONE' }],
        },
      },
      {
        notStatement: {
          statement: {
            sizeConstraintStatement: {
              fieldToMatch: { singleHeader: { Name: 'x-dropline-ticket' } },
              comparisonOperator: 'GT',
              size: 0,
              textTransformations: [{ priority: 0, type: 'NONE' }],
            },
          },
        },
      },
    ],
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

/**
 * Bot Control's signals, matched as a namespace (a label match with scope NAMESPACE takes "any number of
 * contiguous namespace strings", AWS WAF API Reference, "LabelMatchStatement",
 * https://docs.aws.amazon.com/waf/latest/APIReference/API_LabelMatchStatement.html). At the common level
 * the namespace holds `signal:non_browser_user_agent` (only counted here, see `nonBrowserSignals`),
 * `signal:automated_browser` and `signal:known_bot_data_center` (blocked by the group itself while it
 * enforces, so they reach later rules only on a counting stage) and `signal:cloud_service_provider:<name>`,
 * which only labels ("AWS WAF Bot Control rule group", "Bot Control rules listing",
 * https://docs.aws.amazon.com/waf/latest/developerguide/aws-managed-rule-groups-bot.html). A namespace
 * also takes signals AWS adds later without a change here.
 */
export const SUSPICIOUS_SIGNAL_NAMESPACE = 'awswaf:managed:aws:bot-control:signal:';

/**
 * How long a solved CAPTCHA spares its browser another, in seconds. A shopper needs it only between the
 * solve and the retried queue request (seconds), and again on the rare re-queue after a signing key
 * retires; every minute more is a minute in which one solved token, copied across a bot farm, mints
 * tickets for it. So AWS's default and not the challenge's 900 s, set here so that a change of the web
 * ACL's own default cannot move it ("Setting timestamp expiration and token immunity times",
 * https://docs.aws.amazon.com/waf/latest/developerguide/waf-tokens-immunity-times.html).
 */
export const CAPTCHA_IMMUNITY_SECONDS = 300;

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
 * checked on every reservation attempt — and a CAPTCHA when a client Bot
 * Control finds suspicious asks the waiting room for a ticket.
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
      description:
        'dropline edge: rate limits, bot control, challenge on reservations, CAPTCHA on suspicious queue arrivals',
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
        {
          // After Bot Control (priority 5): a label is seen only by rules evaluated after the rule that adds it.
          // A request whose token holds an unexpired CAPTCHA solve goes on as if counted; one without gets
          // 405 with `x-amzn-waf-action: captcha`, and a browser navigation (Accept: text/html) gets WAF's
          // CAPTCHA page, which resubmits the request once solved ("CAPTCHA and Challenge action behavior",
          // https://docs.aws.amazon.com/waf/latest/developerguide/waf-captcha-and-challenge-actions.html;
          // the drop page's part: site/assets/waf.js). On a counting stage it only counts.
          name: 'captcha-on-suspicious-ticket',
          priority: 9,
          action: or({ captcha: {} }),
          captchaConfig: { immunityTimeProperty: { immunityTime: CAPTCHA_IMMUNITY_SECONDS } },
          statement: {
            andStatement: {
              statements: [
                ticketIssuance,
                { labelMatchStatement: { scope: 'NAMESPACE', key: SUSPICIOUS_SIGNAL_NAMESPACE } },
              ],
            },
          },
          visibilityConfig: visibility('dropline-captcha-ticket'),
        },
      ],
    });
  }
}
