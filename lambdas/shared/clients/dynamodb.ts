/** The DynamoDB document client and table of this execution environment. */
import { getStringFromEnv } from '@aws-lambda-powertools/commons/utils/env';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { envVars } from '../../../contract/env-vars';
import { traced } from '../powertools/tracer';
import { requestSettings } from './request-settings';

export const tableName = getStringFromEnv({ key: envVars.tableName });

/**
 * A Lambda environment serves one request at a time, so the socket pool only
 * matters where one process serves many (the local runtime), where queueing
 * for a socket is the expected back-pressure rather than news worth a warning.
 */
const dynamodb = new DynamoDBClient({
  ...requestSettings,
  requestHandler: { ...requestSettings.requestHandler, socketAcquisitionWarningTimeout: 60_000 },
});

export const documentClient = DynamoDBDocumentClient.from(traced(dynamodb), {
  marshallOptions: { removeUndefinedValues: true },
});
