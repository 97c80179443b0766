// (SQS FIFO channel queue) --> apply newer stock snapshots to the channel's view --> DynamoDB
import { processPartialResponse, SqsFifoPartialProcessorAsync } from '@aws-lambda-powertools/batch';
import { getStringFromEnv } from '@aws-lambda-powertools/commons/utils/env';
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { envVars } from '../../contract/env-vars';
import { StockEvent } from '../../contract/messages';
import { metricNames } from '../../contract/metrics';
import { channelsByQueueArn } from '../../contract/topology';
import { UnknownChannelError } from '../domain/errors';
import { channelViews } from '../shared/composition';
import { eventHandler } from '../shared/event-handler';
import { metrics } from '../shared/powertools/metrics';

const processor = new SqsFifoPartialProcessorAsync();

/** Queue ARN → channel, as the stack (or the local runtime) wired it; parsed again only when it changes. */
let wired: { readonly raw: string; readonly byArn: ReadonlyMap<string, string> } | undefined;
function channelOfQueue(queueArn: string): string | undefined {
  const raw = getStringFromEnv({ key: envVars.channelQueueArns });
  if (wired?.raw !== raw) wired = { raw, byArn: channelsByQueueArn(raw) };
  return wired.byArn.get(queueArn);
}

export async function applyChannelEvent(record: SQSRecord): Promise<void> {
  const channel = channelOfQueue(record.eventSourceARN);
  if (!channel) throw new UnknownChannelError();
  const event = StockEvent.parse(JSON.parse(record.body));
  const applied = await channelViews.apply(channel, event);
  metrics.addMetric(
    applied ? metricNames.channelSnapshotApplied : metricNames.channelSnapshotSuperseded,
    MetricUnit.Count,
    1,
  );
}

export async function applyChannelEvents(event: SQSEvent, context: Context): Promise<SQSBatchResponse> {
  return processPartialResponse(event, applyChannelEvent, processor, { context, skipGroupOnError: true });
}

export const handler = eventHandler(applyChannelEvents);
