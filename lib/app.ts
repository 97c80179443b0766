/**
 * The dropline app: stacks split by lifecycle and wired through typed props.
 * `bin/app.ts` calls this with the real context; tests call it with theirs.
 */
import { Annotations, type App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { assertDeployable, type Capacity, dropsLiveAtDeploy, planCapacity } from './config/capacity';
import { type DeploySettings, SettingsError } from './config/settings';
import { STAGE_CONTEXT, TRACING_CONTEXT } from './constructs/dropline-function';
import { EdgeStack } from './stacks/edge-stack';
import { MonitoringStack } from './stacks/monitoring-stack';
import { StatefulStack } from './stacks/stateful-stack';
import { StatelessStack } from './stacks/stateless-stack';

/** CloudFront's web ACL and certificate must be created here. */
export const EDGE_REGION = 'us-east-1';

export interface DroplineStacks {
  readonly capacity: Capacity;
  readonly stateful: StatefulStack;
  readonly stateless: StatelessStack;
  readonly edge: EdgeStack;
  readonly monitoring: MonitoringStack;
}

/**
 * The deploy freeze, enforced. The drop paths' `live` aliases follow each deploy's new function
 * version unless pinned, and provisioned concurrency belongs to an alias version: moving the alias
 * makes Lambda allocate every environment again while the drop runs cold ("Configuring provisioned
 * concurrency", AWS Lambda Developer Guide,
 * https://docs.aws.amazon.com/lambda/latest/dg/provisioned-concurrency.html). So synth refuses while
 * a drop window is open (or opens before a deploy could finish) unless both aliases are pinned to the
 * versions they serve, or the operator says `deployDuringDrop=true`.
 */
function assertNoDropDisturbed(settings: DeploySettings, now: Date): void {
  const live = dropsLiveAtDeploy(settings.dropPlan, now);
  const { reservation, checkout } = settings.pinnedVersions;
  if (live.length === 0 || settings.deployDuringDrop || (reservation && checkout)) return;
  const drops = live.map((drop) => `${drop.sku} at ${drop.startsAt}`).join(', ');
  throw new SettingsError(
    `a drop window is open (${drops}): a deploy now would move the reservation and checkout aliases to new versions and reallocate their provisioned concurrency mid-drop. ` +
      'Pin both to the versions they serve: -c reservationVersion=N -c checkoutVersion=M ' +
      `(aws lambda get-alias --function-name <function> --name live --query FunctionVersion), or accept the reallocation with -c deployDuringDrop=true (docs/deploy.md, "Deploying during a drop window").`,
  );
}

export function buildDroplineApp(app: App, settings: DeploySettings, now: Date = new Date()): DroplineStacks {
  const capacity = planCapacity(settings.dropPlan, now, settings.capacityLimits);
  // Provisioned concurrency the account cannot allocate fails here, not in a scaling activity after the deploy.
  assertDeployable(capacity, settings.capacityLimits);
  assertNoDropDisturbed(settings, now);
  const env = { region: settings.region, ...(settings.account ? { account: settings.account } : {}) };
  const crossRegionReferences = settings.region !== EDGE_REGION;
  const { prefix } = settings;
  // Names of metrics, alarms, the API and the dashboard start from the stage: set before any stack exists.
  app.node.setContext(STAGE_CONTEXT, prefix);
  app.node.setContext(TRACING_CONTEXT, settings.tracing);

  const stateful = new StatefulStack(app, `${prefix}-Stateful`, {
    env,
    description: 'dropline: inventory table, order queue, inventory topic, channel queues',
    capacity,
  });
  const stateless = new StatelessStack(app, `${prefix}-Stateless`, {
    env,
    crossRegionReferences,
    description: 'dropline: functions, API, event source mappings, expiry schedule, drop scaling',
    table: stateful.table,
    ordersQueue: stateful.orders,
    channelQueues: stateful.channelQueues,
    inventoryTopic: stateful.inventoryTopic,
    streamFailures: stateful.streamFailures,
    edgeStateQueue: stateful.edgeStateQueue,
    capacity,
    originSecretReplicaRegions: crossRegionReferences ? [EDGE_REGION] : [],
    originSecretVersions: settings.originSecret,
    pinnedVersions: settings.pinnedVersions,
    identity: settings.identity,
  });
  const edge = new EdgeStack(app, `${prefix}-Edge`, {
    env: { ...env, region: EDGE_REGION },
    crossRegionReferences,
    description: 'dropline: CloudFront, WAF, drop page, DNS',
    api: stateless.dropApi.api,
    originHeaderValue: stateless.originHeaderValue,
    edgeStore: stateless.edgeStore,
    dns: settings.dns,
    wafMode: settings.wafMode,
    identity: settings.identity !== undefined,
  });
  edge.addStackDependency(stateless, 'CloudFront reads the origin secret the API stack creates');
  const monitoring = new MonitoringStack(app, `${prefix}-Monitoring`, {
    env,
    description: 'dropline: alarms and dashboard',
    api: stateless.dropApi.api,
    functions: stateless.functions,
    provisioned: new Map([
      ['reservation', stateless.reservations.alias],
      ['checkout', stateless.checkouts.alias],
    ]),
    table: stateful.table,
    ordersQueue: stateful.orders.queue,
    deadLetterQueues: new Map([
      ['OrdersDlq', stateful.orders.deadLetterQueue],
      ...[...stateful.channelQueues].map(([name, queue]) => [`${name}Dlq`, queue.deadLetterQueue] as const),
      ['StreamFailures', stateful.streamFailures],
    ]),
    alarmEmail: settings.alarmEmail,
    accountConcurrency: settings.capacityLimits.accountConcurrency,
  });
  // CloudFront and its WAF publish metrics only in us-east-1: their alarms live in the edge stack and use this
  // stage's alarm topic when it is there too, else an edge topic with the same subscriber.
  edge.addAlarms(settings.region === EDGE_REGION ? monitoring.alarmTopic : edge.addAlarmTopic(settings.alarmEmail));

  for (const warning of capacity.warnings) Annotations.of(stateless).addWarningV2('dropline:capacity', warning);
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  return { capacity, stateful, stateless, edge, monitoring };
}
