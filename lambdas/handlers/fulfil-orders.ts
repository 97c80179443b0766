// (SQS FIFO orders) --> fulfil each order (idempotent steps) --> partial batch failures
import { processPartialResponse, SqsFifoPartialProcessorAsync } from '@aws-lambda-powertools/batch';
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { OrderPlaced } from '../../contract/messages';
import { metricNames } from '../../contract/metrics';
import { fulfilment } from '../shared/composition';
import { eventHandler } from '../shared/event-handler';
import { metrics } from '../shared/powertools/metrics';

const processor = new SqsFifoPartialProcessorAsync();

export async function fulfilOrder(record: SQSRecord): Promise<void> {
  const message = OrderPlaced.parse(JSON.parse(record.body));
  const outcome = await fulfilment.fulfil(message.orderId);
  metrics.addMetric(
    outcome === 'fulfilled' ? metricNames.ordersFulfilled : metricNames.ordersAlreadyFulfilled,
    MetricUnit.Count,
    1,
  );
}

/** On FIFO, a failure fails its message and the rest of its group in the batch; other groups go on. */
export async function fulfilOrders(event: SQSEvent, context: Context): Promise<SQSBatchResponse> {
  return processPartialResponse(event, fulfilOrder, processor, { context, skipGroupOnError: true });
}

export const handler = eventHandler(fulfilOrders);
