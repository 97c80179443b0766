/**
 * Alarms that cannot stick or stay silent: each one's metric (or metric math),
 * its treatment of missing data, and its actions on the alarm topic.
 */
import { resourcesOf, type Synthesized, synthesize } from './synth';

type Props = Record<string, unknown>;

let synth: Synthesized;
beforeAll(() => {
  synth = synthesize({ region: 'us-east-1', alarmEmail: 'oncall@example.com' });
});

function alarmNamed(template: Synthesized['monitoring'], name: string): Props {
  const found = Object.values(resourcesOf(template, 'AWS::CloudWatch::Alarm')).find(
    (alarm) => alarm.Properties.AlarmName === `Dropline-${name}`,
  );
  if (!found) throw new Error(`no alarm Dropline-${name}`);
  return found.Properties;
}

const expressionOf = (alarm: Props) =>
  (alarm.Metrics as Array<{ Expression?: string; ReturnData?: boolean }>).find((query) => query.ReturnData !== false)
    ?.Expression;
const metricNames = (alarm: Props) =>
  (alarm.Metrics as Array<{ MetricStat?: { Metric: { MetricName: string } } }>).flatMap((query) =>
    query.MetricStat ? [query.MetricStat.Metric.MetricName] : [],
  );
const topicRef = (alarm: Props) => alarm.AlarmActions;

describe('monitoring alarms', () => {
  const monitoringAlarm = (name: string) => alarmNamed(synth.monitoring, name);

  it('every one treats missing data as not breaching and notifies the alarm topic on alarm and on recovery', () => {
    const alarms = Object.values(resourcesOf(synth.monitoring, 'AWS::CloudWatch::Alarm'));
    for (const { Properties: alarm } of alarms) {
      expect(alarm.TreatMissingData).toBe('notBreaching');
      expect(alarm.AlarmActions).toEqual([{ Ref: expect.stringMatching(/^Alarms/) }]);
      expect(alarm.OKActions).toEqual(alarm.AlarmActions);
    }
  });

  it('adds read and write throttles with FILL, so one quiet side cannot hide the other', () => {
    const alarm = monitoringAlarm('TableThrottles');
    expect(expressionOf(alarm)).toBe('FILL(reads, 0) + FILL(writes, 0)');
    expect(metricNames(alarm).sort()).toEqual(['ReadThrottleEvents', 'WriteThrottleEvents']);
    expect(alarm.Threshold).toBe(0);
  });

  it('alarms when the relay falls 30 s behind the table stream', () => {
    expect(monitoringAlarm('RelayIteratorAge')).toMatchObject({
      Namespace: 'AWS/Lambda',
      MetricName: 'IteratorAge',
      Statistic: 'Maximum',
      Threshold: 30_000,
      EvaluationPeriods: 2,
      Dimensions: [{ Name: 'FunctionName', Value: expect.anything() }],
    });
  });

  it.each(['Reservation', 'Checkout'])('alarms on %s spillover past provisioned concurrency, as a share', (path) => {
    const alarm = monitoringAlarm(`${path}Spillover`);
    expect(expressionOf(alarm)).toBe('IF(FILL(invocations, 0) >= 600, FILL(spillover, 0) / invocations, 0)');
    expect(metricNames(alarm).sort()).toEqual(['Invocations', 'ProvisionedConcurrencySpilloverInvocations']);
    expect(alarm).toMatchObject({ Threshold: 0.05, EvaluationPeriods: 3 });
  });

  it("alarms at 80% of the account's concurrent executions", () => {
    const alarm = monitoringAlarm('AccountConcurrency');
    expect(alarm).toMatchObject({
      Namespace: 'AWS/Lambda',
      MetricName: 'ConcurrentExecutions',
      Statistic: 'Maximum',
      Threshold: 800,
    });
    expect(alarm.Dimensions).toBeUndefined();
  });

  it("alarms on the API's 429 share, counted from the stage's access log", () => {
    const alarm = monitoringAlarm('Api429Rate');
    expect(expressionOf(alarm)).toBe('IF(FILL(requests, 0) >= 600, FILL(throttled, 0) / requests, 0)');
    expect(metricNames(alarm).sort()).toEqual(['Api429', 'Count']);
    expect(alarm).toMatchObject({ Threshold: 0.1, EvaluationPeriods: 3 });
    synth.monitoring.hasResourceProperties('AWS::Logs::MetricFilter', {
      FilterPattern: '{ $.status = "429" }',
      MetricTransformations: [{ MetricNamespace: 'Dropline', MetricName: 'Api429', MetricValue: '1' }],
    });
  });

  it.each([
    ['HoldExpiryFailed', 'Sum'],
    ['RefundOverdue', 'Sum'],
    ['LedgerDrift', 'Maximum'],
    ['SnapshotReconcileFailed', 'Sum'],
  ])('alarms on any %s the functions publish, in their Powertools namespace and service', (metric, statistic) => {
    expect(monitoringAlarm(metric)).toMatchObject({
      Namespace: 'Dropline',
      MetricName: metric,
      Dimensions: [{ Name: 'service', Value: 'Dropline' }],
      Statistic: statistic,
      Threshold: 0,
    });
  });

  it('reads the namespace and service the expire-holds function publishes under', () => {
    const sweeper = Object.values(resourcesOf(synth.stateless, 'AWS::Lambda::Function')).find((fn) =>
      String(fn.Properties.Description).startsWith('sweeps expired holds'),
    );
    expect(sweeper?.Properties.Environment).toMatchObject({
      Variables: { POWERTOOLS_METRICS_NAMESPACE: 'Dropline', POWERTOOLS_SERVICE_NAME: 'Dropline' },
    });
  });
});

describe('edge alarms, in us-east-1', () => {
  const edgeAlarm = (name: string) => alarmNamed(synth.edge, name);

  it('live in the edge stack, in us-east-1, and notify the alarm topic there', () => {
    expect(synth.stacks.edge.region).toBe('us-east-1');
    const alarms = Object.values(resourcesOf(synth.edge, 'AWS::CloudWatch::Alarm'));
    expect(alarms.map((alarm) => alarm.Properties.AlarmName).sort()).toEqual([
      'Dropline-Cdn5xxRate',
      'Dropline-WafBlockedRate',
      'Dropline-WafChallengedRate',
    ]);
    for (const { Properties: alarm } of alarms) {
      expect(alarm.TreatMissingData).toBe('notBreaching');
      // The monitoring stack's topic, imported: the same topic every other alarm uses.
      expect(JSON.stringify(topicRef(alarm))).toMatch(/Fn::ImportValue.*Dropline-Monitoring.*Alarms/);
      expect(alarm.OKActions).toEqual(alarm.AlarmActions);
    }
  });

  it("alarms on CloudFront's 5xx rate", () => {
    expect(edgeAlarm('Cdn5xxRate')).toMatchObject({
      Namespace: 'AWS/CloudFront',
      MetricName: '5xxErrorRate',
      Statistic: 'Average',
      Threshold: 1,
      // Both dimensions CloudFront publishes with: an alarm on a subset would read a metric that does not exist.
      Dimensions: [
        { Name: 'DistributionId', Value: { Ref: expect.stringMatching(/^Distribution/) } },
        { Name: 'Region', Value: 'Global' },
      ],
    });
  });

  it.each([
    ['WafBlockedRate', 'blocked', 0.2],
    ['WafChallengedRate', 'challenged', 0.5],
  ])('alarms on the WAF %s share of all requests', (name, share, threshold) => {
    const alarm = edgeAlarm(name);
    expect(expressionOf(alarm)).toBe(`IF(total >= 600, FILL(${share}, 0) / total, 0)`);
    expect(JSON.stringify(alarm.Metrics)).toContain('FILL(allowed, 0) + FILL(blocked, 0) + FILL(challenged, 0)');
    expect(new Set(metricNames(alarm))).toEqual(new Set(['AllowedRequests', 'BlockedRequests', 'ChallengeRequests']));
    expect(JSON.stringify(alarm.Metrics)).toContain('"Name":"WebACL","Value":"Dropline-edge"');
    expect(alarm).toMatchObject({ Threshold: threshold, EvaluationPeriods: 5 });
  });

  it('get a topic of their own in us-east-1, with the same subscriber, when the stage runs elsewhere', () => {
    const elsewhere = synthesize({ region: 'eu-west-1', alarmEmail: 'oncall@example.com' });
    for (const { Properties: alarm } of Object.values(resourcesOf(elsewhere.edge, 'AWS::CloudWatch::Alarm'))) {
      expect(alarm.AlarmActions).toEqual([{ Ref: expect.stringMatching(/^EdgeAlarms/) }]);
    }
    elsewhere.edge.hasResourceProperties('AWS::SNS::Subscription', {
      Protocol: 'email',
      Endpoint: 'oncall@example.com',
    });
  });
});
