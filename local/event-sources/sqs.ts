/**
 * Local stand-in for a Lambda SQS event source mapping: long-polls the queue,
 * hands the function batches of at most `batchSize`, deletes what succeeded
 * and leaves failures (the whole batch when the function throws, or the ids
 * in `batchItemFailures`) to come back after the visibility timeout and move
 * to the dead-letter queue after `maxReceiveCount` — as Lambda does. Several
 * pollers run at once, so message groups progress in parallel; a FIFO group
 * is never in two batches at once because the queue holds it while its
 * messages are in flight.
 */
import { randomUUID } from 'node:crypto';
import { DeleteMessageBatchCommand, type Message, ReceiveMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { lambdaContext } from './lambda-context';

export type SqsHandler = (event: SQSEvent, context: Context) => Promise<SQSBatchResponse | undefined>;

export interface SqsEventSourceOptions {
  readonly name: string;
  readonly endpoint: string;
  readonly queueUrl: string;
  readonly queueArn: string;
  readonly handler: SqsHandler;
  readonly batchSize: number;
  readonly pollers?: number;
  /**
   * `MaximumBatchingWindowInSeconds`, in ms: receive until `batchSize` messages or this long from the first
   * ("Batching behavior", AWS Lambda Developer Guide,
   * https://docs.aws.amazon.com/lambda/latest/dg/invocation-eventsourcemapping.html#invocation-eventsourcemapping-batching).
   */
  readonly batchingWindowMs?: number;
}

export interface RunningEventSource {
  stop(): Promise<void>;
}

export function startSqsEventSource(options: SqsEventSourceOptions): RunningEventSource {
  const sqs = new SQSClient({ endpoint: options.endpoint });
  let stopped = false;

  const poll = async () => {
    while (!stopped) {
      try {
        const receive = async (max: number, waitSeconds: number) =>
          (
            await sqs.send(
              new ReceiveMessageCommand({
                QueueUrl: options.queueUrl,
                MaxNumberOfMessages: Math.min(10, max),
                WaitTimeSeconds: waitSeconds,
                MessageSystemAttributeNames: ['All'],
                MessageAttributeNames: ['All'],
              }),
            )
          ).Messages ?? [];
        const Messages = await receive(options.batchSize, 1);
        if (Messages.length === 0 || stopped) continue;
        // With a batching window, the batch gathers until it is full or the window from its first message ends.
        const windowEnds = Date.now() + (options.batchingWindowMs ?? 0);
        while (!stopped && Messages.length < options.batchSize && Date.now() < windowEnds) {
          const waitSeconds = Math.min(1, Math.floor((windowEnds - Date.now()) / 1000));
          Messages.push(...(await receive(options.batchSize - Messages.length, waitSeconds)));
          if (waitSeconds === 0) await new Promise((resolve) => setTimeout(resolve, 50));
        }
        const records = Messages.map((message) => toRecord(message, options.queueArn));
        const failed = await invoke(options, records);
        const succeeded = Messages.filter((message) => !failed.has(message.MessageId ?? ''));
        if (succeeded.length > 0) {
          await sqs.send(
            new DeleteMessageBatchCommand({
              QueueUrl: options.queueUrl,
              Entries: succeeded.map((message, index) => ({
                Id: String(index),
                ReceiptHandle: message.ReceiptHandle as string,
              })),
            }),
          );
        }
      } catch (error) {
        if (stopped) return;
        console.error(`[${options.name}] poll failed: ${error instanceof Error ? error.message : String(error)}`);
        await new Promise((resolve) => setTimeout(resolve, 500));
      }
    }
  };

  const pollers = Array.from({ length: options.pollers ?? 4 }, poll);
  return {
    stop: async () => {
      stopped = true;
      await Promise.all(pollers);
      sqs.destroy();
    },
  };
}

/** Runs the function; returns the ids that failed (all of them when it threw). */
async function invoke(options: SqsEventSourceOptions, records: SQSRecord[]): Promise<Set<string>> {
  try {
    const response = await options.handler({ Records: records }, lambdaContext(options.name, 60_000));
    return new Set((response?.batchItemFailures ?? []).map((failure) => failure.itemIdentifier));
  } catch {
    return new Set(records.map((record) => record.messageId));
  }
}

function toRecord(message: Message, queueArn: string): SQSRecord {
  const system = message.Attributes ?? {};
  const messageAttributes: SQSRecord['messageAttributes'] = {};
  for (const [name, value] of Object.entries(message.MessageAttributes ?? {})) {
    messageAttributes[name] = {
      dataType: value.DataType ?? 'String',
      ...(value.StringValue !== undefined ? { stringValue: value.StringValue } : {}),
      stringListValues: [],
      binaryListValues: [],
    };
  }
  return {
    messageId: message.MessageId ?? randomUUID(),
    receiptHandle: message.ReceiptHandle ?? '',
    body: message.Body ?? '',
    attributes: {
      ApproximateReceiveCount: system.ApproximateReceiveCount ?? '1',
      SentTimestamp: system.SentTimestamp ?? String(Date.now()),
      SenderId: system.SenderId ?? 'local',
      ApproximateFirstReceiveTimestamp: system.ApproximateFirstReceiveTimestamp ?? String(Date.now()),
      ...(system.MessageGroupId ? { MessageGroupId: system.MessageGroupId } : {}),
      ...(system.MessageDeduplicationId ? { MessageDeduplicationId: system.MessageDeduplicationId } : {}),
      ...(system.SequenceNumber ? { SequenceNumber: system.SequenceNumber } : {}),
    },
    messageAttributes,
    md5OfBody: message.MD5OfBody ?? '',
    eventSource: 'aws:sqs',
    eventSourceARN: queueArn,
    awsRegion: queueArn.split(':')[3] ?? 'us-east-1',
  };
}
