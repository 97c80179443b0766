/**
 * The names CloudFormation gives resources whose template leaves the name
 * out: "a unique physical ID" of the stack name, the logical ID and a random
 * suffix, such as `MyStack-MyBucket-abcdefghijk1` ("Resource custom naming",
 * AWS CloudFormation Template Reference,
 * https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-properties-name.html),
 * within the service's own length limit. Locally the suffix is derived from
 * the stack and logical ID, so a restart over the same data finds the same
 * resources; how CloudFormation shortens the parts to fit is not documented,
 * and this shortening is the local runtime's own.
 */
import { createHash } from 'node:crypto';
import type { TemplateResource } from './cloud-assembly';

/** The property that names each resource type, and the longest name its service accepts. */
export const NAMING: Readonly<Record<string, { readonly property: string; readonly maxLength: number }>> = {
  // "CreateQueue": up to 80 characters, `.fifo` included for a FIFO queue.
  'AWS::SQS::Queue': { property: 'QueueName', maxLength: 80 },
  // "CreateTopic": up to 256 characters, `.fifo` included for a FIFO topic.
  'AWS::SNS::Topic': { property: 'TopicName', maxLength: 256 },
  // "CreateTable": 3 to 255 characters.
  'AWS::DynamoDB::GlobalTable': { property: 'TableName', maxLength: 255 },
  'AWS::DynamoDB::Table': { property: 'TableName', maxLength: 255 },
  // "CreateFunction": a function name of up to 64 characters.
  'AWS::Lambda::Function': { property: 'FunctionName', maxLength: 64 },
  // "CreateKeyValueStore": a name of up to 64 characters (CDK always gives one; CloudFormation requires it).
  'AWS::CloudFront::KeyValueStore': { property: 'Name', maxLength: 64 },
};

const SUFFIX_LENGTH = 12;

/** `stack-logicalId-SUFFIX`, the two names shortened alike when the whole would pass `maxLength`. */
export function generatedName(stackName: string, logicalId: string, maxLength: number, ending = ''): string {
  const suffix = createHash('sha256')
    .update(`${stackName}/${logicalId}`)
    .digest('base64url')
    .replace(/[^A-Za-z0-9]/g, '')
    .slice(0, SUFFIX_LENGTH)
    .toUpperCase();
  const budget = maxLength - ending.length - SUFFIX_LENGTH - 2;
  let stackPart = stackName;
  let idPart = logicalId;
  while (stackPart.length + idPart.length > budget) {
    if (stackPart.length >= idPart.length) stackPart = stackPart.slice(0, -1);
    else idPart = idPart.slice(0, -1);
  }
  return `${stackPart}-${idPart}-${suffix}${ending}`;
}

/** The name a resource has once created: the template's, or the one CloudFormation would generate. */
export function physicalName(stackName: string, logicalId: string, resource: TemplateResource, given: unknown): string {
  const naming = NAMING[resource.Type];
  if (!naming) throw new Error(`no naming rule for ${resource.Type}`);
  if (typeof given === 'string' && given !== '') return given;
  const fifo = resource.Properties?.FifoQueue === true || resource.Properties?.FifoTopic === true;
  return generatedName(stackName, logicalId, naming.maxLength, fifo ? '.fifo' : '');
}
