/**
 * The assembly's event source mappings, run by the local pollers: each
 * mapping's source (a queue or the table's stream) and function (or alias)
 * resolved from its template, with its batch size, filter criteria,
 * `FunctionResponseTypes` and `ScalingConfig`; a stream mapping's retry limit,
 * record age, bisection and on-failure destination. What a mapping asks that the
 * local pollers do not do is reported, never dropped in silence.
 */
import { PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import { SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import type { SQSBatchResponse } from 'aws-lambda';
import { type DiscardedBatch, startStreamEventSource } from '../event-sources/dynamodb-streams';
import type { FilterPattern } from '../event-sources/event-filter';
import { type RunningEventSource, startSqsEventSource } from '../event-sources/sqs';
import { AssemblyError, resourcesOf } from './cloud-assembly';
import type { LocalLambda } from './lambda-runtime';
import type { ProvisionedAssembly } from './provision';

export interface AssemblyEventSources {
  /** Settings of the mappings the local pollers do not honour, one line each. */
  readonly notes: readonly string[];
  /**
   * Records each mapping handed its function that it took, by `stack.logicalId`: a batch's records, less
   * those it reported failed; none of a batch that threw.
   */
  readonly delivered: ReadonlyMap<string, number>;
  /** Batches each mapping handed its function, taken or not. */
  readonly handed: ReadonlyMap<string, number>;
  stop(): Promise<void>;
}

/** Pollers per SQS mapping when the template sets no ScalingConfig (Lambda starts with five; this machine has two cores). */
const DEFAULT_SQS_POLLERS = 2;
/** Stream shards the local lanes stand in for, times the mapping's ParallelizationFactor (see the stream source). */
const STREAM_SHARD_LANES = 4;

export async function startAssemblyEventSources(
  provisioned: ProvisionedAssembly,
  lambda: LocalLambda,
  endpoints: { readonly dynamodb: string; readonly sqs: string; readonly sns: string },
): Promise<AssemblyEventSources> {
  const { assembly, resolver, values } = provisioned;
  const queues = new Map<string, { url: string; arn: string }>();
  const streams = new Map<string, string>();
  const topics = new Set<string>();
  for (const { stack, logicalId, resource } of resourcesOf(assembly)) {
    const created = values.get(`${stack.name}/${logicalId}`);
    if (!created) continue;
    if (resource.Type === 'AWS::SQS::Queue') {
      queues.set(created.attributes.Arn as string, { url: created.ref, arn: created.attributes.Arn as string });
    }
    if (created.attributes.StreamArn) streams.set(created.attributes.StreamArn, created.ref);
    if (resource.Type === 'AWS::SNS::Topic') topics.add(created.ref);
  }
  // Lambda's own side sends discarded batches' records to their destinations.
  const sqs = new SQSClient({ endpoint: endpoints.sqs });
  const sns = new SNSClient({ endpoint: endpoints.sns });
  const destination = (at: string, arn: string): ((record: DiscardedBatch) => Promise<void>) => {
    const body = (record: DiscardedBatch) => JSON.stringify(record);
    const queue = queues.get(arn);
    if (queue)
      return async (record) =>
        void (await sqs.send(new SendMessageCommand({ QueueUrl: queue.url, MessageBody: body(record) })));
    if (topics.has(arn)) {
      return async (record) => void (await sns.send(new PublishCommand({ TopicArn: arn, Message: body(record) })));
    }
    throw new AssemblyError(`${at}: on-failure destination ${arn} is neither a local queue nor a topic`);
  };

  const running: RunningEventSource[] = [];
  const notes: string[] = [];
  const delivered = new Map<string, number>();
  const handed = new Map<string, number>();
  try {
    for (const { stack, logicalId, resource } of resourcesOf(assembly)) {
      if (resource.Type !== 'AWS::Lambda::EventSourceMapping') continue;
      const at = `${stack.name}.${logicalId}`;
      const property = (name: string) => {
        const raw = resource.Properties?.[name];
        return raw === undefined ? undefined : resolver.resolve(stack, raw, `${at}.${name}`);
      };
      if (property('Enabled') === false) continue;
      const fn = lambda.function(String(property('FunctionName')));
      const sourceArn = String(property('EventSourceArn'));
      const batchSize = Number(property('BatchSize') ?? 10);
      const reportsItemFailures = ((property('FunctionResponseTypes') as string[] | undefined) ?? []).includes(
        'ReportBatchItemFailures',
      );
      const invoke = async (event: unknown) => {
        handed.set(at, (handed.get(at) ?? 0) + 1);
        const answer = await fn.invoke(event);
        const records = (event as { Records?: unknown[] }).Records?.length ?? 0;
        const failed = reportsItemFailures
          ? ((answer as Partial<SQSBatchResponse> | undefined)?.batchItemFailures?.length ?? 0)
          : 0;
        delivered.set(at, (delivered.get(at) ?? 0) + Math.max(0, records - failed));
        return answer;
      };

      const queue = queues.get(sourceArn);
      if (queue) {
        // Lambda would filter on the message body and attributes; the local queue poller does not, and would
        // hand the function what AWS drops: refused rather than run differently.
        if (property('FilterCriteria') !== undefined) {
          throw new AssemblyError(`${at}: FilterCriteria on a queue mapping is not emulated locally`);
        }
        const maximumConcurrency = (property('ScalingConfig') as { MaximumConcurrency?: number } | undefined)
          ?.MaximumConcurrency;
        running.push(
          startSqsEventSource({
            name: fn.config.name,
            endpoint: endpoints.sqs,
            queueUrl: queue.url,
            queueArn: queue.arn,
            batchSize,
            pollers: Math.min(maximumConcurrency ?? DEFAULT_SQS_POLLERS, DEFAULT_SQS_POLLERS),
            batchingWindowMs: Number(property('MaximumBatchingWindowInSeconds') ?? 0) * 1000,
            // Without ReportBatchItemFailures Lambda ignores the answer: the batch succeeded unless the function threw.
            handler: async (event) => {
              const answer = (await invoke(event)) as SQSBatchResponse | undefined;
              return reportsItemFailures ? answer : undefined;
            },
          }),
        );
        if (maximumConcurrency !== undefined && maximumConcurrency > DEFAULT_SQS_POLLERS) {
          notes.push(
            `${at}: ScalingConfig.MaximumConcurrency ${maximumConcurrency} runs as ${DEFAULT_SQS_POLLERS} local pollers`,
          );
        }
        continue;
      }

      const tableName = streams.get(sourceArn);
      if (tableName) {
        const filters = ((property('FilterCriteria') as { Filters?: Array<{ Pattern: string }> } | undefined)
          ?.Filters ?? []) as Array<{ Pattern: string }>;
        if (filters.length > 1)
          throw new AssemblyError(`${at}: the local stream poller takes one filter pattern, not ${filters.length}`);
        const filter = filters[0] ? (JSON.parse(filters[0].Pattern) as FilterPattern) : undefined;
        const onFailure = (property('DestinationConfig') as { OnFailure?: { Destination?: unknown } } | undefined)
          ?.OnFailure?.Destination;
        const retries = property('MaximumRetryAttempts');
        const age = property('MaximumRecordAgeInSeconds');
        const factor = Number(property('ParallelizationFactor') ?? 1);
        running.push(
          await startStreamEventSource({
            name: fn.config.name,
            functionArn: fn.config.arn,
            endpoint: endpoints.dynamodb,
            tableName,
            batchSize,
            handler: invoke,
            batchingWindowMs: Number(property('MaximumBatchingWindowInSeconds') ?? 0) * 1000,
            // Deployed, Lambda reads the stream's shards at once, each in order, and with a ParallelizationFactor
            // "the number of batches to process concurrently from each shard" (EventSourceMappingConfiguration,
            // Lambda API Reference; "Using AWS Lambda with Amazon DynamoDB", concurrent reads of a shard), an item's
            // records still in order. DynamoDB Local writes one shard: lanes by partition key stand in for them.
            shardOrder: 'parallel',
            parallel: { lanes: STREAM_SHARD_LANES * Math.max(1, factor) },
            ...(filter ? { filter } : {}),
            errorHandling: {
              ...(retries === undefined ? {} : { maximumRetryAttempts: Number(retries) }),
              ...(age === undefined ? {} : { maximumRecordAgeSeconds: Number(age) }),
              bisectOnError: property('BisectBatchOnFunctionError') === true,
              ...(onFailure === undefined ? {} : { onDiscard: destination(at, String(onFailure)) }),
            },
          }),
        );
        continue;
      }
      throw new AssemblyError(`${at}: its source ${sourceArn} is neither a local queue nor a local table's stream`);
    }
  } catch (error) {
    await Promise.all(running.map((source) => source.stop()));
    sqs.destroy();
    sns.destroy();
    throw error;
  }
  return {
    notes,
    delivered,
    handed,
    stop: async () => {
      await Promise.all(running.map((source) => source.stop()));
      sqs.destroy();
      sns.destroy();
    },
  };
}
