/**
 * The Route 53 health check drives something: shopper reads fail over to a
 * fixed 503 PAUSED when the API fails, and an unhealthy check pages the alarm
 * topic.
 */
import { Match } from 'aws-cdk-lib/assertions';
import { FAILOVER_STATUS_CODES } from '../../lib/stacks/edge-stack';
import { dns, onlyResource, type Synthesized, synthesize } from './synth';

type Origin = { Id: string; OriginCustomHeaders?: unknown[] };
type Group = {
  Id: string;
  FailoverCriteria: { StatusCodes: { Items: number[] } };
  Members: { Items: Array<{ OriginId: string }> };
};
type Behavior = { PathPattern: string; TargetOriginId: string; AllowedMethods: string[] };
type Config = { Origins: Origin[]; OriginGroups: { Items: Group[] }; CacheBehaviors: Behavior[] };

const configOf = (synth: Synthesized) =>
  onlyResource(synth.edge, 'AWS::CloudFront::Distribution').Properties.DistributionConfig as Config;

describe('failover of shopper reads', () => {
  const synth = synthesize();
  const config = configOf(synth);
  const [group] = config.OriginGroups.Items;
  const origin = (id: string | undefined) => config.Origins.find((candidate) => candidate.Id === id);
  const behavior = (pattern: string) => config.CacheBehaviors.find((candidate) => candidate.PathPattern === pattern);

  it('fails over from the API to the paused origin on 500, 502, 503 and 504', () => {
    expect(config.OriginGroups.Items).toHaveLength(1);
    expect(group?.FailoverCriteria.StatusCodes.Items).toEqual(FAILOVER_STATUS_CODES);
    expect(FAILOVER_STATUS_CODES).toEqual([500, 502, 503, 504]);
    const [primary, secondary] = group?.Members.Items ?? [];
    expect(origin(primary?.OriginId)?.OriginCustomHeaders).toEqual([
      expect.objectContaining({ HeaderName: 'x-dropline-origin' }),
    ]);
    expect(origin(secondary?.OriginId)?.OriginCustomHeaders).toBeUndefined();
    const [pausedApi] = Object.keys(synth.edge.findResources('AWS::ApiGateway::RestApi'));
    expect(JSON.stringify(origin(secondary?.OriginId))).toContain(`"${pausedApi}"`);
  });

  it('sends availability and order reads through the group', () => {
    for (const pattern of ['/products/*', '/orders/*']) {
      expect(behavior(pattern)?.TargetOriginId).toBe(group?.Id);
      expect(behavior(pattern)?.AllowedMethods).toEqual(['GET', 'HEAD']);
    }
  });

  it('never puts a write or the health check behind the group', () => {
    for (const each of config.CacheBehaviors.filter((candidate) => candidate.AllowedMethods.includes('POST'))) {
      expect(each.TargetOriginId).not.toBe(group?.Id);
    }
    // A health check that could see the paused answer would measure CloudFront, not the API.
    expect(behavior('/health')?.TargetOriginId).not.toBe(group?.Id);
  });

  it('answers every path and method of the paused origin with 503 PAUSED in the contract error shape', () => {
    synth.edge.resourceCountIs('AWS::ApiGateway::RestApi', 1);
    const methods = Object.values(synth.edge.findResources('AWS::ApiGateway::Method'));
    expect(methods.map((method) => method.Properties.HttpMethod)).toEqual(['ANY', 'ANY']);
    for (const method of methods) {
      const integration = method.Properties.Integration;
      expect(integration.Type).toBe('MOCK');
      const [response] = integration.IntegrationResponses;
      expect(response.StatusCode).toBe('503');
      expect(JSON.parse(response.ResponseTemplates['application/json'])).toEqual({
        error: { code: 'PAUSED', message: expect.any(String) },
      });
      expect(response.ResponseParameters['method.response.header.Retry-After']).toMatch(/^'\d+'$/);
    }
  });
});

describe('the Route 53 health check alarm', () => {
  it('pages the alarm topic when the health check reports unhealthy for 2 minutes', () => {
    const withDomain = synthesize({ dns });
    const healthCheckId = Object.keys(withDomain.edge.findResources('AWS::Route53::HealthCheck'))[0];
    withDomain.edge.hasResourceProperties('AWS::CloudWatch::Alarm', {
      AlarmName: 'Dropline-ApiHealthCheck',
      Namespace: 'AWS/Route53',
      MetricName: 'HealthCheckStatus',
      Dimensions: [{ Name: 'HealthCheckId', Value: { 'Fn::GetAtt': [healthCheckId, 'HealthCheckId'] } }],
      Statistic: 'Minimum',
      ComparisonOperator: 'LessThanThreshold',
      Threshold: 1,
      EvaluationPeriods: 2,
      AlarmActions: [Match.anyValue()],
      OKActions: [Match.anyValue()],
    });
    expect(withDomain.stacks.edge.region).toBe('us-east-1');
  });

  it('exists only with the health check, which needs a domain', () => {
    const alarms = synthesize().edge.findResources('AWS::CloudWatch::Alarm', {
      Properties: { MetricName: 'HealthCheckStatus' },
    });
    expect(Object.keys(alarms)).toHaveLength(0);
  });
});
