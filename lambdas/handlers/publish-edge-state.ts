// (SQS FIFO edge-state queue) --> fold stock snapshots and drop-state changes --> CloudFront KeyValueStore
import { processPartialResponse, SqsFifoPartialProcessorAsync } from '@aws-lambda-powertools/batch';
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { DROP_STATE_EVENT_TYPE } from '../../contract/drops';
import { DropStateEvent } from '../../contract/edge-values';
import { StockEvent } from '../../contract/messages';
import { metricNames } from '../../contract/metrics';
import { edgeStates } from '../shared/composition';
import { eventHandler } from '../shared/event-handler';
import { metrics } from '../shared/powertools/metrics';

const processor = new SqsFifoPartialProcessorAsync();

export async function publishEdgeState(record: SQSRecord): Promise<void> {
  const body = JSON.parse(record.body) as { type?: unknown };
  const news = body.type === DROP_STATE_EVENT_TYPE ? DropStateEvent.parse(body) : StockEvent.parse(body);
  const changed = await edgeStates.apply(news);
  if (changed) {
    // How far behind the news the edge now is: the alarm on the writer's lag reads this.
    metrics.addMetric(metricNames.edgeStateLag, MetricUnit.Milliseconds, Date.now() - Date.parse(news.publishedAt));
  }
}

/** One SKU's messages in order; a failed one holds back the rest of its group (`skipGroupOnError`), not others. */
export async function publishEdgeStates(event: SQSEvent, context: Context): Promise<SQSBatchResponse> {
  return processPartialResponse(event, publishEdgeState, processor, { context, skipGroupOnError: true });
}

export const handler = eventHandler(publishEdgeStates);
