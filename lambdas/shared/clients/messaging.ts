/** The SQS and SNS clients and the destinations of the outbox. */
import { getStringFromEnv } from '@aws-lambda-powertools/commons/utils/env';
import { SNSClient } from '@aws-sdk/client-sns';
import { SQSClient } from '@aws-sdk/client-sqs';
import { envVars } from '../../../contract/env-vars';
import { traced } from '../powertools/tracer';
import { requestSettings } from './request-settings';

/** Read when first sent to, so a function wired to only one destination (the sweeper: the topic) still sends to it. */
export const ordersQueueUrl = () => getStringFromEnv({ key: envVars.ordersQueueUrl });
export const inventoryTopicArn = () => getStringFromEnv({ key: envVars.inventoryTopicArn });
/** Requests go to the client's endpoint (regional, or `AWS_ENDPOINT_URL_SQS`); a queue URL only names the queue. */
export const sqs = traced(new SQSClient({ ...requestSettings, useQueueUrlAsEndpoint: false }));
export const sns = traced(new SNSClient(requestSettings));
