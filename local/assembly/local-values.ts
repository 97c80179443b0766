/**
 * What each emulated resource answers to `Ref` and `Fn::GetAtt` once the
 * local runtime has created it: names as CloudFormation would give them, and
 * ARNs and URLs in the local account and region. The attribute names are
 * CloudFormation's (each resource's "Return values" in the Template
 * Reference).
 */
import type { AssemblyStack, TemplateResource } from './cloud-assembly';
import type { IntrinsicResolver, ResourceValues } from './intrinsics';
import { LOCAL_ACCOUNT_ID } from './intrinsics';
import { physicalName } from './names';

export interface LocalEndpoints {
  /** Base URL of the local SQS endpoint: queue URLs are `<sqs>/<account>/<name>`. */
  readonly sqs: string;
}

/** Ref and attributes of one emulated resource; undefined for a type the runtime does not create. */
export function localResourceValues(
  stack: AssemblyStack,
  logicalId: string,
  resource: TemplateResource,
  resolver: IntrinsicResolver,
  endpoints: LocalEndpoints,
): ResourceValues | undefined {
  const arn = (service: string, resourcePart: string) =>
    `arn:aws:${service}:${stack.region}:${LOCAL_ACCOUNT_ID}:${resourcePart}`;
  const given = (property: string) => {
    const value = resource.Properties?.[property];
    return value === undefined
      ? undefined
      : resolver.resolveString(stack, value, `${stack.name}.${logicalId}.${property}`);
  };
  switch (resource.Type) {
    case 'AWS::DynamoDB::GlobalTable':
    case 'AWS::DynamoDB::Table': {
      const name = physicalName(stack.name, logicalId, resource, given('TableName'));
      const tableArn = arn('dynamodb', `table/${name}`);
      // DynamoDB Local names a stream by its creation time: the runtime replaces this once the table exists.
      return { ref: name, attributes: { Arn: tableArn, StreamArn: `${tableArn}/stream/local` } };
    }
    case 'AWS::SQS::Queue': {
      const name = physicalName(stack.name, logicalId, resource, given('QueueName'));
      const url = `${endpoints.sqs.replace(/\/$/, '')}/${LOCAL_ACCOUNT_ID}/${name}`;
      return { ref: url, attributes: { Arn: arn('sqs', name), QueueName: name, QueueUrl: url } };
    }
    case 'AWS::SNS::Topic': {
      const name = physicalName(stack.name, logicalId, resource, given('TopicName'));
      const topicArn = arn('sns', name);
      return { ref: topicArn, attributes: { TopicArn: topicArn, TopicName: name } };
    }
    case 'AWS::Lambda::Function': {
      const name = physicalName(stack.name, logicalId, resource, given('FunctionName'));
      return { ref: name, attributes: { Arn: arn('lambda', `function:${name}`) } };
    }
    default:
      return undefined;
  }
}
