import { SecretValue } from 'aws-cdk-lib';
import { CfnWebACL, CfnWebACLAssociation } from 'aws-cdk-lib/aws-wafv2';
import { Construct } from 'constructs';
import type { OriginSecretVersions } from '../config/settings';

/** The header CloudFront adds to every request it forwards to the API. */
export const ORIGIN_HEADER = 'x-dropline-origin';

/** The dynamic references the two sides of the origin lock put in their templates. */
export interface OriginSecretReferences {
  /** What CloudFront sends: the one version named in context (the current value before any rotation). */
  readonly sent: string;
  /** What the API accepts: `sent`, character for character, and the previous version while a rotation runs. */
  readonly accepted: readonly string[];
}

/**
 * Both sides of the origin lock from one place, so no build of the app can
 * give them different versions.
 *
 * CloudFormation resolves a `{{resolve:secretsmanager:…}}` reference again
 * only when the reference itself changes in the template: "During stack
 * updates, CloudFormation doesn't retrieve the value of the dynamic reference
 * unless a change is made to the dynamic reference itself … specify the
 * VersionId in the dynamic reference string" (AWS re:Post Knowledge Center,
 * "Why didn't my secret update in CloudFormation?",
 * https://repost.aws/knowledge-center/cloudformation-stack-update-secrets;
 * pattern `{{resolve:secretsmanager:secret-id:SecretString:json-key:version-stage:version-id}}`,
 * Secrets Manager User Guide, "Get an AWS Secrets Manager secret in an AWS
 * CloudFormation resource",
 * https://docs.aws.amazon.com/secretsmanager/latest/userguide/cfn-example_reference-secret.html).
 * A staging label such as AWSPREVIOUS would keep its first resolved value for
 * ever, so every reference here names a VersionId: a rotation changes the
 * text of both, and what each side resolves is fixed by its template alone.
 */
export function originSecretReferences(secretName: string, versions: OriginSecretVersions): OriginSecretReferences {
  const reference = (versionId: string | undefined) =>
    SecretValue.secretsManager(secretName, versionId ? { versionId } : {}).unsafeUnwrap();
  const sent = reference(versions.version);
  return {
    sent,
    accepted: versions.previousVersion ? [sent, reference(versions.previousVersion)] : [sent],
  };
}

export interface OriginGuardProps {
  /** ARN of the API stage to guard. */
  readonly stageArn: string;
  /** The header values to let through: dynamic references to the secret's versions, never literals. */
  readonly accepted: readonly string[];
}

/**
 * A regional WAF web ACL on the API stage that blocks every request without
 * CloudFront's secret origin header, so shoppers and bots cannot go around
 * the edge and its WAF (the pattern of AWS's Virtual Waiting Room). During a
 * rotation it lets two versions through: the one the edge moves to and the
 * one it still sends until its own deploy finishes.
 */
export class OriginGuard extends Construct {
  readonly webAcl: CfnWebACL;

  constructor(scope: Construct, id: string, props: OriginGuardProps) {
    super(scope, id);
    if (props.accepted.length < 1 || props.accepted.length > 2) {
      throw new Error('the origin guard accepts the current secret version and at most one previous');
    }
    const matches = props.accepted.map(
      (value): CfnWebACL.StatementProperty => ({
        byteMatchStatement: {
          fieldToMatch: { singleHeader: { Name: ORIGIN_HEADER } },
          positionalConstraint: 'EXACTLY',
          searchString: value,
          textTransformations: [{ priority: 0, type: 'NONE' }],
        },
      }),
    );
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
          statement:
            matches.length === 1
              ? (matches[0] as CfnWebACL.StatementProperty)
              : { orStatement: { statements: matches } },
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
