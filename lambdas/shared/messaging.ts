/** SQS and SNS clients and destinations of the change publisher. */
import { SNSClient } from '@aws-sdk/client-sns';
import { SQSClient } from '@aws-sdk/client-sqs';
import { requireEnv } from './env';
import { tracer } from './powertools';

/** Read when first sent to, so a function wired to only one destination (the sweeper: the topic) loads this module. */
export const ordersQueueUrl = () => requireEnv('ORDERS_QUEUE_URL');
export const inventoryTopicArn = () => requireEnv('INVENTORY_TOPIC_ARN');
/** Requests go to the client's endpoint (regional, or `AWS_ENDPOINT_URL_SQS`); a queue URL only names the queue. */
export const sqs = tracer.captureAWSv3Client(new SQSClient({ useQueueUrlAsEndpoint: false }));
export const sns = tracer.captureAWSv3Client(new SNSClient({}));
