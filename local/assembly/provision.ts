/**
 * Creates what the assembly's templates describe on the embedded emulators,
 * stack by stack in deploy order, each resource after those it refers to:
 * the table (keys, indexes, stream, TTL attribute), every queue with its
 * attributes and redrive policies, topics and their subscriptions (raw
 * delivery, filter policy and scope). Names are the templates', or the ones
 * CloudFormation would generate. Every value a later `Ref`/`Fn::GetAtt`
 * asks for is what the emulator answered, never a local convention.
 */
import { createHash } from 'node:crypto';
import {
  CreateTableCommand,
  DescribeTableCommand,
  DynamoDBClient,
  ResourceInUseException,
  UpdateTimeToLiveCommand,
} from '@aws-sdk/client-dynamodb';
import { CreateTopicCommand, SNSClient, SubscribeCommand } from '@aws-sdk/client-sns';
import { CreateQueueCommand, GetQueueAttributesCommand, SQSClient } from '@aws-sdk/client-sqs';
import type { AssemblyStack, CloudAssembly, TemplateResource } from './cloud-assembly';
import { AssemblyError } from './cloud-assembly';
import { IntrinsicResolver, LOCAL_ACCOUNT_ID, type ResourceValues } from './intrinsics';
import { physicalName } from './names';

export interface ProvisionEndpoints {
  readonly dynamodb: string;
  readonly sqs: string;
  readonly sns: string;
}

export interface ProvisionedAssembly {
  readonly assembly: CloudAssembly;
  readonly resolver: IntrinsicResolver;
  /** What each created resource answers to Ref and Fn::GetAtt, by `stack/logicalId`. */
  readonly values: ReadonlyMap<string, ResourceValues>;
}

type Creator = (context: CreateContext) => Promise<ResourceValues>;

interface CreateContext {
  readonly stack: AssemblyStack;
  readonly logicalId: string;
  readonly resource: TemplateResource;
  /**
   * The resource's properties, each resolved when read: a property the runtime does not use (a KMS
   * key, replicas' settings) may refer to resources it does not create.
   */
  readonly properties: Readonly<Record<string, unknown>>;
  readonly clients: { dynamodb: DynamoDBClient; sqs: SQSClient; sns: SNSClient };
}

const key = (stack: AssemblyStack, logicalId: string) => `${stack.name}/${logicalId}`;

export async function provisionAssembly(
  assembly: CloudAssembly,
  endpoints: ProvisionEndpoints,
): Promise<ProvisionedAssembly> {
  const values = new Map<string, ResourceValues>();
  const resolver = new IntrinsicResolver(assembly, (stack, logicalId) => values.get(key(stack, logicalId)));
  const local = { region: 'us-east-1', credentials: { accessKeyId: 'local', secretAccessKey: 'local' } };
  const clients = {
    dynamodb: new DynamoDBClient({ ...local, endpoint: endpoints.dynamodb }),
    sqs: new SQSClient({ ...local, endpoint: endpoints.sqs }),
    sns: new SNSClient({ ...local, endpoint: endpoints.sns }),
  };
  try {
    for (const stack of assembly.stacks) {
      for (const logicalId of creationOrder(stack)) {
        const resource = stack.template.Resources[logicalId] as TemplateResource;
        const create = CREATORS[resource.Type] as Creator;
        const properties = resolvedOnRead(resolver, stack, logicalId, resource);
        values.set(key(stack, logicalId), await create({ stack, logicalId, resource, properties, clients }));
      }
    }
  } finally {
    clients.dynamodb.destroy();
    clients.sqs.destroy();
    clients.sns.destroy();
  }
  return { assembly, resolver, values };
}

/** The stack's resources this module creates, each after every one it refers to (`Ref`, `Fn::GetAtt`, `${…}`). */
function creationOrder(stack: AssemblyStack): string[] {
  const created = Object.keys(stack.template.Resources).filter((id) => {
    const type = stack.template.Resources[id]?.Type as string;
    return type in CREATORS;
  });
  const ordered: string[] = [];
  const visit = (id: string, path: readonly string[]) => {
    if (ordered.includes(id)) return;
    if (path.includes(id))
      throw new AssemblyError(`${stack.name}: resources refer to each other in a cycle: ${[...path, id].join(' → ')}`);
    for (const dependency of referencesIn(stack.template.Resources[id]?.Properties)) {
      if (created.includes(dependency)) visit(dependency, [...path, id]);
    }
    ordered.push(id);
  };
  for (const id of created) visit(id, []);
  return ordered;
}

function referencesIn(value: unknown): string[] {
  if (Array.isArray(value)) return value.flatMap(referencesIn);
  if (value === null || typeof value !== 'object') return [];
  const found: string[] = [];
  for (const [name, argument] of Object.entries(value)) {
    if (name === 'Ref' && typeof argument === 'string') found.push(argument);
    else if (name === 'Fn::GetAtt')
      found.push(String(Array.isArray(argument) ? argument[0] : String(argument).split('.')[0]));
    else if (name === 'Fn::Sub') {
      const text = Array.isArray(argument) ? argument[0] : argument;
      for (const match of String(text).matchAll(/\$\{([^!}][^}.]*)/g)) found.push(match[1] as string);
      found.push(...referencesIn(argument));
    } else found.push(...referencesIn(argument));
  }
  return found;
}

function resolvedOnRead(
  resolver: IntrinsicResolver,
  stack: AssemblyStack,
  logicalId: string,
  resource: TemplateResource,
): Readonly<Record<string, unknown>> {
  const raw = resource.Properties ?? {};
  return new Proxy(
    {},
    {
      get: (_, name) =>
        typeof name === 'string' && name in raw
          ? resolver.resolve(stack, raw[name], `${stack.name}.${logicalId}.${name}`)
          : undefined,
    },
  );
}

const text = (value: unknown) =>
  value === undefined ? undefined : typeof value === 'string' ? value : JSON.stringify(value);

/** SQS queue attributes as CreateQueue takes them, from the template's properties (JSON policies as strings). */
const QUEUE_ATTRIBUTES = [
  'ContentBasedDeduplication',
  'DeduplicationScope',
  'DelaySeconds',
  'FifoQueue',
  'FifoThroughputLimit',
  'MaximumMessageSize',
  'MessageRetentionPeriod',
  'ReceiveMessageWaitTimeSeconds',
  'RedriveAllowPolicy',
  'RedrivePolicy',
  'VisibilityTimeout',
] as const;

const CREATORS: Readonly<Record<string, Creator>> = {
  'AWS::DynamoDB::GlobalTable': createTable,
  'AWS::DynamoDB::Table': createTable,
  'AWS::SQS::Queue': async ({ stack, logicalId, resource, properties, clients }) => {
    const name = physicalName(stack.name, logicalId, resource, properties.QueueName);
    const Attributes: Record<string, string> = {};
    for (const attribute of QUEUE_ATTRIBUTES) {
      const value = text(properties[attribute]);
      if (value !== undefined) Attributes[attribute] = value;
    }
    const { QueueUrl } = await clients.sqs.send(new CreateQueueCommand({ QueueName: name, Attributes }));
    if (!QueueUrl) throw new AssemblyError(`${stack.name}.${logicalId}: the queue ${name} was not created`);
    const { Attributes: created } = await clients.sqs.send(
      new GetQueueAttributesCommand({ QueueUrl, AttributeNames: ['QueueArn'] }),
    );
    const arn = created?.QueueArn ?? `arn:aws:sqs:${stack.region}:${LOCAL_ACCOUNT_ID}:${name}`;
    return { ref: QueueUrl, attributes: { Arn: arn, QueueName: name, QueueUrl } };
  },
  'AWS::SNS::Topic': async ({ stack, logicalId, resource, properties, clients }) => {
    const name = physicalName(stack.name, logicalId, resource, properties.TopicName);
    const Attributes: Record<string, string> = {};
    for (const attribute of ['FifoTopic', 'ContentBasedDeduplication', 'FifoThroughputScope', 'DisplayName'] as const) {
      const value = text(properties[attribute]);
      if (value !== undefined) Attributes[attribute] = value;
    }
    const { TopicArn } = await clients.sns.send(new CreateTopicCommand({ Name: name, Attributes }));
    if (!TopicArn) throw new AssemblyError(`${stack.name}.${logicalId}: the topic ${name} was not created`);
    return { ref: TopicArn, attributes: { TopicArn, TopicName: name } };
  },
  'AWS::SNS::Subscription': async ({ stack, logicalId, properties, clients }) => {
    const Attributes: Record<string, string> = {};
    for (const attribute of ['RawMessageDelivery', 'FilterPolicy', 'FilterPolicyScope', 'RedrivePolicy'] as const) {
      const value = text(properties[attribute]);
      if (value !== undefined) Attributes[attribute] = value;
    }
    const { SubscriptionArn } = await clients.sns.send(
      new SubscribeCommand({
        TopicArn: String(properties.TopicArn),
        Protocol: String(properties.Protocol),
        Endpoint: String(properties.Endpoint),
        Attributes,
        ReturnSubscriptionArn: true,
      }),
    );
    if (!SubscriptionArn) throw new AssemblyError(`${stack.name}.${logicalId}: the subscription was not created`);
    return { ref: SubscriptionArn, attributes: {} };
  },
  // The REST API and its resources get ids, as API Gateway would give them; the gateway routes by them.
  'AWS::ApiGateway::RestApi': async ({ stack, logicalId }) => {
    const id = localId(stack, logicalId);
    return { ref: id, attributes: { RootResourceId: localId(stack, `${logicalId}/`) } };
  },
  'AWS::ApiGateway::Resource': async ({ stack, logicalId }) => ({ ref: localId(stack, logicalId), attributes: {} }),
  // A stage answers Ref with its name: the distribution's origins name the API's address with it.
  'AWS::ApiGateway::Stage': async ({ stack, logicalId, properties }) => {
    const name = properties.StageName;
    if (typeof name !== 'string') throw new AssemblyError(`${stack.name}.${logicalId}: a stage without a StageName`);
    return { ref: name, attributes: {} };
  },
  // One version of each function runs locally: a published version and an alias both lead to it.
  'AWS::Lambda::Version': async ({ stack, properties }) => {
    const arn = `${functionArn(stack, properties.FunctionName)}:1`;
    return { ref: arn, attributes: { Version: '1', FunctionArn: arn } };
  },
  'AWS::Lambda::Alias': async ({ stack, properties }) => {
    const arn = `${functionArn(stack, properties.FunctionName)}:${String(properties.Name)}`;
    return { ref: arn, attributes: { AliasArn: arn } };
  },
  // The edge's KeyValueStore: the embedded one, whatever its ARN (Ref is the store's name, as in CloudFormation).
  'AWS::CloudFront::KeyValueStore': async ({ stack, logicalId, resource, properties }) => {
    const name = physicalName(stack.name, logicalId, resource, properties.Name);
    const id = localId(stack, logicalId);
    return {
      ref: name,
      attributes: { Arn: `arn:aws:cloudfront::${LOCAL_ACCOUNT_ID}:key-value-store/${id}`, Id: id, Status: 'READY' },
    };
  },
  // Functions run in the local Lambda runtime; creating one here means naming it as CloudFormation would.
  'AWS::Lambda::Function': async ({ stack, logicalId, resource, properties }) => {
    const name = physicalName(stack.name, logicalId, resource, properties.FunctionName);
    return { ref: name, attributes: { Arn: `arn:aws:lambda:${stack.region}:${LOCAL_ACCOUNT_ID}:function:${name}` } };
  },
};

/** A stable id of API Gateway's shape (10 lowercase letters and digits) for a resource of the assembly. */
function localId(stack: AssemblyStack, logicalId: string): string {
  return createHash('sha256').update(`${stack.name}/${logicalId}`).digest('hex').slice(0, 10);
}

/** A function's ARN from what a template gives as its FunctionName: a name or an ARN (possibly qualified). */
function functionArn(stack: AssemblyStack, reference: unknown): string {
  const text = String(reference);
  const name = text.startsWith('arn:') ? (text.split(':')[6] as string) : text;
  return `arn:aws:lambda:${stack.region}:${LOCAL_ACCOUNT_ID}:function:${name}`;
}

async function createTable({
  stack,
  logicalId,
  resource,
  properties,
  clients,
}: CreateContext): Promise<ResourceValues> {
  const name = physicalName(stack.name, logicalId, resource, properties.TableName);
  const stream = properties.StreamSpecification as { StreamViewType?: string } | undefined;
  try {
    await clients.dynamodb.send(
      new CreateTableCommand({
        TableName: name,
        BillingMode: 'PAY_PER_REQUEST',
        AttributeDefinitions: properties.AttributeDefinitions as never,
        KeySchema: properties.KeySchema as never,
        ...(properties.GlobalSecondaryIndexes
          ? {
              GlobalSecondaryIndexes: (properties.GlobalSecondaryIndexes as Array<Record<string, unknown>>).map(
                ({ IndexName, KeySchema, Projection }) => ({ IndexName, KeySchema, Projection }) as never,
              ),
            }
          : {}),
        ...(stream?.StreamViewType
          ? { StreamSpecification: { StreamEnabled: true, StreamViewType: stream.StreamViewType as never } }
          : {}),
      }),
    );
    const ttl = properties.TimeToLiveSpecification as { Enabled?: boolean; AttributeName?: string } | undefined;
    if (ttl?.Enabled && ttl.AttributeName) {
      // Accepted and remembered by DynamoDB Local, never enforced (docs: AWS-SEMANTICS, emulator differences).
      await clients.dynamodb.send(
        new UpdateTimeToLiveCommand({
          TableName: name,
          TimeToLiveSpecification: { Enabled: true, AttributeName: ttl.AttributeName },
        }),
      );
    }
  } catch (error) {
    // A persisted data directory already holds the table.
    if (!(error instanceof ResourceInUseException)) throw error;
  }
  const { Table } = await clients.dynamodb.send(new DescribeTableCommand({ TableName: name }));
  const arn = Table?.TableArn ?? `arn:aws:dynamodb:${stack.region}:${LOCAL_ACCOUNT_ID}:table/${name}`;
  return {
    ref: name,
    attributes: { Arn: arn, ...(Table?.LatestStreamArn ? { StreamArn: Table.LatestStreamArn } : {}) },
  };
}
