/**
 * What a first real deploy (and every redeploy) would hit, asserted on the
 * synthesized templates: warm throughput within the table maximum and never
 * lower than before, queue names within SQS's limit, capacity for a window
 * already open, visibility timeouts against function timeouts, channel
 * wiring by configuration, gateway responses, retention and redrive policies.
 */
import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { envVars } from '../../contract/env-vars';
import {
  allQueues,
  channelQueue,
  channels,
  dlqName,
  eventSourceMappings,
  MAX_QUEUE_NAME_LENGTH,
  ordersQueue,
} from '../../contract/topology';
import { buildDroplineApp } from '../../lib/app';
import { CapacityError, defaultCapacityLimits } from '../../lib/config/capacity';
import { parseDropPlan } from '../../lib/config/drop-plan';
import { readSettings, SettingsError } from '../../lib/config/settings';
import { QUEUE_TAG } from '../../lib/constructs/fifo-queue';
import { NOW, resourcesOf, type Synthesized, synthesize } from './synth';

type Resource = { Type: string; Properties: Record<string, unknown>; DeletionPolicy?: string };

/** The plan from the review: one drop of 20,000 attempts/s (over by NOW, so it also shows that past drops count). */
const reviewPlan = parseDropPlan({
  drops: [{ sku: 'SNKR-001', startsAt: '2027-03-01T17:00:00Z', expectedPeakRps: 20000, units: 5000 }],
});
const futureDrop = { sku: 'NEXT-1', startsAt: '2030-02-01T17:00:00Z', expectedPeakRps: 2000, units: 1000 };
const pastDrop = { sku: 'LAST-1', startsAt: '2029-11-01T17:00:00Z', expectedPeakRps: 6000, units: 20000 };

const tagOf = (resource: Resource | undefined, key: string) =>
  (resource?.Properties.Tags as Array<{ Key: string; Value: string }> | undefined)?.find((t) => t.Key === key)?.Value;

function warmThroughput(template: Template): { WriteUnitsPerSecond: number; ReadUnitsPerSecond: number } {
  const [table] = Object.values(resourcesOf(template, 'AWS::DynamoDB::GlobalTable'));
  return table?.Properties.WarmThroughput as { WriteUnitsPerSecond: number; ReadUnitsPerSecond: number };
}

/** The stateful resource a cross-stack `Fn::ImportValue` in the stateless template points at. */
function importedResource(synth: Synthesized, value: unknown): string {
  const exportName = (value as { 'Fn::ImportValue'?: string })['Fn::ImportValue'];
  const outputs = synth.stateful.toJSON().Outputs as Record<string, { Value: unknown; Export: { Name: string } }>;
  const output = Object.values(outputs).find((candidate) => candidate.Export.Name === exportName);
  const target = output?.Value as { 'Fn::GetAtt'?: [string, string]; Ref?: string } | undefined;
  const logicalId = target?.['Fn::GetAtt']?.[0] ?? target?.Ref;
  if (!logicalId) throw new Error(`no stateful export behind ${JSON.stringify(value)}`);
  return logicalId;
}

/** A function's logical id from `{ Ref }` or `{ Fn::GetAtt }`. */
const refOf = (value: unknown): string => {
  const object = value as { Ref?: string; 'Fn::GetAtt'?: [string, string] };
  const id = object.Ref ?? object['Fn::GetAtt']?.[0];
  if (!id) throw new Error(`not a reference: ${JSON.stringify(value)}`);
  return id;
};

describe('warm throughput', () => {
  it("stays within the table's default on-demand maximum for the 20,000-attempts/s plan", () => {
    const { stateful } = synthesize({ dropPlan: reviewPlan });
    expect(warmThroughput(stateful)).toEqual({ WriteUnitsPerSecond: 40_000, ReadUnitsPerSecond: 39_816 });
  });

  it('is never lower with a drop in the past after one in the future than with the future one alone', () => {
    const futureOnly = warmThroughput(synthesize({ dropPlan: { drops: [futureDrop] } }).stateful);
    const withPast = warmThroughput(synthesize({ dropPlan: { drops: [futureDrop, pastDrop] } }).stateful);
    expect(withPast.WriteUnitsPerSecond).toBeGreaterThanOrEqual(futureOnly.WriteUnitsPerSecond);
    expect(withPast.ReadUnitsPerSecond).toBeGreaterThanOrEqual(futureOnly.ReadUnitsPerSecond);
    expect(withPast.WriteUnitsPerSecond).toBeGreaterThan(futureOnly.WriteUnitsPerSecond);
  });

  it('reads the table maximum and the floor from context', () => {
    const app = new App({
      context: { tableMaxWriteUnits: '300000', warmReadsFloor: 39_900, 'aws:cdk:bundling-stacks': [] },
    });
    const settings = { ...readSettings(app.node, {}), dropPlan: reviewPlan };
    const { stateful } = buildDroplineApp(app, settings, NOW);
    expect(warmThroughput(Template.fromStack(stateful))).toEqual({
      WriteUnitsPerSecond: 86_679,
      ReadUnitsPerSecond: 39_900,
    });
  });

  it('fails the synth, not a warning, when the declared floor is above the table maximum', () => {
    expect(() => synthesize({ capacityLimits: { ...defaultCapacityLimits, warmWritesFloor: 40_001 } })).toThrow(
      CapacityError,
    );
  });

  it('refuses context that is not a whole number of units', () => {
    const app = new App({ context: { tableMaxWriteUnits: 'lots' } });
    expect(() => readSettings(app.node, {})).toThrow(SettingsError);
  });
});

describe('queue names', () => {
  const longestPrefix = `P${'x'.repeat(30)}`;

  it('allow a 31-character prefix and nothing longer', () => {
    expect(readSettings(new App({ context: { prefix: longestPrefix } }).node, {}).prefix).toBe(longestPrefix);
    expect(() => readSettings(new App({ context: { prefix: `${longestPrefix}y` } }).node, {})).toThrow(SettingsError);
  });

  it('name every FIFO queue explicitly, within 80 characters, with the longest prefix', () => {
    const { stateful } = synthesize({ prefix: longestPrefix });
    const fifo = Object.values(resourcesOf(stateful, 'AWS::SQS::Queue')).filter((queue) => queue.Properties.FifoQueue);
    expect(fifo).toHaveLength(2 * allQueues.length);
    for (const queue of fifo) {
      const name = queue.Properties.QueueName as string;
      expect(typeof name).toBe('string');
      expect(name.startsWith(`${longestPrefix}-Stateful-`)).toBe(true);
      expect(name.endsWith('.fifo')).toBe(true);
      expect(name.length).toBeLessThanOrEqual(MAX_QUEUE_NAME_LENGTH);
      expect(name).toBe(`${longestPrefix}-Stateful-${tagOf(queue, QUEUE_TAG)}.fifo`);
    }
  });
});

describe('a drop window already open at deploy', () => {
  // Opened ten minutes before NOW (synth time): 2,000 attempts/s on 64 shards → 454 environments.
  const open = { sku: 'LIVE-1', startsAt: '2029-12-31T23:50:00Z', expectedPeakRps: 2000, units: 5000 };

  it('gets its provisioned concurrency from the deploy itself, and no scheduled action is in the past', () => {
    // Deploying inside a window needs the aliases pinned (test/infra/deploy-freeze.test.ts).
    const { stateless } = synthesize({
      dropPlan: { drops: [open] },
      pinnedVersions: { reservation: '7', checkout: '4' },
    });
    const targets = Object.values(resourcesOf(stateless, 'AWS::ApplicationAutoScaling::ScalableTarget'));
    expect(targets.map((target) => target.Properties.MinCapacity).sort()).toEqual([125, 328]);
    for (const target of targets) {
      const actions = (target.Properties.ScheduledActions ?? []) as Array<{ Schedule: string }>;
      expect(actions.length).toBeGreaterThan(0);
      for (const action of actions) {
        const at = /^at\((.+)\)$/.exec(action.Schedule)?.[1];
        expect(Date.parse(`${at}Z`)).toBeGreaterThan(NOW.getTime());
      }
    }
  });
});

describe('SQS event source mappings', () => {
  let synth: Synthesized;
  beforeAll(() => {
    synth = synthesize();
  });

  it('each read a queue whose visibility timeout is at least six times the function timeout', () => {
    const mappings = Object.values(resourcesOf(synth.stateless, 'AWS::Lambda::EventSourceMapping')).filter(
      (mapping) => !mapping.Properties.StartingPosition,
    );
    expect(mappings).toHaveLength(eventSourceMappings.length);
    const functions = resourcesOf(synth.stateless, 'AWS::Lambda::Function');
    const queues = resourcesOf(synth.stateful, 'AWS::SQS::Queue');
    for (const mapping of mappings) {
      const fn = functions[refOf(mapping.Properties.FunctionName)];
      const queue = queues[importedResource(synth, mapping.Properties.EventSourceArn)];
      const timeout = fn?.Properties.Timeout as number;
      expect(timeout).toBeGreaterThan(0);
      expect(queue?.Properties.VisibilityTimeout as number).toBeGreaterThanOrEqual(6 * timeout);
    }
  });

  it('cap fulfil-orders at a maximum concurrency, so fulfilment cannot starve the drop path', () => {
    const mappings = Object.values(resourcesOf(synth.stateless, 'AWS::Lambda::EventSourceMapping'));
    const queues = resourcesOf(synth.stateful, 'AWS::SQS::Queue');
    const orders = mappings.filter(
      (mapping) =>
        mapping.Properties.EventSourceArn !== undefined &&
        !mapping.Properties.StartingPosition &&
        tagOf(queues[importedResource(synth, mapping.Properties.EventSourceArn)], QUEUE_TAG) === ordersQueue.name,
    );
    expect(orders).toHaveLength(1);
    expect(orders[0]?.Properties.ScalingConfig).toEqual({ MaximumConcurrency: expect.any(Number) });
    const { MaximumConcurrency } = (orders[0]?.Properties.ScalingConfig ?? {}) as { MaximumConcurrency?: number };
    expect(MaximumConcurrency).toBeGreaterThanOrEqual(2);
    expect(MaximumConcurrency).toBeLessThanOrEqual(100);
  });
});

describe('channel sync', () => {
  it("tells the applier each channel's queue through its environment, not a queue's name", () => {
    const synth = synthesize();
    const appliers = Object.values(resourcesOf(synth.stateless, 'AWS::Lambda::Function')).filter(
      (fn) => tagOf(fn, 'dropline:handler') === 'apply-channel-events',
    );
    expect(appliers).toHaveLength(1);
    const { Variables: variables } = (appliers[0]?.Properties.Environment ?? {}) as {
      Variables: Record<string, unknown>;
    };
    const [separator, parts] = (variables[envVars.channelQueueArns] as { 'Fn::Join': [string, unknown[]] })['Fn::Join'];
    const json = parts
      .map((part) => (typeof part === 'string' ? part : `@${importedResource(synth, part)}`))
      .join(separator);
    const byChannel = JSON.parse(json) as Record<string, string>;
    const queues = resourcesOf(synth.stateful, 'AWS::SQS::Queue');
    expect(Object.keys(byChannel).sort()).toEqual(channels.map((channel) => channel.name).sort());
    for (const channel of channels) {
      const logicalId = byChannel[channel.name]?.replace(/^@/, '') ?? '';
      expect(tagOf(queues[logicalId], QUEUE_TAG)).toBe(channelQueue(channel).name);
    }
  });
});

describe('gateway responses', () => {
  let stateless: Template;
  beforeAll(() => {
    stateless = synthesize().stateless;
  });
  const responses = () => Object.values(resourcesOf(stateless, 'AWS::ApiGateway::GatewayResponse'));
  const byType = (type: string) => responses().find((response) => response.Properties.ResponseType === type);

  it('send Retry-After with THROTTLED (429) and the transient 503', () => {
    for (const type of ['THROTTLED', 'DEFAULT_5XX']) {
      expect(byType(type)?.Properties.ResponseParameters).toEqual({
        'gatewayresponse.header.Retry-After': "'1'",
      });
    }
    expect(byType('THROTTLED')?.Properties.StatusCode).toBe('429');
  });

  it('send Retry-After with every 429 and 503 they answer (the contract promises one on each)', () => {
    const retryable = responses().filter((response) => ['429', '503'].includes(String(response.Properties.StatusCode)));
    expect(retryable.map((response) => response.Properties.ResponseType).sort()).toEqual([
      'DEFAULT_5XX',
      'QUOTA_EXCEEDED',
      'THROTTLED',
    ]);
    for (const response of retryable) {
      expect(response.Properties.ResponseParameters).toMatchObject({
        'gatewayresponse.header.Retry-After': expect.stringMatching(/^'\d+'$/),
      });
    }
  });

  it('leave DEFAULT_4XX without a status of its own, so 403, 404 and 415 keep theirs', () => {
    expect(byType('DEFAULT_4XX')).toBeDefined();
    expect(byType('DEFAULT_4XX')?.Properties.StatusCode).toBeUndefined();
    expect(byType('ACCESS_DENIED')?.Properties.StatusCode).toBe('403');
    expect(byType('RESOURCE_NOT_FOUND')?.Properties.StatusCode).toBe('404');
    expect(byType('UNSUPPORTED_MEDIA_TYPE')?.Properties.StatusCode).toBe('415');
  });
});

describe('retention', () => {
  let synth: Synthesized;
  beforeAll(() => {
    synth = synthesize();
  });

  it('retains the inventory topic, every queue (the stream-failure queue too) and the origin secret', () => {
    const stateful = synth.stateful.toJSON().Resources as Record<string, Resource>;
    const kept = Object.values(stateful).filter((resource) =>
      ['AWS::SNS::Topic', 'AWS::SQS::Queue'].includes(resource.Type),
    );
    expect(kept.filter((resource) => resource.Type === 'AWS::SNS::Topic')).toHaveLength(1);
    expect(kept.filter((resource) => tagOf(resource, QUEUE_TAG) === 'stream-failures')).toHaveLength(1);
    for (const resource of kept) expect(resource.DeletionPolicy).toBe('Retain');
    synth.stateless.hasResource('AWS::SecretsManager::Secret', { DeletionPolicy: 'Retain' });
  });
});

describe('dead-letter queues', () => {
  it('accept only their own source queue (RedriveAllowPolicy byQueue)', () => {
    const queues = Object.entries(resourcesOf(synthesize().stateful, 'AWS::SQS::Queue'));
    const sources = queues.filter(([, queue]) => queue.Properties.RedrivePolicy);
    expect(sources).toHaveLength(allQueues.length);
    for (const [, source] of sources) {
      const dlqId = refOf((source.Properties.RedrivePolicy as { deadLetterTargetArn: unknown }).deadLetterTargetArn);
      const dlq = queues.find(([id]) => id === dlqId)?.[1];
      expect(tagOf(dlq, QUEUE_TAG)).toBe(dlqName(tagOf(source, QUEUE_TAG) ?? ''));
      const policy = dlq?.Properties.RedriveAllowPolicy as { redrivePermission: string; sourceQueueArns: unknown[] };
      expect(policy.redrivePermission).toBe('byQueue');
      expect(policy.sourceQueueArns).toHaveLength(1);
      const [, parts] = (policy.sourceQueueArns[0] as { 'Fn::Join': [string, unknown[]] })['Fn::Join'];
      expect(parts[0]).toBe('arn:');
      expect(parts.at(-1)).toBe(`:${source.Properties.QueueName as string}`);
    }
  });
});
