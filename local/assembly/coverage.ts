/**
 * What the local runtime does with each resource type an assembly can hold:
 * run it on the embedded emulators, or leave it out for a stated reason.
 * A type in neither list is a new construct nobody has placed yet, and the
 * coverage test fails on it: nothing is skipped in silence.
 */
import type { CloudAssembly } from './cloud-assembly';
import { resourcesOf } from './cloud-assembly';

export type Coverage =
  | { readonly emulated: true; readonly by: string }
  | { readonly emulated: false; readonly reason: string };

const emulated = (by: string): Coverage => ({ emulated: true, by });
const skipped = (reason: string): Coverage => ({ emulated: false, reason });

const GATEWAY = emulated('the local API gateway');
const NO_IAM = skipped(
  'IAM is not enforced locally (test/infra/table-grants.test.ts asserts least privilege on the template)',
);
const NO_CLOUDWATCH = skipped('no CloudWatch locally: metrics are printed as EMF log lines');
const NO_EDGE = skipped(
  'the edge (CloudFront, WAF, DNS) is not emulated: the local gateway is the origin, reached directly',
);

export const LOCAL_COVERAGE: Readonly<Record<string, Coverage>> = {
  'AWS::DynamoDB::GlobalTable': emulated('DynamoDB Local (keys, indexes, stream; it does not enforce TTL)'),
  'AWS::SQS::Queue': emulated('fauxqs'),
  'AWS::SQS::QueuePolicy': NO_IAM,
  'AWS::SNS::Topic': emulated('fauxqs'),
  'AWS::SNS::Subscription': emulated('fauxqs'),
  'AWS::SNS::TopicPolicy': NO_IAM,
  'AWS::Lambda::Function': emulated('the local Lambda runtime'),
  'AWS::Lambda::EventSourceMapping': emulated('the local stream and queue pollers'),
  'AWS::Lambda::Alias': emulated('the local Lambda runtime (one version of each function)'),
  'AWS::Lambda::Version': emulated('the local Lambda runtime (one version of each function)'),
  'AWS::Lambda::Permission': NO_IAM,
  'AWS::Lambda::LayerVersion': skipped(
    'only the edge stack’s page deployment uses a layer, and the edge is not emulated',
  ),
  'AWS::Scheduler::Schedule': emulated('the local scheduler'),
  'AWS::ApiGateway::RestApi': GATEWAY,
  'AWS::ApiGateway::Resource': GATEWAY,
  'AWS::ApiGateway::Method': GATEWAY,
  'AWS::ApiGateway::RequestValidator': GATEWAY,
  'AWS::ApiGateway::Model': GATEWAY,
  'AWS::ApiGateway::GatewayResponse': GATEWAY,
  'AWS::ApiGateway::Stage': GATEWAY,
  'AWS::ApiGateway::Deployment': GATEWAY,
  'AWS::ApiGateway::UsagePlan': GATEWAY,
  'AWS::ApiGateway::UsagePlanKey': GATEWAY,
  'AWS::ApiGateway::ApiKey': GATEWAY,
  'AWS::ApiGateway::Account': skipped('the account-wide CloudWatch role of API Gateway has no local meaning'),
  'AWS::IAM::Role': NO_IAM,
  'AWS::IAM::Policy': NO_IAM,
  'AWS::KMS::Key': skipped('no KMS locally: the alarm topic is not encrypted'),
  'AWS::Logs::LogGroup': skipped(
    'function logs go to the terminal (serve) or to functions.log beside the reports (rehearse)',
  ),
  'AWS::Logs::MetricFilter': NO_CLOUDWATCH,
  'AWS::CloudWatch::Alarm': NO_CLOUDWATCH,
  'AWS::CloudWatch::Dashboard': NO_CLOUDWATCH,
  'AWS::Events::Rule': skipped('the rules watch AWS service events (scaling activities) that do not happen locally'),
  'AWS::ApplicationAutoScaling::ScalableTarget': skipped(
    'provisioned concurrency has no local meaning: local functions have no cold starts to hide',
  ),
  'AWS::ApplicationAutoScaling::ScalingPolicy': skipped(
    'provisioned concurrency has no local meaning: local functions have no cold starts to hide',
  ),
  'AWS::SecretsManager::Secret': skipped(
    'the origin secret guards the API from everything but CloudFront; locally there is no CloudFront',
  ),
  'AWS::WAFv2::WebACL': NO_EDGE,
  'AWS::WAFv2::WebACLAssociation': NO_EDGE,
  'AWS::CloudFront::Distribution': skipped(
    'the local gateway plays its behaviours in front of the API (functions, caches, error caching, an origin group’s failover of reads to its secondary’s mock answer); TLS, the S3 origin and edge locations are not emulated',
  ),
  'AWS::CloudFront::CachePolicy': emulated('the local edge cache of each behaviour: TTLs, cache key, collapsing'),
  'AWS::CloudFront::OriginRequestPolicy': NO_EDGE,
  'AWS::CloudFront::OriginAccessControl': NO_EDGE,
  'Custom::AWS': skipped(
    'the WAF integration URL the drop page reads is looked up from the web ACL at deploy; locally there is no WAF, and the page has no token to keep',
  ),
  'AWS::CloudFront::Function': emulated(
    'the local gateway, running the function’s code in a sandbox with CloudFront Functions’ limits',
  ),
  'AWS::CloudFront::KeyValueStore': emulated('the local KeyValueStore (the edge function and the writer share it)'),
  'AWS::S3::Bucket': skipped(
    'no S3 locally: the local gateway serves the page deployment’s asset at GET / (the fallback page is the edge’s)',
  ),
  'AWS::S3::BucketPolicy': NO_IAM,
  'Custom::CDKBucketDeployment': emulated('the local gateway, serving the deployment’s source asset as the page'),
  'AWS::Route53::RecordSet': NO_EDGE,
  'AWS::Route53::HealthCheck': NO_EDGE,
  'AWS::CertificateManager::Certificate': NO_EDGE,
  'Custom::CrossRegionExportWriter': emulated(
    'cross-region references: what it would write to SSM in the consuming region is what the reader answers locally',
  ),
  'Custom::CrossRegionExportReader': emulated(
    'cross-region references: each value it reads is the writer’s, resolved in the producing stack',
  ),
  'AWS::CDK::Metadata': skipped('CDK’s usage metadata, not a resource'),
};

/** The assembly's resource types the local runtime leaves out, each with its reason: printed at start. */
export function notEmulated(assembly: CloudAssembly): Array<{ type: string; count: number; reason: string }> {
  const counts = new Map<string, number>();
  for (const { resource } of resourcesOf(assembly)) counts.set(resource.Type, (counts.get(resource.Type) ?? 0) + 1);
  return [...counts]
    .flatMap(([type, count]) => {
      const coverage = LOCAL_COVERAGE[type];
      return coverage && !coverage.emulated ? [{ type, count, reason: coverage.reason }] : [];
    })
    .sort((a, b) => a.type.localeCompare(b.type));
}

/** Types in the assembly that are in neither list: a new construct nobody has placed. */
export function unclassified(assembly: CloudAssembly): string[] {
  const types = new Set(resourcesOf(assembly).map(({ resource }) => resource.Type));
  return [...types].filter((type) => !(type in LOCAL_COVERAGE)).sort();
}
