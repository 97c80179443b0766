/**
 * Alarms on every promise a drop can break, each with an SNS action, and one
 * dashboard. Thresholds say what "broken" means: any 5xx, any throttle, any
 * message in a dead-letter queue, any ledger drift.
 */
import { Duration, Stack, type StackProps } from 'aws-cdk-lib';
import type { RestApi } from 'aws-cdk-lib/aws-apigateway';
import {
  Alarm,
  ComparisonOperator,
  Dashboard,
  GraphWidget,
  type IMetric,
  MathExpression,
  Metric,
  TreatMissingData,
} from 'aws-cdk-lib/aws-cloudwatch';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import type { TableV2 } from 'aws-cdk-lib/aws-dynamodb';
import { ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { Key } from 'aws-cdk-lib/aws-kms';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import { Topic } from 'aws-cdk-lib/aws-sns';
import { EmailSubscription } from 'aws-cdk-lib/aws-sns-subscriptions';
import type { IQueue } from 'aws-cdk-lib/aws-sqs';
import type { Construct } from 'constructs';

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
}

const MINUTE = Duration.minutes(1);

export class MonitoringStack extends Stack {
  readonly alarmTopic: Topic;
  readonly alarms: Alarm[] = [];

  constructor(scope: Construct, id: string, props: MonitoringStackProps) {
    super(scope, id, props);
    // CloudWatch cannot publish to a topic under the AWS-managed SNS key: this one has its own.
    const key = new Key(this, 'AlarmKey', { enableKeyRotation: true, description: 'dropline alarm topic' });
    key.grant(new ServicePrincipal('cloudwatch.amazonaws.com'), 'kms:Decrypt', 'kms:GenerateDataKey');
    this.alarmTopic = new Topic(this, 'Alarms', { displayName: 'dropline alarms', masterKey: key, enforceSSL: true });
    if (props.alarmEmail) this.alarmTopic.addSubscription(new EmailSubscription(props.alarmEmail));
    const action = new SnsAction(this.alarmTopic);

    const alarm = (id: string, metric: IMetric, threshold: number, description: string, evaluationPeriods = 1) => {
      const created = new Alarm(this, id, {
        alarmDescription: description,
        metric,
        threshold,
        evaluationPeriods,
        comparisonOperator: ComparisonOperator.GREATER_THAN_THRESHOLD,
        treatMissingData: TreatMissingData.NOT_BREACHING,
      });
      created.addAlarmAction(action);
      created.addOkAction(action);
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
        expression: 'reads + writes',
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
    const drift = new Metric({
      namespace: 'Dropline',
      metricName: 'LedgerDrift',
      dimensionsMap: { service: 'dropline' },
      period: MINUTE,
      statistic: 'Maximum',
    });
    alarm(
      'LedgerDrift',
      drift,
      0,
      'supplied != available + held + sold in a published snapshot: units lost or oversold',
    );

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
      ],
    });
  }
}
