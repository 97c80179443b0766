import { Validations } from 'aws-cdk-lib';
import { EndpointType, MockIntegration, PassthroughBehavior, RestApi } from 'aws-cdk-lib/aws-apigateway';
import { Construct } from 'constructs';

/** What a shopper's read gets while the API is failing: the contract's error shape, 503, retry soon. */
export const PAUSED_BODY = JSON.stringify({
  error: { code: 'PAUSED', message: 'The drop is paused for a moment. Try again in a few seconds.' },
});
export const PAUSED_RETRY_AFTER_SECONDS = 15;

export interface PausedOriginProps {
  /** Name of the API, per stage. */
  readonly name: string;
}

/**
 * The secondary origin of shopper reads: a REST API whose every path and
 * method answers a fixed 503 `PAUSED` from a mock integration — no function,
 * no table, nothing shared with the API it stands in for. An S3 object cannot
 * play this part: CloudFront asks the secondary origin for the same path
 * (`/products/SNKR-1`), and S3 has no object per SKU, order or reservation.
 */
export class PausedOrigin extends Construct {
  readonly api: RestApi;

  constructor(scope: Construct, id: string, props: PausedOriginProps) {
    super(scope, id);
    this.api = new RestApi(this, 'Api', {
      restApiName: props.name,
      description: 'dropline: answers every shopper read with 503 PAUSED while the API fails',
      endpointTypes: [EndpointType.REGIONAL],
      cloudWatchRole: false,
      deployOptions: { stageName: 'paused', tracingEnabled: false },
    });
    const answer = new MockIntegration({
      passthroughBehavior: PassthroughBehavior.WHEN_NO_TEMPLATES,
      requestTemplates: { 'application/json': '{"statusCode": 200}' },
      integrationResponses: [
        {
          statusCode: '503',
          responseTemplates: { 'application/json': PAUSED_BODY },
          responseParameters: {
            'method.response.header.Retry-After': `'${PAUSED_RETRY_AFTER_SECONDS}'`,
            // Edge locations keep the answer briefly, so a spike of refreshes during an outage stays at the edge.
            'method.response.header.Cache-Control': "'max-age=5'",
          },
        },
      ],
    });
    const options = {
      methodResponses: [
        {
          statusCode: '503',
          responseParameters: {
            'method.response.header.Retry-After': true,
            'method.response.header.Cache-Control': true,
          },
        },
      ],
    };
    this.api.root.addMethod('ANY', answer, options);
    this.api.root.addProxy({ defaultIntegration: answer, defaultMethodOptions: options, anyMethod: true });

    const reasons: Record<string, string> = {
      'AwsSolutions-APIG1': 'a constant answer from a mock integration; CloudFront standard logs record every request',
      'AwsSolutions-APIG2': 'no request reaches anything: the mock integration ignores the body',
      'AwsSolutions-APIG3': 'reached only through CloudFront, whose web ACL inspects every request first',
      'AwsSolutions-APIG4': 'public by design: it says "paused" to anyone, and changes nothing',
      'AwsSolutions-APIG6': 'a constant answer from a mock integration: nothing to log per execution',
      'AwsSolutions-COG4': 'public by design: it says "paused" to anyone, and changes nothing',
    };
    for (const [ruleId, reason] of Object.entries(reasons)) {
      Validations.of(this.api).acknowledge({ id: ruleId, reason });
    }
  }
}
