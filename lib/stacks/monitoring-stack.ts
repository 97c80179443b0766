/**
 * Alarms on every promise a drop can break, each with an SNS action, and one
 * dashboard. Thresholds say what "broken" means: any 5xx, any throttle, any
 * message in a dead-letter queue, any ledger drift, any hold the sweep could
 * not expire, any refund owed past its bound.
 *
 * Every name (alarm, dashboard, metric namespace) carries the stage, so two
 * stages in one account never read or page for each other. Missing data is
 * "not breaching" everywhere: these metrics are published only when something
 * happens (DynamoDB throttle events, Powertools counters, Lambda invocations),
 * and sums that add two of them fill the empty side with 0 first — metric math
 * `FILL(m, 0)` ("Using metric math", Amazon CloudWatch User Guide,
 * https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/using-metric-math.html);
 * without it `reads + writes` has no datapoint in a minute with only one side.
 */
import { Duration, Stack, type StackProps } from 'aws-cdk-lib';
import type { CfnStage, RestApi } from 'aws-cdk-lib/aws-apigateway';
import { type Alarm, Dashboard, GraphWidget, type IMetric, MathExpression, Metric } from 'aws-cdk-lib/aws-cloudwatch';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import type { TableV2 } from 'aws-cdk-lib/aws-dynamodb';
import { EventField, Match, Rule, RuleTargetInput } from 'aws-cdk-lib/aws-events';
import { SnsTopic } from 'aws-cdk-lib/aws-events-targets';
import { ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { Key } from 'aws-cdk-lib/aws-kms';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import { FilterPattern, LogGroup, MetricFilter } from 'aws-cdk-lib/aws-logs';
import { Topic } from 'aws-cdk-lib/aws-sns';
import { EmailSubscription } from 'aws-cdk-lib/aws-sns-subscriptions';
import type { IQueue } from 'aws-cdk-lib/aws-sqs';
import type { Construct } from 'constructs';
import { metricNames } from '../../contract/metrics';
import { powertoolsOf, stageOf } from '../constructs/dropline-function';
import { StageAlarm } from '../constructs/stage-alarm';

export interface MonitoringStackProps extends StackProps {
  readonly api: RestApi;
  readonly functions: ReadonlyMap<string, IFunction>;
  /** Path name → the alias whose provisioned concurrency the drop plan schedules. */
  readonly provisioned: ReadonlyMap<string, IFunction>;
  readonly table: TableV2;
  readonly ordersQueue: IQueue;
  /** Name → dead-letter queue (or failure destination). */
  readonly deadLetterQueues: ReadonlyMap<string, IQueue>;
  readonly alarmEmail: string | undefined;
  /** The account's Lambda concurrency quota in this region. @default 1,000 (the default quota) */
  readonly accountConcurrency?: number;
}

/** Alarm above this share of the account's concurrency: past it, new environments of any function are refused. */
const ACCOUNT_CONCURRENCY_ALARM_SHARE = 0.8;
/** Relay behind the table's stream by more than this (ms): channels are no longer "within seconds". */
const ITERATOR_AGE_ALARM_MS = 30_000;
/** Share of a drop path's invocations that may start cold before the plan counts as under-sized. */
const SPILLOVER_ALARM_SHARE = 0.05;
/** Share of API requests answered 429 (gateway throttle or the app's BUSY/LIMIT_EXCEEDED) worth a look. */
const THROTTLED_ALARM_SHARE = 0.1;
/** Below this many requests (or invocations) a minute, a rate says nothing. */
const RATE_FLOOR_PER_MINUTE = 600;

const MINUTE = Duration.minutes(1);

export class MonitoringStack extends Stack {
  readonly alarmTopic: Topic;
  readonly alarms: Alarm[] = [];

  constructor(scope: Construct, id: string, props: MonitoringStackProps) {
    super(scope, id, props);
    // CloudWatch cannot publish to a topic under the AWS-managed SNS key: this one has its own.
    const key = new Key(this, 'AlarmKey', { enableKeyRotation: true, description: 'dropline alarm topic' });
    key.grant(new ServicePrincipal('cloudwatch.amazonaws.com'), 'kms:Decrypt', 'kms:GenerateDataKey');
    // EventBridge publishes the scaling signals below to the same topic.
    key.grant(new ServicePrincipal('events.amazonaws.com'), 'kms:Decrypt', 'kms:GenerateDataKey');
    this.alarmTopic = new Topic(this, 'Alarms', { displayName: 'dropline alarms', masterKey: key, enforceSSL: true });
    if (props.alarmEmail) this.alarmTopic.addSubscription(new EmailSubscription(props.alarmEmail));
    const action = new SnsAction(this.alarmTopic);

    const alarm = (id: string, metric: IMetric, threshold: number, description: string, evaluationPeriods = 1) => {
      const created = new StageAlarm(this, id, { metric, threshold, description, evaluationPeriods, action });
      this.alarms.push(created);
      return created;
    };

    const { api } = props;
    alarm(
      'Api5xx',
      api.metricServerError({ period: MINUTE, statistic: 'Sum' }),
      0,
      'the API answered 5xx: a broken promise (overload must be 429)',
    );
    alarm(
      'ApiP99Latency',
      api.metricLatency({ period: MINUTE, statistic: 'p99' }),
      2000,
      'p99 API latency above 2 s for 3 minutes',
      3,
    );
    for (const [name, fn] of props.functions) {
      alarm(`${name}Errors`, fn.metricErrors({ period: MINUTE, statistic: 'Sum' }), 0, `${name} failed invocations`);
      alarm(
        `${name}Throttles`,
        fn.metricThrottles({ period: MINUTE, statistic: 'Sum' }),
        0,
        `${name} was throttled by Lambda`,
      );
    }
    const tableMetric = (metricName: string) =>
      new Metric({
        namespace: 'AWS/DynamoDB',
        metricName,
        dimensionsMap: { TableName: props.table.tableName },
        period: MINUTE,
        statistic: 'Sum',
      });
    alarm(
      'TableThrottles',
      new MathExpression({
        expression: 'FILL(reads, 0) + FILL(writes, 0)',
        usingMetrics: { reads: tableMetric('ReadThrottleEvents'), writes: tableMetric('WriteThrottleEvents') },
        period: MINUTE,
        label: 'throttle events',
      }),
      0,
      'DynamoDB throttled the inventory table: more shards or more warm throughput',
    );
    for (const [name, queue] of props.deadLetterQueues) {
      alarm(
        `${name}Depth`,
        queue.metricApproximateNumberOfMessagesVisible({ period: MINUTE, statistic: 'Maximum' }),
        0,
        `a message reached ${name}: inspect and redrive`,
      );
    }
    alarm(
      'OrdersAge',
      props.ordersQueue.metricApproximateAgeOfOldestMessage({ period: MINUTE, statistic: 'Maximum' }),
      120,
      'an order has waited over two minutes for fulfilment',
    );
    // What the functions publish through Powertools (EMF): their stage's namespace, `service` its one dimension.
    const powertools = powertoolsOf(this);
    const published = (metricName: string, statistic: string) =>
      new Metric({
        namespace: powertools.namespace,
        metricName,
        dimensionsMap: { service: powertools.service },
        period: MINUTE,
        statistic,
      });
    const drift = published(metricNames.ledgerDrift, 'Maximum');
    alarm(
      'LedgerDrift',
      drift,
      0,
      'supplied != available + held + sold in a published snapshot: units lost or oversold',
    );
    alarm(
      'HoldExpiryFailed',
      published(metricNames.holdExpiryFailed, 'Sum'),
      0,
      'the expiry sweep skipped a hold it could not expire: its units stay held until someone looks',
    );
    alarm(
      'SnapshotReconcileFailed',
      published(metricNames.reconcileFailed, 'Sum'),
      0,
      'the sweeper could not rebuild a SKU from its shards: its stock view and channels may stay behind a lost stream record',
    );
    alarm(
      'RefundOverdue',
      published(metricNames.refundOverdue, 'Sum'),
      0,
      'a refund owed for an unsold hold is older than its bound: the payment provider keeps refusing it',
    );
    alarm(
      'EdgeStateLag',
      published(metricNames.edgeStateLag, 'p99'),
      10_000,
      "the edge's drop states trail the inventory topic by over 10 s: the edge answers from old news (the origin still decides)",
    );
    this.addCapacityAlarms(props, alarm);
    this.addScalingSignals(stageOf(this));

    new Dashboard(this, 'Dashboard', {
      dashboardName: `${id}`,
      widgets: [
        [
          new GraphWidget({
            title: 'API requests and errors',
            left: [api.metricCount(), api.metricClientError(), api.metricServerError()],
          }),
          new GraphWidget({
            title: 'API latency',
            left: [api.metricLatency({ statistic: 'p50' }), api.metricLatency({ statistic: 'p99' })],
          }),
        ],
        [
          new GraphWidget({
            title: 'Function concurrency',
            left: [...props.functions.entries()].map(([name, fn]) =>
              fn.metric('ConcurrentExecutions', { statistic: 'Maximum', label: name }),
            ),
          }),
          new GraphWidget({
            title: 'Inventory table throttles and ledger drift',
            left: [tableMetric('WriteThrottleEvents'), tableMetric('ReadThrottleEvents')],
            right: [drift],
          }),
        ],
        [
          // Outside drops one environment is provisioned and spillover is normal; during a drop, spillover means
          // the plan under-sized the path (cold starts) until target tracking catches up.
          new GraphWidget({
            title: 'Provisioned concurrency: utilisation (left) and spillover invocations (right)',
            left: [...props.provisioned.entries()].map(([name, alias]) =>
              alias.metric('ProvisionedConcurrencyUtilization', { statistic: 'Maximum', label: name }),
            ),
            right: [...props.provisioned.entries()].map(([name, alias]) =>
              alias.metric('ProvisionedConcurrencySpilloverInvocations', { statistic: 'Sum', label: name }),
            ),
          }),
          new GraphWidget({
            title: 'Queues',
            left: [props.ordersQueue.metricApproximateAgeOfOldestMessage()],
            right: [...props.deadLetterQueues.entries()].map(([name, queue]) =>
              queue.metricApproximateNumberOfMessagesVisible({ label: name }),
            ),
          }),
        ],
        [
          // What shoppers say, beside what the graphs above measure: the drop page's poll after each outcome.
          new GraphWidget({
            title: 'Shopper feedback: answers and "the stock looked wrong" (left), mean rating 1-5 (right)',
            left: [published(metricNames.feedbackReceived, 'Sum'), published(metricNames.stockLookedWrong, 'Sum')],
            right: [published(metricNames.shopperRating, 'Average')],
          }),
        ],
      ],
    });
  }

  /** Alarms that say the drop plan, the account or the stream relay ran out of room. */
  private addCapacityAlarms(
    props: MonitoringStackProps,
    alarm: (id: string, metric: IMetric, threshold: number, description: string, evaluationPeriods?: number) => Alarm,
  ): void {
    const relay = props.functions.get('publish-changes');
    if (!relay) throw new Error('no publish-changes function: the stream relay has no IteratorAge alarm');
    alarm(
      'RelayIteratorAge',
      relay.metric('IteratorAge', { period: MINUTE, statistic: 'Maximum' }),
      ITERATOR_AGE_ALARM_MS,
      'the outbox relay is over 30 s behind the table stream: channels and orders lag',
      2,
    );

    for (const [path, alias] of props.provisioned) {
      alarm(
        `${pascal(path)}Spillover`,
        new MathExpression({
          expression: `IF(FILL(invocations, 0) >= ${RATE_FLOOR_PER_MINUTE}, FILL(spillover, 0) / invocations, 0)`,
          usingMetrics: {
            invocations: alias.metricInvocations({ period: MINUTE, statistic: 'Sum' }),
            spillover: alias.metric('ProvisionedConcurrencySpilloverInvocations', { period: MINUTE, statistic: 'Sum' }),
          },
          period: MINUTE,
          label: `${path} spillover share`,
        }),
        SPILLOVER_ALARM_SHARE,
        `over 5% of ${path} invocations ran past provisioned concurrency for 3 minutes: the drop plan under-sized the path`,
        3,
      );
    }

    const accountConcurrency = props.accountConcurrency ?? 1_000;
    alarm(
      'AccountConcurrency',
      new Metric({ namespace: 'AWS/Lambda', metricName: 'ConcurrentExecutions', period: MINUTE, statistic: 'Maximum' }),
      Math.floor(accountConcurrency * ACCOUNT_CONCURRENCY_ALARM_SHARE),
      `the account runs over 80% of its ${accountConcurrency} concurrent executions: every function is near throttling`,
    );

    // API Gateway has no 429 metric of its own: count them in the stage's access log (its JSON `status`).
    const stage = props.api.deploymentStage.node.defaultChild as CfnStage;
    const accessLogArn = (stage.accessLogSetting as CfnStage.AccessLogSettingProperty | undefined)?.destinationArn;
    if (!accessLogArn) throw new Error('the API stage has no access log: its 429 rate cannot be measured');
    const powertools = powertoolsOf(this);
    const throttled = new MetricFilter(this, 'Api429Filter', {
      logGroup: LogGroup.fromLogGroupArn(this, 'ApiAccessLogs', accessLogArn),
      filterPattern: FilterPattern.stringValue('$.status', '=', '429'),
      metricNamespace: powertools.namespace,
      metricName: 'Api429',
      metricValue: '1',
    });
    alarm(
      'Api429Rate',
      new MathExpression({
        expression: `IF(FILL(requests, 0) >= ${RATE_FLOOR_PER_MINUTE}, FILL(throttled, 0) / requests, 0)`,
        usingMetrics: {
          requests: props.api.metricCount({ period: MINUTE, statistic: 'Sum' }),
          throttled: throttled.metric({ period: MINUTE, statistic: 'Sum' }),
        },
        period: MINUTE,
        label: '429 share of API requests',
      }),
      THROTTLED_ALARM_SHARE,
      'over 10% of API requests answered 429 for 3 minutes: throttles or shards below the load, or bots past the WAF',
      3,
    );
  }

  /**
   * Provisioned concurrency that cannot be had must not fail in silence. Application Auto Scaling sends
   * EventBridge only "scaled to max" activity state changes (detail-type "Application Auto Scaling
   * Scaling Activity State Change") and, through CloudTrail, API calls ("Monitor Application Auto
   * Scaling events using Amazon EventBridge",
   * https://docs.aws.amazon.com/autoscaling/application/userguide/monitoring-eventbridge.html); a failed
   * activity has no event of its own. So two rules reach the alarm topic:
   * - a Lambda target scaled to its maximum: target tracking has no room left above the plan;
   * - a `PutProvisionedConcurrencyConfig` call that Lambda refused (an `errorCode` in the CloudTrail
   *   record): the call Application Auto Scaling makes for every scheduled step and scale-out, refused
   *   when the account's unreserved concurrency cannot take it. CloudTrail delivers API calls to
   *   EventBridge ("AWS service events delivered via AWS CloudTrail",
   *   https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-service-event-cloudtrail.html),
   *   which needs CloudTrail recording management events in the region.
   * Both are best effort; the `AccountConcurrency` and spillover alarms stay as the backstop.
   */
  private addScalingSignals(stage: string): void {
    const target = new SnsTopic(this.alarmTopic, {
      message: RuleTargetInput.fromText(
        `[${stage}] provisioned concurrency: ${EventField.fromPath('$.detail-type')} for ${EventField.fromPath('$.detail.resourceId')}${EventField.fromPath('$.detail.requestParameters.functionName')} ${EventField.fromPath('$.detail.errorCode')} ${EventField.fromPath('$.detail.errorMessage')}`,
      ),
    });
    new Rule(this, 'ProvisionedScaledToMax', {
      ruleName: `${stage}-ProvisionedScaledToMax`,
      description: 'a Lambda alias scaled to its provisioned-concurrency maximum: demand is past the drop plan',
      eventPattern: {
        source: ['aws.application-autoscaling'],
        detailType: ['Application Auto Scaling Scaling Activity State Change'],
        detail: { serviceNamespace: ['lambda'], scalableDimension: ['lambda:function:ProvisionedConcurrency'] },
      },
      targets: [target],
    });
    new Rule(this, 'ProvisionedConcurrencyRefused', {
      ruleName: `${stage}-ProvisionedConcurrencyRefused`,
      description: 'Lambda refused a provisioned-concurrency setting (account concurrency short, or the version)',
      eventPattern: {
        source: ['aws.lambda'],
        detailType: ['AWS API Call via CloudTrail'],
        detail: {
          eventSource: ['lambda.amazonaws.com'],
          eventName: Match.prefix('PutProvisionedConcurrencyConfig'),
          errorCode: Match.exists(),
        },
      },
      targets: [target],
    });
  }
}

const pascal = (name: string) => name.replace(/(^|-)([a-z])/g, (_, __, letter: string) => letter.toUpperCase());
