import { CfnWebACL, CfnWebACLAssociation } from 'aws-cdk-lib/aws-wafv2';
import { Construct } from 'constructs';

/** The header CloudFront adds to every request it forwards to the API. */
export const ORIGIN_HEADER = 'x-dropline-origin';

export interface OriginGuardProps {
  /** ARN of the API stage to guard. */
  readonly stageArn: string;
  /** The header's expected value (a dynamic reference to a secret, never a literal). */
  readonly secret: string;
}

/**
 * A regional WAF web ACL on the API stage that blocks every request without
 * CloudFront's secret origin header, so shoppers and bots cannot go around
 * the edge and its WAF (the pattern of AWS's Virtual Waiting Room).
 */
export class OriginGuard extends Construct {
  readonly webAcl: CfnWebACL;

  constructor(scope: Construct, id: string, props: OriginGuardProps) {
    super(scope, id);
    this.webAcl = new CfnWebACL(this, 'WebAcl', {
      scope: 'REGIONAL',
      description: 'dropline API: only requests that came through CloudFront',
      defaultAction: { block: {} },
      visibilityConfig: {
        cloudWatchMetricsEnabled: true,
        metricName: 'dropline-origin-guard',
        sampledRequestsEnabled: true,
      },
      rules: [
        {
          name: 'came-through-cloudfront',
          priority: 0,
          action: { allow: {} },
          statement: {
            byteMatchStatement: {
              fieldToMatch: { singleHeader: { Name: ORIGIN_HEADER } },
              positionalConstraint: 'EXACTLY',
              searchString: props.secret,
              textTransformations: [{ priority: 0, type: 'NONE' }],
            },
          },
          visibilityConfig: {
            cloudWatchMetricsEnabled: true,
            metricName: 'dropline-from-cloudfront',
            sampledRequestsEnabled: false,
          },
        },
      ],
    });
    new CfnWebACLAssociation(this, 'Association', { resourceArn: props.stageArn, webAclArn: this.webAcl.attrArn });
  }
}
