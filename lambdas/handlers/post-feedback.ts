// (API Gateway) --> a shopper's answer to the poll --> DynamoDB transaction (the answer + its counts)
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import * as z from 'zod/mini';
import { metricNames } from '../../contract/metrics';
import { FeedbackBody, skuPath, withBody } from '../../contract/requests';
import { feedback } from '../shared/composition';
import { type HttpResult, httpApi, json } from '../shared/http';
import { metrics } from '../shared/powertools/metrics';
import { feedbackView } from '../shared/representations';

const Request = z.extend(skuPath, withBody(FeedbackBody));

/** 201 for a first answer; 200 when it replaces the customer's earlier answer about the same outcome. */
export async function postFeedback(event: z.infer<typeof Request>): Promise<HttpResult> {
  const { answer, replaced } = await feedback.answer({ sku: event.pathParameters.sku, ...event.body });
  metrics.addMetric(metricNames.feedbackReceived, MetricUnit.Count, 1);
  metrics.addMetric(metricNames.shopperRating, MetricUnit.Count, answer.rating);
  if (answer.reasons.includes('STOCK_WRONG')) metrics.addMetric(metricNames.stockLookedWrong, MetricUnit.Count, 1);
  return json(replaced ? 200 : 201, feedbackView(answer));
}

export const handler = httpApi(Request, postFeedback);
