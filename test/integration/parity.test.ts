/**
 * The local runtime and the deployed stack are built from one description
 * (contract/). This test reads what the local runtime actually created in
 * the emulators and wired in-process, reads the synthesized CloudFormation,
 * and checks they describe the same topology: table, queues and their
 * dead-letter queues, topic, subscriptions and filters, event source
 * mappings, routes and schedules.
 */
import { DescribeTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  GetSubscriptionAttributesCommand,
  GetTopicAttributesCommand,
  ListSubscriptionsByTopicCommand,
  SNSClient,
} from '@aws-sdk/client-sns';
import { GetQueueAttributesCommand, SQSClient } from '@aws-sdk/client-sqs';
import type { Template } from 'aws-cdk-lib/assertions';
import { fifoName } from '../../contract/topology';
import { LOCAL_VISIBILITY_TIMEOUT_SECONDS } from '../../local/provision-messaging';
import { resourcesOf, type Synthesized, synthesize } from '../infra/synth';
import {
  startHandWiredTestStack as startTestStack,
  type HandWiredTestStack as TestStack,
} from '../support/local-stack';

/** Deployed-only resources, on purpose (each says why where it is defined). */
const DEPLOYED_ONLY_QUEUES = ['stream-failures'];

let stack: TestStack;
let synth: Synthesized;
beforeAll(async () => {
  stack = await startTestStack();
  synth = synthesize();
});
afterAll(async () => {
  await stack?.stop();
});

type Resource = { Type: string; Properties: Record<string, unknown> };
const tag = (resource: Resource | undefined, key: string) =>
  (resource?.Properties.Tags as Array<{ Key: string; Value: string }> | undefined)?.find((t) => t.Key === key)?.Value;
const refOf = (value: unknown): string | undefined => {
  const object = value as { Ref?: string; 'Fn::GetAtt'?: [string, string] };
  return object?.Ref ?? object?.['Fn::GetAtt']?.[0];
};
/** Logical id → role name, for resources tagged with it. */
function rolesBy(template: Template, type: string, key: string): Map<string, string> {
  const roles = new Map<string, string>();
  for (const [id, resource] of Object.entries(resourcesOf(template, type))) {
    const role = tag(resource, key);
    if (role) roles.set(id, role);
  }
  return roles;
}

/** Local physical queue name → role name in the shared description. */
const localRole = (queueArnOrName: string) =>
  (queueArnOrName.split(':').at(-1) ?? '').replace(`${stack.tableName}-`, '').replace(/\.fifo$/, '');

async function localQueues() {
  const sqs = new SQSClient({ endpoint: stack.endpoints.sqs });
  try {
    const urls = [...Object.values(stack.messaging.queueUrls), ...Object.values(stack.messaging.dlqUrls)];
    const queues = await Promise.all(
      urls.map(async (url) => {
        const { Attributes = {} } = await sqs.send(
          new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ['All'] }),
        );
        return Attributes;
      }),
    );
    return new Map(queues.map((attributes) => [localRole(attributes.QueueArn ?? ''), attributes]));
  } finally {
    sqs.destroy();
  }
}

it('has the same table: key, stream, expiry index', async () => {
  const dynamodb = new DynamoDBClient({ endpoint: stack.endpoints.dynamodb });
  const { Table } = await dynamodb.send(new DescribeTableCommand({ TableName: stack.tableName }));
  dynamodb.destroy();
  const [deployed] = Object.values(resourcesOf(synth.stateful, 'AWS::DynamoDB::GlobalTable'));
  const props = deployed?.Properties as {
    KeySchema: unknown;
    AttributeDefinitions: Array<{ AttributeName?: string }>;
    StreamSpecification: { StreamViewType: string };
    GlobalSecondaryIndexes: unknown;
  };

  expect(Table?.KeySchema).toEqual(props.KeySchema);
  const sortAttributes = (list: Array<{ AttributeName?: string }> = []) =>
    [...list].sort((a, b) => String(a.AttributeName).localeCompare(String(b.AttributeName)));
  expect(sortAttributes(Table?.AttributeDefinitions)).toEqual(sortAttributes(props.AttributeDefinitions));
  expect(Table?.StreamSpecification).toEqual({
    StreamEnabled: true,
    StreamViewType: props.StreamSpecification.StreamViewType,
  });
  const local = (Table?.GlobalSecondaryIndexes ?? []).map(({ IndexName, KeySchema, Projection }) => ({
    IndexName,
    KeySchema,
    Projection,
  }));
  expect(local).toEqual(props.GlobalSecondaryIndexes);
});

it('has the same FIFO queues, each with its FIFO dead-letter queue after as many receives', async () => {
  const local = await localQueues();
  const deployed = rolesBy(synth.stateful, 'AWS::SQS::Queue', 'dropline:queue');
  const deployedQueues = resourcesOf(synth.stateful, 'AWS::SQS::Queue');

  expect([...local.keys()].sort()).toEqual(
    [...deployed.values()].filter((role) => !DEPLOYED_ONLY_QUEUES.includes(role)).sort(),
  );
  for (const [id, role] of deployed) {
    if (DEPLOYED_ONLY_QUEUES.includes(role)) continue;
    const template = deployedQueues[id]?.Properties ?? {};
    const attributes = local.get(role) ?? {};
    expect({ role, fifo: attributes.FifoQueue === 'true' }).toEqual({ role, fifo: template.FifoQueue === true });
    expect(attributes.ContentBasedDeduplication === 'true').toBe(template.ContentBasedDeduplication === true);
    const redrive = template.RedrivePolicy as { maxReceiveCount: number; deadLetterTargetArn: unknown } | undefined;
    if (!redrive) {
      expect(attributes.RedrivePolicy).toBeUndefined();
      continue;
    }
    const localRedrive = JSON.parse(attributes.RedrivePolicy ?? '{}');
    expect(Number(localRedrive.maxReceiveCount)).toBe(redrive.maxReceiveCount);
    expect(localRole(localRedrive.deadLetterTargetArn)).toBe(deployed.get(refOf(redrive.deadLetterTargetArn) ?? ''));
    // Locally messages reappear after a couple of seconds instead of the deployed timeout (README: local gaps).
    expect(Number(attributes.VisibilityTimeout)).toBe(
      Math.min(Number(template.VisibilityTimeout), LOCAL_VISIBILITY_TIMEOUT_SECONDS),
    );
  }
});

it('has the same FIFO topic feeding the same queues through the same filters', async () => {
  const sns = new SNSClient({ endpoint: stack.endpoints.sns });
  try {
    const { Attributes } = await sns.send(new GetTopicAttributesCommand({ TopicArn: stack.messaging.topicArn }));
    const topics = rolesBy(synth.stateful, 'AWS::SNS::Topic', 'dropline:topic');
    expect(topics.size).toBe(1);
    const [topicId, topicRole] = [...topics][0] as [string, string];
    expect(stack.messaging.topicArn.endsWith(fifoName(stack.tableName, topicRole))).toBe(true);
    expect(Attributes?.FifoTopic).toBe('true');
    expect(resourcesOf(synth.stateful, 'AWS::SNS::Topic')[topicId]?.Properties.FifoTopic).toBe(true);

    const { Subscriptions = [] } = await sns.send(
      new ListSubscriptionsByTopicCommand({ TopicArn: stack.messaging.topicArn }),
    );
    const local = await Promise.all(
      Subscriptions.map(async (subscription) => {
        const { Attributes: attributes = {} } = await sns.send(
          new GetSubscriptionAttributesCommand({ SubscriptionArn: subscription.SubscriptionArn }),
        );
        return {
          queue: localRole(subscription.Endpoint ?? ''),
          raw: attributes.RawMessageDelivery === 'true',
          filter: JSON.parse(attributes.FilterPolicy ?? '{}'),
        };
      }),
    );
    const queues = rolesBy(synth.stateful, 'AWS::SQS::Queue', 'dropline:queue');
    const deployed = Object.values(resourcesOf(synth.stateful, 'AWS::SNS::Subscription')).map((subscription) => ({
      queue: queues.get(refOf(subscription.Properties.Endpoint) ?? ''),
      raw: subscription.Properties.RawMessageDelivery === true,
      filter: subscription.Properties.FilterPolicy,
    }));
    const byQueue = (a: { queue?: string }, b: { queue?: string }) => String(a.queue).localeCompare(String(b.queue));
    expect(local.sort(byQueue)).toEqual(deployed.sort(byQueue));
  } finally {
    sns.destroy();
  }
});

it('runs the same handlers on the same queues and stream, in the same batch sizes', () => {
  const functions = rolesBy(synth.stateless, 'AWS::Lambda::Function', 'dropline:handler');
  const queues = rolesBy(synth.stateful, 'AWS::SQS::Queue', 'dropline:queue');
  const mappings = Object.values(resourcesOf(synth.stateless, 'AWS::Lambda::EventSourceMapping'));
  const importedQueue = (arn: unknown) => {
    // Cross-stack: the ARN arrives as an import of the stateful stack's export, named after the queue's logical id.
    const exportName = JSON.stringify(arn);
    return [...queues].find(([id]) => exportName.includes(id))?.[1];
  };
  const deployed = mappings
    .filter((mapping) => !mapping.Properties.StartingPosition)
    .map((mapping) => ({
      queue: importedQueue(mapping.Properties.EventSourceArn),
      handler: functions.get(refOf(mapping.Properties.FunctionName) ?? ''),
      batchSize: mapping.Properties.BatchSize,
    }));
  const local = stack.topology.queueConsumers.map((consumer) => ({
    queue: localRole(consumer.queueArn),
    handler: consumer.handler,
    batchSize: consumer.batchSize,
  }));
  const key = (a: { queue?: string }, b: { queue?: string }) => String(a.queue).localeCompare(String(b.queue));
  expect(local.sort(key)).toEqual(deployed.sort(key));

  const stream = mappings.find((mapping) => mapping.Properties.StartingPosition);
  expect({
    handler: functions.get(refOf(stream?.Properties.FunctionName) ?? ''),
    batchSize: stream?.Properties.BatchSize,
  }).toEqual({ handler: stack.topology.streamConsumer.handler, batchSize: stack.topology.streamConsumer.batchSize });
});

it('serves the same routes with the same handlers', () => {
  const template = synth.stateless;
  const resources = resourcesOf(template, 'AWS::ApiGateway::Resource');
  const pathOf = (id: string | undefined): string => {
    const resource = id ? resources[id] : undefined;
    if (!resource) return '';
    return `${pathOf(refOf(resource.Properties.ParentId))}/${resource.Properties.PathPart}`;
  };
  const functions = rolesBy(template, 'AWS::Lambda::Function', 'dropline:handler');
  const aliases = resourcesOf(template, 'AWS::Lambda::Alias');
  const handlerOf = (uri: unknown) => {
    const text = JSON.stringify(uri);
    const fn = [...functions].find(([id]) => text.includes(`"${id}"`));
    if (fn) return fn[1];
    const alias = Object.entries(aliases).find(([id]) => text.includes(`"${id}"`));
    return functions.get(refOf(alias?.[1].Properties.FunctionName) ?? '');
  };
  const deployed = Object.values(resourcesOf(template, 'AWS::ApiGateway::Method')).map((method) => ({
    method: method.Properties.HttpMethod,
    path: pathOf(refOf(method.Properties.ResourceId)),
    handler: handlerOf((method.Properties.Integration as { Uri: unknown }).Uri),
  }));
  const key = (route: { method: unknown; path: string }) => `${route.path} ${route.method}`;
  const byKey = (a: { method: unknown; path: string }, b: { method: unknown; path: string }) =>
    key(a).localeCompare(key(b));
  expect([...stack.topology.routes].sort(byKey)).toEqual(deployed.sort(byKey));
});

it('schedules the same functions', () => {
  const functions = rolesBy(synth.stateless, 'AWS::Lambda::Function', 'dropline:handler');
  const deployed = Object.values(resourcesOf(synth.stateless, 'AWS::Scheduler::Schedule')).map((schedule) =>
    functions.get(refOf((schedule.Properties.Target as { Arn: unknown }).Arn) ?? ''),
  );
  expect(deployed).toEqual(stack.topology.schedules);
});
