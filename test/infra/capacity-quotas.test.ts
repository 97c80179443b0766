/**
 * Issue 12, points 10 and 21 on the synthesized templates: a plan whose provisioned concurrency the
 * account cannot allocate stops the synth, naming the quota; the account concurrency and API rate
 * come from context; Lambda's refusals and scaled-to-max targets reach the alarm topic.
 */
import { App } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { buildDroplineApp } from '../../lib/app';
import { CapacityError, defaultCapacityLimits } from '../../lib/config/capacity';
import { readSettings } from '../../lib/config/settings';
import { NOW, resourcesOf, synthesize } from './synth';

/** 6,000 attempts/s a month after NOW: its provisioned floors pass 900 (1,000 minus the 100 Lambda keeps). */
const big = { drops: [{ sku: 'BIG-1', startsAt: '2030-02-01T17:00:00Z', expectedPeakRps: 6000, units: 5000 }] };

describe('account concurrency', () => {
  it('fails the synth, naming the Lambda quota and the context key, when the floors pass it', () => {
    expect(() => synthesize({ dropPlan: big })).toThrow(CapacityError);
    expect(() => synthesize({ dropPlan: big })).toThrow(/"Concurrent executions".*-c accountConcurrency/);
  });

  it('synthesizes once context declares a raised quota, and the alarm follows it', () => {
    const app = new App({ context: { accountConcurrency: '10000', 'aws:cdk:bundling-stacks': [] } });
    const stacks = buildDroplineApp(app, { ...readSettings(app.node, {}), dropPlan: big }, NOW);
    const alarms = Object.values(resourcesOf(Template.fromStack(stacks.monitoring), 'AWS::CloudWatch::Alarm'));
    const account = alarms.find((alarm) => String(alarm.Properties.AlarmName).endsWith('-AccountConcurrency'));
    expect(account?.Properties.Threshold).toBe(8000);
  });
});

describe('API throttles', () => {
  it('keep the stage and every method within the account rate in context', () => {
    const huge = { drops: [{ sku: 'HUGE-1', startsAt: '2030-02-01T17:00:00Z', expectedPeakRps: 20000, units: 5000 }] };
    const limits = { ...defaultCapacityLimits, accountConcurrency: 1_000_000, apiAccountRps: 8000 };
    const { stateless } = synthesize({ dropPlan: huge, capacityLimits: limits });
    const [stage] = Object.values(resourcesOf(stateless, 'AWS::ApiGateway::Stage'));
    const settings = stage?.Properties.MethodSettings as Array<{
      ThrottlingRateLimit?: number;
      ThrottlingBurstLimit?: number;
    }>;
    expect(settings.length).toBeGreaterThan(1);
    for (const method of settings) {
      expect(method.ThrottlingRateLimit ?? 0).toBeLessThanOrEqual(8000);
      expect(method.ThrottlingBurstLimit ?? 0).toBeLessThanOrEqual(5000);
    }
  });
});

describe('failed provisioned concurrency', () => {
  const { monitoring } = synthesize();
  const rules = Object.values(resourcesOf(monitoring, 'AWS::Events::Rule'));
  const topics = Object.keys(resourcesOf(monitoring, 'AWS::SNS::Topic'));

  it('reaches the alarm topic when Lambda refuses a provisioned-concurrency setting', () => {
    const refused = rules.find(
      (rule) => (rule.Properties.EventPattern as { source: string[] }).source[0] === 'aws.lambda',
    );
    expect(refused?.Properties.EventPattern).toEqual({
      source: ['aws.lambda'],
      'detail-type': ['AWS API Call via CloudTrail'],
      detail: {
        eventSource: ['lambda.amazonaws.com'],
        eventName: [{ prefix: 'PutProvisionedConcurrencyConfig' }],
        errorCode: [{ exists: true }],
      },
    });
    expect(refused?.Properties.Targets).toEqual([expect.objectContaining({ Arn: { Ref: topics[0] } })]);
  });

  it('reaches the alarm topic when a Lambda alias scales to its maximum', () => {
    const scaled = rules.find(
      (rule) => (rule.Properties.EventPattern as { source: string[] }).source[0] === 'aws.application-autoscaling',
    );
    expect(scaled?.Properties.EventPattern).toMatchObject({
      'detail-type': ['Application Auto Scaling Scaling Activity State Change'],
      detail: { scalableDimension: ['lambda:function:ProvisionedConcurrency'] },
    });
    expect(scaled?.Properties.Targets).toEqual([expect.objectContaining({ Arn: { Ref: topics[0] } })]);
  });

  it('lets EventBridge use the alarm topic key', () => {
    monitoring.hasResourceProperties('AWS::KMS::Key', {
      KeyPolicy: Match.objectLike({
        Statement: Match.arrayWith([
          Match.objectLike({
            Principal: { Service: 'events.amazonaws.com' },
            Action: ['kms:Decrypt', 'kms:GenerateDataKey'],
          }),
        ]),
      }),
    });
  });
});
