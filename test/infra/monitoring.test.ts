import { Match } from 'aws-cdk-lib/assertions';
import { resourcesOf, type Synthesized, synthesize } from './synth';

let synth: Synthesized;
beforeAll(() => {
  synth = synthesize({ alarmEmail: 'oncall@example.com' });
});

const alarms = () => Object.values(resourcesOf(synth.monitoring, 'AWS::CloudWatch::Alarm'));

it('gives every alarm an action on the alarm topic', () => {
  expect(alarms().length).toBeGreaterThan(10);
  for (const alarm of alarms()) {
    expect(alarm.Properties.AlarmActions).toEqual([{ Ref: expect.stringMatching(/^Alarms/) }]);
  }
  synth.monitoring.hasResourceProperties('AWS::SNS::Subscription', {
    Protocol: 'email',
    Endpoint: 'oncall@example.com',
  });
});

it.each([
  ['any API 5xx', { MetricName: '5XXError', Namespace: 'AWS/ApiGateway', Threshold: 0 }],
  ['p99 API latency', { MetricName: 'Latency', ExtendedStatistic: 'p99', EvaluationPeriods: 3 }],
  ['Lambda throttles', { MetricName: 'Throttles', Namespace: 'AWS/Lambda', Threshold: 0 }],
  ['Lambda errors', { MetricName: 'Errors', Namespace: 'AWS/Lambda', Threshold: 0 }],
  ['dead-letter queue depth', { MetricName: 'ApproximateNumberOfMessagesVisible', Threshold: 0 }],
  ['order queue age', { MetricName: 'ApproximateAgeOfOldestMessage', Threshold: 120 }],
  ['ledger drift', { MetricName: 'LedgerDrift', Namespace: 'Dropline', Statistic: 'Maximum', Threshold: 0 }],
  [
    "the edge-state writer's lag",
    { MetricName: 'EdgeStateLag', Namespace: 'Dropline', ExtendedStatistic: 'p99', Threshold: 10_000 },
  ],
])('alarms on %s', (_, properties) => {
  synth.monitoring.hasResourceProperties('AWS::CloudWatch::Alarm', properties);
});

it('alarms on DynamoDB read and write throttles together', () => {
  synth.monitoring.hasResourceProperties('AWS::CloudWatch::Alarm', {
    Metrics: Match.arrayWith([Match.objectLike({ Expression: 'FILL(reads, 0) + FILL(writes, 0)' })]),
  });
});

it('encrypts the alarm topic with a rotated key CloudWatch may use', () => {
  synth.monitoring.hasResourceProperties('AWS::KMS::Key', { EnableKeyRotation: true });
  synth.monitoring.hasResourceProperties('AWS::SNS::Topic', { KmsMasterKeyId: Match.anyValue() });
  synth.monitoring.hasResourceProperties('AWS::KMS::Key', {
    KeyPolicy: {
      Statement: Match.arrayWith([
        Match.objectLike({
          Principal: { Service: 'cloudwatch.amazonaws.com' },
          Action: ['kms:Decrypt', 'kms:GenerateDataKey'],
        }),
      ]),
    },
  });
});

it('has one dashboard', () => {
  synth.monitoring.resourceCountIs('AWS::CloudWatch::Dashboard', 1);
  // Spillover past provisioned concurrency, per alias: is the drop plan right?
  const body = JSON.stringify(Object.values(synth.monitoring.findResources('AWS::CloudWatch::Dashboard'))[0]);
  for (const path of ['reservation', 'checkout']) {
    expect(body).toMatch(new RegExp(`ProvisionedConcurrencySpilloverInvocations[^\\]]*${path}`));
  }
});

it("shows the shoppers' feedback on the dashboard: answers, stock reports and the mean rating", () => {
  const body = JSON.stringify(Object.values(synth.monitoring.findResources('AWS::CloudWatch::Dashboard'))[0]);
  for (const metric of ['FeedbackReceived', 'StockLookedWrong', 'ShopperRating']) expect(body).toContain(metric);
});
