/**
 * Two stages in one account must never share a name that CloudWatch or API
 * Gateway keys on: otherwise a staging rehearsal feeds (and pages for)
 * production's alarms.
 */
import type { Template } from 'aws-cdk-lib/assertions';
import { resourcesOf, type Synthesized, synthesize } from './synth';

type Json = Record<string, unknown>;

const templatesOf = (synth: Synthesized): Array<[string, Template]> => [
  [synth.stacks.stateful.stackName, synth.stateful],
  [synth.stacks.stateless.stackName, synth.stateless],
  [synth.stacks.edge.stackName, synth.edge],
  [synth.stacks.monitoring.stackName, synth.monitoring],
];

/** A dimension value as it identifies a resource: a reference means "that resource of that stack". */
const identity = (stackName: string, value: unknown): string =>
  typeof value === 'object' && value !== null && ('Ref' in value || 'Fn::GetAtt' in value)
    ? `${stackName}:${JSON.stringify(value)}`
    : JSON.stringify(value);

/** Every metric an alarm reads, as `namespace|metric|dimensions`. */
function alarmMetrics(stackName: string, alarm: Json): string[] {
  const single = alarm.Namespace ? [alarm] : [];
  const stats = ((alarm.Metrics as Json[] | undefined) ?? []).flatMap((query) => {
    const stat = query.MetricStat as { Metric: Json } | undefined;
    return stat ? [stat.Metric] : [];
  });
  return [...single, ...stats].map((metric) => {
    const dimensions = ((metric.Dimensions as Array<{ Name: string; Value: unknown }> | undefined) ?? [])
      .map((dimension) => `${dimension.Name}=${identity(stackName, dimension.Value)}`)
      .sort()
      .join(',');
    return `${String(metric.Namespace)}|${String(metric.MetricName)}|${dimensions}`;
  });
}

/** Account-level metrics have no stage by nature: every stage's alarm on them is about the one account. */
const ACCOUNT_LEVEL = new Set(['AWS/Lambda|ConcurrentExecutions|']);

function namesOf(synth: Synthesized) {
  const alarms: string[] = [];
  const metrics: string[] = [];
  const apis: string[] = [];
  const dashboards: string[] = [];
  const namespaces: string[] = [];
  for (const [stackName, template] of templatesOf(synth)) {
    for (const alarm of Object.values(resourcesOf(template, 'AWS::CloudWatch::Alarm'))) {
      alarms.push(String(alarm.Properties.AlarmName));
      metrics.push(...alarmMetrics(stackName, alarm.Properties).filter((metric) => !ACCOUNT_LEVEL.has(metric)));
    }
    for (const api of Object.values(resourcesOf(template, 'AWS::ApiGateway::RestApi')))
      apis.push(String(api.Properties.Name));
    for (const plan of Object.values(resourcesOf(template, 'AWS::ApiGateway::UsagePlan'))) {
      apis.push(String(plan.Properties.UsagePlanName));
    }
    for (const board of Object.values(resourcesOf(template, 'AWS::CloudWatch::Dashboard'))) {
      dashboards.push(String(board.Properties.DashboardName));
    }
    for (const fn of Object.values(resourcesOf(template, 'AWS::Lambda::Function'))) {
      const variables = (fn.Properties.Environment as { Variables?: Record<string, string> } | undefined)?.Variables;
      if (variables?.POWERTOOLS_METRICS_NAMESPACE) {
        namespaces.push(`${variables.POWERTOOLS_METRICS_NAMESPACE}|service=${variables.POWERTOOLS_SERVICE_NAME}`);
      }
    }
    for (const filter of Object.values(resourcesOf(template, 'AWS::Logs::MetricFilter'))) {
      for (const transformation of filter.Properties.MetricTransformations as Json[]) {
        namespaces.push(`${String(transformation.MetricNamespace)}|${String(transformation.MetricName)}`);
      }
    }
    // The edge web ACL, whose metrics the edge alarms read (the API's origin guard is not alarmed on).
    for (const acl of Object.values(resourcesOf(template, 'AWS::WAFv2::WebACL'))) {
      if (acl.Properties.Scope !== 'CLOUDFRONT') continue;
      apis.push(String(acl.Properties.Name));
      namespaces.push(`AWS/WAFV2|WebACL=${String((acl.Properties.VisibilityConfig as Json).MetricName)}`);
    }
  }
  return { alarms, metrics, apis, dashboards, namespaces };
}

describe('two stages in one account', () => {
  let staging: ReturnType<typeof namesOf>;
  let production: ReturnType<typeof namesOf>;
  beforeAll(() => {
    staging = namesOf(synthesize({ prefix: 'DroplineStaging' }));
    production = namesOf(synthesize({ prefix: 'Dropline' }));
  });

  it.each(['alarms', 'metrics', 'apis', 'dashboards', 'namespaces'] as const)('share no %s', (kind) => {
    expect(staging[kind].length).toBeGreaterThan(0);
    expect(staging[kind]).not.toContain('undefined');
    const shared = [...new Set(staging[kind])].filter((name) => production[kind].includes(name));
    expect(shared).toEqual([]);
  });

  it('give every alarm, API, usage plan and web ACL an explicit name that starts with the stage', () => {
    for (const name of [...staging.alarms, ...staging.apis]) expect(name).toMatch(/^DroplineStaging-/);
    expect(new Set(staging.alarms).size).toBe(staging.alarms.length);
  });

  it('publish each function’s Powertools metrics under its own stage', () => {
    expect(new Set(staging.namespaces.filter((entry) => entry.includes('service=')))).toEqual(
      new Set(['DroplineStaging|service=DroplineStaging']),
    );
  });
});
