/**
 * The synthesized assembly provisioned on the embedded emulators, checked
 * against its own templates: what CloudFormation would create is what the
 * local runtime creates — names, queue attributes, redrive policies, the
 * table's keys, index and stream, topics and filtered subscriptions — and
 * every function's environment resolves to those resources.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DescribeTableCommand, DescribeTimeToLiveCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { GetSubscriptionAttributesCommand, ListSubscriptionsByTopicCommand, SNSClient } from '@aws-sdk/client-sns';
import { GetQueueAttributesCommand, SQSClient } from '@aws-sdk/client-sqs';
import { App } from 'aws-cdk-lib';
import { buildDroplineApp } from '../../lib/app';
import { readSettings } from '../../lib/config/settings';
import { type CloudAssembly, readCloudAssembly, resourcesOf } from '../../local/assembly/cloud-assembly';
import { type ProvisionedAssembly, provisionAssembly } from '../../local/assembly/provision';
import { LOCAL_AWS_ENV } from '../../local/emulators/embedded-aws';

const local = { region: LOCAL_AWS_ENV.AWS_REGION, credentials: { accessKeyId: 'local', secretAccessKey: 'local' } };
const endpoints = {
  dynamodb: process.env.DROPLINE_TEST_DYNAMODB_ENDPOINT as string,
  sqs: process.env.DROPLINE_TEST_SQS_ENDPOINT as string,
  sns: process.env.DROPLINE_TEST_SNS_ENDPOINT as string,
};
const dynamodb = new DynamoDBClient({ ...local, endpoint: endpoints.dynamodb });
const sqs = new SQSClient({ ...local, endpoint: endpoints.sqs });
const sns = new SNSClient({ ...local, endpoint: endpoints.sns });

let outdir: string;
let assembly: CloudAssembly;
let provisioned: ProvisionedAssembly;

beforeAll(async () => {
  outdir = mkdtempSync(join(tmpdir(), 'dropline-assembly-'));
  const app = new App({ outdir, context: { 'aws:cdk:bundling-stacks': [] } });
  buildDroplineApp(app, readSettings(app.node, {}));
  app.synth();
  assembly = readCloudAssembly(outdir);
  provisioned = await provisionAssembly(assembly, endpoints);
});

afterAll(() => {
  rmSync(outdir, { recursive: true, force: true });
  dynamodb.destroy();
  sqs.destroy();
  sns.destroy();
});

const ofType = (type: string) => resourcesOf(assembly).filter(({ resource }) => resource.Type === type);
const valuesOf = (stackName: string, logicalId: string) => provisioned.values.get(`${stackName}/${logicalId}`);

test('the table has the template’s keys, index, stream and TTL attribute', async () => {
  const [table] = ofType('AWS::DynamoDB::GlobalTable');
  if (!table) throw new Error('no table in the assembly');
  const properties = table.resource.Properties as Record<string, unknown>;
  const name = valuesOf(table.stack.name, table.logicalId)?.ref as string;
  const { Table } = await dynamodb.send(new DescribeTableCommand({ TableName: name }));
  expect(Table?.KeySchema).toEqual(properties.KeySchema);
  expect(
    Table?.GlobalSecondaryIndexes?.map(({ IndexName, KeySchema, Projection }) => ({
      IndexName,
      KeySchema,
      Projection,
    })),
  ).toEqual(
    (properties.GlobalSecondaryIndexes as Array<Record<string, unknown>>).map(
      ({ IndexName, KeySchema, Projection }) => ({
        IndexName,
        KeySchema,
        Projection,
      }),
    ),
  );
  expect(Table?.StreamSpecification?.StreamViewType).toBe(
    (properties.StreamSpecification as { StreamViewType: string }).StreamViewType,
  );
  expect(valuesOf(table.stack.name, table.logicalId)?.attributes.StreamArn).toBe(Table?.LatestStreamArn);
  const { TimeToLiveDescription } = await dynamodb.send(new DescribeTimeToLiveCommand({ TableName: name }));
  expect(TimeToLiveDescription?.AttributeName).toBe(
    (properties.TimeToLiveSpecification as { AttributeName: string }).AttributeName,
  );
});

test('every queue has the template’s name (or CloudFormation’s generated shape), attributes and redrive policy', async () => {
  const queues = ofType('AWS::SQS::Queue');
  expect(queues.length).toBeGreaterThanOrEqual(9);
  for (const { stack, logicalId, resource } of queues) {
    const values = valuesOf(stack.name, logicalId);
    const properties = resource.Properties as Record<string, unknown>;
    const name = values?.attributes.QueueName as string;
    if (properties.QueueName) expect(name).toBe(properties.QueueName);
    else expect(name).toMatch(new RegExp(`^${stack.name}-${logicalId.slice(0, 20)}[A-Za-z0-9]*-[A-Z0-9]{12}$`));
    const { Attributes: attributes = {} } = await sqs.send(
      new GetQueueAttributesCommand({ QueueUrl: values?.ref, AttributeNames: ['All'] }),
    );
    const Attributes = attributes as Record<string, string>;
    for (const attribute of [
      'VisibilityTimeout',
      'MessageRetentionPeriod',
      'FifoQueue',
      'DeduplicationScope',
      'FifoThroughputLimit',
    ]) {
      if (properties[attribute] !== undefined)
        expect([attribute, Attributes[attribute]]).toEqual([attribute, String(properties[attribute])]);
    }
    const redrive = properties.RedrivePolicy as
      | { deadLetterTargetArn: { 'Fn::GetAtt': [string, string] }; maxReceiveCount: number }
      | undefined;
    if (redrive) {
      const deadLetter = valuesOf(stack.name, redrive.deadLetterTargetArn['Fn::GetAtt'][0]);
      expect(JSON.parse(Attributes.RedrivePolicy ?? '{}')).toEqual({
        deadLetterTargetArn: deadLetter?.attributes.Arn,
        maxReceiveCount: redrive.maxReceiveCount,
      });
    }
  }
});

test('the topic’s subscriptions deliver raw, filtered as the template says', async () => {
  const [topic] = ofType('AWS::SNS::Topic').filter(({ stack }) => stack.name.endsWith('-Stateful'));
  if (!topic) throw new Error('no topic in the stateful stack');
  const topicArn = valuesOf(topic.stack.name, topic.logicalId)?.ref;
  const { Subscriptions = [] } = await sns.send(new ListSubscriptionsByTopicCommand({ TopicArn: topicArn }));
  const templated = ofType('AWS::SNS::Subscription');
  expect(Subscriptions).toHaveLength(templated.length);
  for (const { stack, logicalId, resource } of templated) {
    const { Attributes = {} } = await sns.send(
      new GetSubscriptionAttributesCommand({ SubscriptionArn: valuesOf(stack.name, logicalId)?.ref }),
    );
    const properties = resource.Properties as Record<string, unknown>;
    expect(JSON.parse(Attributes.FilterPolicy ?? 'null')).toEqual(properties.FilterPolicy);
    expect(Attributes.RawMessageDelivery).toBe(String(properties.RawMessageDelivery));
  }
});

test('every function’s environment resolves to the resources just created', () => {
  const tables = ofType('AWS::DynamoDB::GlobalTable').map(
    ({ stack, logicalId }) => valuesOf(stack.name, logicalId)?.ref,
  );
  const queueArns = new Set(
    ofType('AWS::SQS::Queue').map(({ stack, logicalId }) => valuesOf(stack.name, logicalId)?.attributes.Arn),
  );
  const functions = ofType('AWS::Lambda::Function').filter(({ stack }) => stack.name.endsWith('-Stateless'));
  expect(functions.length).toBeGreaterThanOrEqual(15);
  for (const { stack, logicalId, resource } of functions) {
    const variables =
      (resource.Properties?.Environment as { Variables?: Record<string, unknown> } | undefined)?.Variables ?? {};
    const resolved = provisioned.resolver.resolve(stack, variables, `${logicalId}.Environment`) as Record<
      string,
      string
    >;
    if (resolved.TABLE_NAME !== undefined) expect(tables).toContain(resolved.TABLE_NAME);
    for (const arn of JSON.stringify(resolved).match(/arn:aws:sqs:[^"\\]+/g) ?? []) expect(queueArns).toContain(arn);
  }
});
