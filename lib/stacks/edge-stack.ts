/**
 * The edge, in us-east-1 (a CLOUDFRONT-scope WAF and CloudFront's certificate
 * must live there): the drop page on S3, the API behind CloudFront with a
 * one-second cache on availability reads, the web ACL, and DNS when a domain
 * is configured.
 */
import { fileURLToPath } from 'node:url';
import { Annotations, CfnOutput, Duration, RemovalPolicy, Stack, type StackProps, Validations } from 'aws-cdk-lib';
import type { RestApi } from 'aws-cdk-lib/aws-apigateway';
import { Certificate, CertificateValidation } from 'aws-cdk-lib/aws-certificatemanager';
import {
  AllowedMethods,
  type BehaviorOptions,
  CacheCookieBehavior,
  CacheHeaderBehavior,
  CachePolicy,
  CacheQueryStringBehavior,
  Distribution,
  Function as EdgeFunction,
  FunctionCode,
  FunctionEventType,
  FunctionRuntime,
  HttpVersion,
  type IKeyValueStore,
  OriginRequestHeaderBehavior,
  OriginRequestPolicy,
  SecurityPolicyProtocol,
  ViewerProtocolPolicy,
} from 'aws-cdk-lib/aws-cloudfront';
import { OriginGroup, RestApiOrigin, S3BucketOrigin } from 'aws-cdk-lib/aws-cloudfront-origins';
import {
  type Alarm,
  ComparisonOperator,
  type IMetric,
  MathExpression,
  Metric,
  TreatMissingData,
} from 'aws-cdk-lib/aws-cloudwatch';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import { ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { Key } from 'aws-cdk-lib/aws-kms';
import {
  AaaaRecord,
  ARecord,
  CfnHealthCheck,
  HostedZone,
  type IHostedZone,
  RecordTarget,
} from 'aws-cdk-lib/aws-route53';
import { CloudFrontTarget } from 'aws-cdk-lib/aws-route53-targets';
import { BlockPublicAccess, Bucket, BucketEncryption, type CfnBucket, ObjectOwnership } from 'aws-cdk-lib/aws-s3';
import { BucketDeployment, Source } from 'aws-cdk-lib/aws-s3-deployment';
import { type ITopic, Topic } from 'aws-cdk-lib/aws-sns';
import { EmailSubscription } from 'aws-cdk-lib/aws-sns-subscriptions';
import type { CfnWebACL } from 'aws-cdk-lib/aws-wafv2';
import { AwsCustomResource, AwsCustomResourcePolicy, PhysicalResourceId } from 'aws-cdk-lib/custom-resources';
import type { Construct } from 'constructs';
import {
  ADMISSION_HEADER,
  EDGE_ADMISSION_PATH_PATTERN,
  EDGE_QUEUE_PATH_PATTERN,
  TURN_PASSED_HEADER,
} from '../../contract/drops';
import { edgeFunctionCode } from '../../edge/build';
import type { DnsSettings } from '../config/settings';
import { stageOf } from '../constructs/dropline-function';
import { EdgeFirewall } from '../constructs/edge-firewall';
import { assertRuntimeSyntax } from '../constructs/edge-runtime-syntax';
import { ORIGIN_HEADER } from '../constructs/origin-guard';
import { PausedOrigin } from '../constructs/paused-origin';
import { StageAlarm } from '../constructs/stage-alarm';

const siteDir = fileURLToPath(new URL('../../site/', import.meta.url));
/** The edge function that answers closed, paused, not-started and sold-out drops without reaching the API. */
export const ADMISSION_FUNCTION_FILE = fileURLToPath(new URL('../../edge/admission.js', import.meta.url));
/**
 * Answers from the API that send a shopper's read to the paused origin. CloudFront fails over only GET, HEAD
 * and OPTIONS requests, on the status codes configured ("Request and response behavior for origin groups",
 * https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/RequestAndResponseBehaviorOriginGroups.html).
 */
export const FAILOVER_STATUS_CODES = [500, 502, 503, 504];
/**
 * The page's deployment settings (site/assets/waf.js reads them on every load): deployed, the web ACL's AWS WAF
 * integration URL; in site/, the local stack's `null` (no WAF, nothing to load).
 */
export const WAF_CONFIG_KEY = 'assets/config.json';
/** Below this many requests a minute, an edge rate says nothing. */
const EDGE_RATE_FLOOR_PER_MINUTE = 600;

export interface EdgeStackProps extends StackProps {
  readonly api: RestApi;
  /**
   * The origin header's value: a dynamic reference to one version of the origin secret, built by the stateless
   * stack beside the references its origin guard accepts (lib/constructs/origin-guard.ts).
   */
  readonly originHeaderValue: string;
  readonly dns: DnsSettings | undefined;
  readonly wafMode: 'enforce' | 'count';
  /** Each drop's public state, which the edge function reads (the stateless stack keeps it current). */
  readonly edgeStore: IKeyValueStore;
  /** Whether the origin verifies shopper identity: the edge then compares an admission with the bearer's subject. */
  readonly identity: boolean;
}

export class EdgeStack extends Stack {
  readonly distribution: Distribution;
  readonly webAcl: EdgeFirewall;
  /** Route 53's health check on `/health`, when a domain is configured. */
  private healthCheck: CfnHealthCheck | undefined;

  constructor(scope: Construct, id: string, props: EdgeStackProps) {
    super(scope, id, props);
    const logs = new Bucket(this, 'EdgeLogs', {
      encryption: BucketEncryption.S3_MANAGED,
      enforceSSL: true,
      blockPublicAccess: BlockPublicAccess.BLOCK_ALL,
      // CloudFront standard logs are delivered with an ACL.
      objectOwnership: ObjectOwnership.OBJECT_WRITER,
      lifecycleRules: [{ expiration: Duration.days(90) }],
      removalPolicy: RemovalPolicy.RETAIN,
    });
    Validations.of(logs).acknowledge({ id: 'AwsSolutions-S1', reason: 'this bucket receives the access logs' });
    const site = new Bucket(this, 'DropPage', {
      encryption: BucketEncryption.S3_MANAGED,
      enforceSSL: true,
      blockPublicAccess: BlockPublicAccess.BLOCK_ALL,
      serverAccessLogsBucket: logs,
      serverAccessLogsPrefix: 'site/',
      // Retained: CloudFormation cannot delete a bucket that still holds the page.
      removalPolicy: RemovalPolicy.RETAIN,
    });

    this.webAcl = new EdgeFirewall(this, 'Firewall', { mode: props.wafMode });
    // One name per stage, used as the web ACL's metric name too: its CloudWatch metrics (and alarms) never mix stages.
    const acl = this.webAcl.webAcl;
    acl.name = `${stageOf(this)}-edge`;
    acl.visibilityConfig = { ...(acl.visibilityConfig as CfnWebACL.VisibilityConfigProperty), metricName: acl.name };
    if (props.wafMode === 'count') {
      Annotations.of(this).addWarningV2(
        'dropline:waf-count',
        'the edge WAF only counts: no rate limit, bot control or challenge is enforced (a rehearsal stage, never a live drop)',
      );
    }
    const api = new RestApiOrigin(props.api, {
      customHeaders: {
        [ORIGIN_HEADER]: props.originHeaderValue,
      },
    });
    // Shopper reads fail over to a fixed 503 PAUSED; writes (POST, DELETE) never fail over and get the API's error.
    const paused = new PausedOrigin(this, 'Paused', { name: `${stageOf(this)}-paused` });
    const reads = new OriginGroup({
      primaryOrigin: api,
      fallbackOrigin: new RestApiOrigin(paused.api),
      fallbackStatusCodes: FAILOVER_STATUS_CODES,
    });
    const forward = (id: string, ...headers: string[]) =>
      new OriginRequestPolicy(this, id, {
        comment: `dropline: forward only ${headers.join(', ')}`,
        headerBehavior: OriginRequestHeaderBehavior.allowList(...headers),
      });
    // The edge function's own header too: CloudFront treats a header a viewer-request function adds as the
    // viewer's, and an allow-list policy forwards only what it names.
    const writes = forward('ShopperWrites', 'Idempotency-Key', 'Content-Type', ADMISSION_HEADER, TURN_PASSED_HEADER);
    // A restock cannot run without its Idempotency-Key (the API's request validator requires it), and a PUT
    // of a product is made safe to retry by one: an origin request policy forwards nothing it does not list.
    const admin = forward('AdminCalls', 'x-api-key', 'Idempotency-Key', 'Content-Type');
    const availability = new CachePolicy(this, 'Availability', {
      comment: 'availability reads: a spike of refreshes is answered here, at most two seconds old',
      defaultTtl: Duration.seconds(1),
      minTtl: Duration.seconds(0),
      maxTtl: Duration.seconds(2),
      headerBehavior: CacheHeaderBehavior.none(),
      queryStringBehavior: CacheQueryStringBehavior.none(),
      cookieBehavior: CacheCookieBehavior.none(),
      enableAcceptEncodingGzip: true,
      enableAcceptEncodingBrotli: true,
    });
    // A shopper's bearer token (the shop's identity provider, verified at the origin) reaches the origin only
    // through a cache policy: an origin request policy may not forward Authorization, and a policy whose TTLs
    // are all 0 may not name a header ("How do I configure CloudFront to forward the Authorization header to
    // the origin?", https://repost.aws/knowledge-center/cloudfront-authorization-header). A POST is never
    // cached, and the API's `Cache-Control: no-store` keeps any other answer out of the cache (default TTL 0).
    const identified = new CachePolicy(this, 'ShopperIdentity', {
      comment: 'reservation attempts: the shopper bearer token to the origin, nothing cached',
      defaultTtl: Duration.seconds(0),
      minTtl: Duration.seconds(0),
      maxTtl: Duration.seconds(1),
      headerBehavior: CacheHeaderBehavior.allowList('Authorization'),
      queryStringBehavior: CacheQueryStringBehavior.none(),
      cookieBehavior: CacheCookieBehavior.none(),
    });
    const uncached = (allowedMethods: AllowedMethods, originRequestPolicy?: OriginRequestPolicy): BehaviorOptions => ({
      origin: api,
      allowedMethods,
      cachePolicy: CachePolicy.CACHING_DISABLED,
      viewerProtocolPolicy: ViewerProtocolPolicy.HTTPS_ONLY,
      ...(originRequestPolicy ? { originRequestPolicy } : {}),
    });

    // CloudFront Functions, JavaScript runtime 2.0: the only runtime that reads a KeyValueStore
    // ("Amazon CloudFront KeyValueStore", CloudFront Developer Guide,
    // https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/kvs-with-functions.html).
    const admission = new EdgeFunction(this, 'Admission', {
      comment: 'dropline: the waiting room, and closed, paused, not-started and sold-out drops, at the edge',
      // Its comments and whitespace left out: CloudFront counts the uploaded code against 10 KB. In the syntax
      // runtime 2.0 lists, or the synth fails: CloudFront would fail it on every request.
      code: FunctionCode.fromInline(
        assertRuntimeSyntax(
          edgeFunctionCode(ADMISSION_FUNCTION_FILE, { identity: props.identity }),
          ADMISSION_FUNCTION_FILE,
        ),
      ),
      runtime: FunctionRuntime.JS_2_0,
      keyValueStore: props.edgeStore,
      autoPublish: true,
    });

    const zone = props.dns
      ? HostedZone.fromHostedZoneAttributes(this, 'Zone', {
          hostedZoneId: props.dns.hostedZoneId,
          zoneName: props.dns.hostedZoneName,
        })
      : undefined;
    const certificate =
      props.dns && zone
        ? new Certificate(this, 'Certificate', {
            domainName: props.dns.domainName,
            validation: CertificateValidation.fromDns(zone),
          })
        : undefined;

    this.distribution = new Distribution(this, 'Distribution', {
      comment: 'dropline: drop page and API',
      defaultRootObject: 'index.html',
      httpVersion: HttpVersion.HTTP2_AND_3,
      webAclId: this.webAcl.webAcl.attrArn,
      enableLogging: true,
      logBucket: logs,
      logFilePrefix: 'cloudfront/',
      ...(props.dns && certificate
        ? {
            domainNames: [props.dns.domainName],
            certificate,
            minimumProtocolVersion: SecurityPolicyProtocol.TLS_V1_2_2021,
          }
        : {}),
      // A fault is about a moment. By default CloudFront keeps a 500, 501, 502, 503 or 504 for 10 s whatever
      // its Cache-Control says ("How long CloudFront caches HTTP 4xx and 5xx status codes", error caching
      // minimum TTL: https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/custom-error-pages-expiration.html):
      // one transient 503 on the cached availability path would answer every shopper for ten seconds
      // with a `Retry-After: 1` that cannot come true. None is cached; the answer itself is the origin's.
      errorResponses: [500, 501, 502, 503, 504].map((httpStatus) => ({ httpStatus, ttl: Duration.seconds(0) })),
      defaultBehavior: {
        origin: S3BucketOrigin.withOriginAccessControl(site),
        viewerProtocolPolicy: ViewerProtocolPolicy.REDIRECT_TO_HTTPS,
        cachePolicy: CachePolicy.CACHING_OPTIMIZED,
      },
      additionalBehaviors: {
        // The waiting room: answered by the function itself (an unknown drop goes on to the API's 404).
        [EDGE_QUEUE_PATH_PATTERN]: {
          ...uncached(AllowedMethods.ALLOW_GET_HEAD),
          functionAssociations: [{ function: admission, eventType: FunctionEventType.VIEWER_REQUEST }],
        },
        [EDGE_ADMISSION_PATH_PATTERN]: {
          ...uncached(AllowedMethods.ALLOW_ALL, writes),
          cachePolicy: identified,
          functionAssociations: [{ function: admission, eventType: FunctionEventType.VIEWER_REQUEST }],
        },
        '/products/*/feedback': uncached(AllowedMethods.ALLOW_ALL, writes),
        '/products/*': {
          origin: reads,
          allowedMethods: AllowedMethods.ALLOW_GET_HEAD,
          cachePolicy: availability,
          viewerProtocolPolicy: ViewerProtocolPolicy.HTTPS_ONLY,
        },
        '/reservations/*': uncached(AllowedMethods.ALLOW_ALL, writes),
        '/orders/*': { ...uncached(AllowedMethods.ALLOW_GET_HEAD), origin: reads },
        '/admin/*': uncached(AllowedMethods.ALLOW_ALL, admin),
        '/health': uncached(AllowedMethods.ALLOW_GET_HEAD),
      },
    });
    Validations.of(this.distribution).acknowledge({
      id: 'AwsSolutions-CFR1',
      reason: 'drops are sold wherever the shop sells; a regional drop adds a geo restriction to its own stage',
    });
    if (!props.dns) {
      Validations.of(this.distribution).acknowledge({
        id: 'AwsSolutions-CFR4',
        reason:
          'without a domain the distribution uses the default *.cloudfront.net certificate, which allows TLSv1; with domainName it is TLSv1.2_2021',
      });
    }

    new BucketDeployment(this, 'DropPageContent', {
      // Sources are unzipped in order into one directory before the sync, a later file replacing an earlier one
      // (CDK's bucket-deployment handler, `s3_deploy`): the deployed config.json replaces site/'s local one.
      // Source.jsonData takes deploy-time values (`Source.jsonData('config.json', { baz: topic.topicArn })`,
      // https://docs.aws.amazon.com/cdk/api/v2/docs/aws-cdk-lib.aws_s3_deployment.Source.html): CDK writes a
      // marker in the file, and the handler replaces it with the value, JSON-escaped.
      sources: [
        Source.asset(siteDir),
        Source.jsonData(WAF_CONFIG_KEY, { wafIntegrationUrl: this.wafIntegrationUrl(acl) }),
      ],
      destinationBucket: site,
      distribution: this.distribution,
      // The page, its service worker and its assets change together: a deploy must not pair a new page with old scripts.
      distributionPaths: ['/', '/index.html', '/sw.js', '/assets/*'],
    });
    this.acknowledgeBucketDeployment(site);

    if (props.dns && zone) this.addDns(props.dns, zone);
    new CfnOutput(this, 'Url', {
      value: `https://${props.dns?.domainName ?? this.distribution.distributionDomainName}`,
      description: 'the drop page and API (point `dropline rehearse --target` here)',
    });
  }

  /**
   * CloudFront and a CLOUDFRONT-scope web ACL publish their metrics in
   * us-east-1 only ("To get the CloudFront metrics from the CloudWatch API,
   * you must use the US East (N. Virginia) Region"; dimension `Region` is
   * always `Global` — CloudFront Developer Guide, "Types of metrics for
   * CloudFront", https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/programming-cloudwatch-metrics.html;
   * "To view AWS WAF metrics for CloudFront, you must choose the US East
   * (N. Virginia) Region" — AWS WAF Developer Guide, "Monitoring with Amazon
   * CloudWatch", https://docs.aws.amazon.com/waf/latest/developerguide/monitoring-cloudwatch.html),
   * so their alarms live here, beside the distribution, and act on `topic`.
   */
  addAlarms(topic: ITopic): Alarm[] {
    const minute = Duration.minutes(1);
    const action = new SnsAction(topic);
    const alarm = (id: string, metric: IMetric, threshold: number, description: string, evaluationPeriods: number) =>
      new StageAlarm(this, id, { metric, threshold, description, evaluationPeriods, action });
    const waf = (metricName: string) =>
      new Metric({
        namespace: 'AWS/WAFV2',
        metricName,
        // A CLOUDFRONT-scope ACL's metrics carry no Region dimension; `ALL` is the web ACL as a whole.
        dimensionsMap: { WebACL: this.webAcl.webAcl.name as string, Rule: 'ALL' },
        period: minute,
        statistic: 'Sum',
      });
    const share = (of: 'blocked' | 'challenged') =>
      new MathExpression({
        expression: `IF(total >= ${EDGE_RATE_FLOOR_PER_MINUTE}, FILL(${of}, 0) / total, 0)`,
        usingMetrics: {
          total: new MathExpression({
            expression: 'FILL(allowed, 0) + FILL(blocked, 0) + FILL(challenged, 0)',
            usingMetrics: {
              allowed: waf('AllowedRequests'),
              blocked: waf('BlockedRequests'),
              challenged: waf('ChallengeRequests'),
            },
            period: minute,
          }),
          [of]: waf(of === 'blocked' ? 'BlockedRequests' : 'ChallengeRequests'),
        },
        period: minute,
        label: `${of} share of edge requests`,
      });
    const alarms = [
      alarm(
        'Cdn5xxRate',
        // Named in full: CDK's metric5xxErrorRate() leaves out the `Region: Global` dimension CloudFront publishes.
        new Metric({
          namespace: 'AWS/CloudFront',
          metricName: '5xxErrorRate',
          dimensionsMap: { DistributionId: this.distribution.distributionId, Region: 'Global' },
          period: minute,
          statistic: 'Average',
        }),
        1,
        'over 1% of viewer requests answered 5xx at CloudFront for 2 minutes (the paused origin included)',
        2,
      ),
      alarm(
        'WafBlockedRate',
        share('blocked'),
        0.2,
        'the edge WAF blocked over 20% of requests for 5 minutes: a bot wave, or a rule refusing real shoppers',
        5,
      ),
      alarm(
        'WafChallengedRate',
        share('challenged'),
        0.5,
        'the edge WAF challenged over half of all requests for 5 minutes: shoppers stuck on the challenge page?',
        5,
      ),
    ];
    if (this.healthCheck) alarms.push(this.addHealthCheckAlarm(this.healthCheck, action));
    return alarms;
  }

  /**
   * Route 53 publishes `HealthCheckStatus` (1 healthy, 0 unhealthy) per health check ("Monitoring health checks
   * using CloudWatch", https://docs.aws.amazon.com/Route53/latest/DeveloperGuide/monitoring-health-checks.html),
   * in us-east-1, where this stack lives. The check calls `/health` through CloudFront, which never fails it over:
   * an unhealthy API stays unhealthy here while shoppers' reads get the paused answer.
   */
  private addHealthCheckAlarm(healthCheck: CfnHealthCheck, action: SnsAction): Alarm {
    return new StageAlarm(this, 'ApiHealthCheck', {
      description: 'Route 53 finds /health failing for 2 minutes: shopper reads are on the paused origin, writes fail',
      metric: new Metric({
        namespace: 'AWS/Route53',
        metricName: 'HealthCheckStatus',
        dimensionsMap: { HealthCheckId: healthCheck.attrHealthCheckId },
        period: Duration.minutes(1),
        statistic: 'Minimum',
      }),
      threshold: 1,
      evaluationPeriods: 2,
      comparisonOperator: ComparisonOperator.LESS_THAN_THRESHOLD,
      // Route 53 reports every minute while the check exists: silence is itself a failure.
      treatMissingData: TreatMissingData.BREACHING,
      action,
    });
  }

  /**
   * An alarm topic in us-east-1 for a stage whose own alarm topic is in
   * another region: the edge alarms publish here, and the same address is
   * subscribed (CloudWatch alarm actions are kept in the alarm's own region).
   */
  addAlarmTopic(alarmEmail: string | undefined): Topic {
    const key = new Key(this, 'EdgeAlarmKey', { enableKeyRotation: true, description: 'dropline edge alarm topic' });
    key.grant(new ServicePrincipal('cloudwatch.amazonaws.com'), 'kms:Decrypt', 'kms:GenerateDataKey');
    const topic = new Topic(this, 'EdgeAlarms', {
      displayName: 'dropline edge alarms',
      masterKey: key,
      enforceSSL: true,
    });
    if (alarmEmail) topic.addSubscription(new EmailSubscription(alarmEmail));
    return topic;
  }

  /**
   * The web ACL's integration URL, from which the drop page loads AWS WAF's JavaScript integration
   * (`<URL>challenge.js`, site/assets/waf.js). WAFv2 returns it from GetWebACL as `ApplicationIntegrationURL`
   * ("GetWebACL", https://docs.aws.amazon.com/waf/latest/APIReference/API_GetWebACL.html); CloudFormation does
   * not return it (`AWS::WAFv2::WebACL` answers Fn::GetAtt with Arn, Capacity, Id and LabelNamespace only:
   * aws-cdk-lib's CfnWebACL, generated from the resource's schema, has no attribute for it), so one SDK call at
   * deploy time reads it: only that field is returned, and the role may call GetWebACL on this web ACL alone.
   */
  private wafIntegrationUrl(acl: CfnWebACL): string {
    const getWebAcl = {
      service: 'WAFV2',
      action: 'GetWebACL',
      parameters: { Name: acl.name, Scope: 'CLOUDFRONT', Id: acl.attrId },
      // The ACL's id changes only when it is replaced: a new ACL is read again.
      physicalResourceId: PhysicalResourceId.of(acl.attrId),
      outputPaths: ['ApplicationIntegrationURL'],
    };
    const lookup = new AwsCustomResource(this, 'WafIntegrationUrl', {
      onCreate: getWebAcl,
      onUpdate: getWebAcl,
      policy: AwsCustomResourcePolicy.fromSdkCalls({ resources: [acl.attrArn] }),
      installLatestAwsSdk: false,
    });
    this.acknowledgeSdkCallProvider();
    return lookup.getResponseField('ApplicationIntegrationURL');
  }

  /** CDK's AwsCustomResource runs one CDK-owned singleton function (Node.js 24), only during deployment. */
  private acknowledgeSdkCallProvider(): void {
    const provider = this.node.children.find((child) =>
      child.node.id.startsWith('AWS679f53fac002430cb0da5b7982bd2287'),
    );
    if (!provider) throw new Error('AwsCustomResource provider not found: its findings cannot be acknowledged');
    Validations.of(provider).acknowledge({
      id: 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]',
      reason:
        "CDK's AwsCustomResource handler reads the web ACL's integration URL once per deployment; its role is CDK's",
    });
  }

  /**
   * CDK's BucketDeployment is a singleton custom resource whose role and
   * runtime are CDK's own; it runs only during deployment, never on a request.
   */
  private acknowledgeBucketDeployment(site: Bucket): void {
    const siteArn = `<${this.getLogicalId(site.node.defaultChild as CfnBucket)}.Arn>`;
    const findings = [
      'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]',
      'AwsSolutions-IAM5[Action::s3:GetBucket*]',
      'AwsSolutions-IAM5[Action::s3:GetObject*]',
      'AwsSolutions-IAM5[Action::s3:List*]',
      'AwsSolutions-IAM5[Action::s3:Abort*]',
      'AwsSolutions-IAM5[Action::s3:DeleteObject*]',
      `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:s3:::cdk-hnb659fds-assets-<AWS::AccountId>-${this.region}/*]`,
      `AwsSolutions-IAM5[Resource::${siteArn}/*]`,
      'AwsSolutions-IAM5[Resource::*]',
      'AwsSolutions-L1',
    ];
    const handler = this.node.children.find((child) => child.node.id.startsWith('Custom::CDKBucketDeployment'));
    if (!handler) throw new Error('BucketDeployment handler not found: its findings cannot be acknowledged');
    for (const id of findings) {
      Validations.of(handler).acknowledge({
        id,
        reason:
          "CDK's BucketDeployment handler copies the drop page from the CDK asset bucket to the site bucket during deployment; its role and runtime are CDK's",
      });
    }
  }

  private addDns(dns: DnsSettings, zone: IHostedZone): void {
    const target = RecordTarget.fromAlias(new CloudFrontTarget(this.distribution));
    new ARecord(this, 'AliasV4', { zone, recordName: dns.domainName, target });
    new AaaaRecord(this, 'AliasV6', { zone, recordName: dns.domainName, target });
    this.healthCheck = new CfnHealthCheck(this, 'ApiHealth', {
      healthCheckConfig: {
        type: 'HTTPS',
        fullyQualifiedDomainName: dns.domainName,
        resourcePath: '/health',
        requestInterval: 30,
        failureThreshold: 3,
        enableSni: true,
      },
    });
  }
}
