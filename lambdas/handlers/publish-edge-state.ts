// (SQS FIFO edge-state queue) --> fold stock snapshots and drop-state changes --> CloudFront KeyValueStore
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import type { SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { DROP_STATE_EVENT_TYPE } from '../../contract/drops';
import { DropStateEvent } from '../../contract/edge-values';
import { StockEvent } from '../../contract/messages';
import { metricNames } from '../../contract/metrics';
import type { EdgeNews } from '../domain/edge-state';
import { edgeStates } from '../shared/composition';
import { eventHandler } from '../shared/event-handler';
import { logger } from '../shared/powertools/logger';
import { metrics } from '../shared/powertools/metrics';

function parse(record: SQSRecord): EdgeNews {
  const body = JSON.parse(record.body) as { type?: unknown };
  return body.type === DROP_STATE_EVENT_TYPE ? DropStateEvent.parse(body) : StockEvent.parse(body);
}

/**
 * One batch: each message group (one SKU's news, in order) is folded into the edge's value with one read and
 * one write. A message that does not parse fails with the rest of its group after it (FIFO order: nothing
 * of a SKU is applied past a message that has not been), and what came before it in the group still
 * applies; a write that fails fails its whole group, to come back after the visibility timeout — applying
 * news again changes nothing. Other groups go on.
 */
export async function publishEdgeStates(event: SQSEvent): Promise<SQSBatchResponse> {
  const groups = new Map<string, SQSRecord[]>();
  for (const record of event.Records) {
    // A message without a group (not from a FIFO queue) is a group of its own, as Powertools' processor has it.
    const group = record.attributes?.MessageGroupId ?? record.messageId;
    const members = groups.get(group);
    if (members) members.push(record);
    else groups.set(group, [record]);
  }
  const failed: string[] = [];
  for (const records of groups.values()) {
    const news: EdgeNews[] = [];
    let broken = records.length;
    for (const [index, record] of records.entries()) {
      try {
        news.push(parse(record));
      } catch (error) {
        logger.error('Edge news that does not parse; it and the rest of its group fail', {
          messageId: record.messageId,
          errorName: error instanceof Error ? error.name : 'unknown',
        });
        broken = index;
        break;
      }
    }
    try {
      for (const sku of new Set(news.map((piece) => piece.sku))) {
        const applied = await edgeStates.applyAll(news.filter((piece) => piece.sku === sku));
        // How far behind each piece of news the edge was when it held it: the alarm on the writer's lag reads this.
        for (const piece of applied) {
          metrics.addMetric(
            metricNames.edgeStateLag,
            MetricUnit.Milliseconds,
            Date.now() - Date.parse(piece.publishedAt),
          );
        }
      }
      failed.push(...records.slice(broken).map((record) => record.messageId));
    } catch (error) {
      logger.warn('Writing the edge state failed; the group comes back', {
        errorName: error instanceof Error ? error.name : 'unknown',
        messages: records.length,
      });
      failed.push(...records.map((record) => record.messageId));
    }
  }
  return { batchItemFailures: failed.map((itemIdentifier) => ({ itemIdentifier })) };
}

export const handler = eventHandler(publishEdgeStates);
