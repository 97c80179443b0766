/**
 * Composition root: one Inventory per execution environment, wired to
 * DynamoDB. Its stock view (and so the sold-out cache) lives as long as the
 * environment does.
 */
import { randomUUID } from 'node:crypto';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { DynamoDbInventoryStore } from '../adapters/dynamodb-inventory-store';
import { Inventory } from '../domain/inventory';
import { StockView } from '../domain/stock-view';
import { numberEnv, requireEnv } from './env';
import { tracer } from './powertools';

/** How long a believed stock level (and so a sold-out answer) is trusted. */
export const STOCK_VIEW_TTL_MS = numberEnv('STOCK_VIEW_TTL_MS', 1000);

/**
 * A Lambda environment serves one request at a time, so the socket pool only
 * matters where one process serves many (the local runtime), where queueing
 * for a socket is the expected back-pressure rather than news worth a warning.
 */
const dynamodb = new DynamoDBClient({
  requestHandler: { socketAcquisitionWarningTimeout: 60_000 },
});

const documentClient = DynamoDBDocumentClient.from(tracer.captureAWSv3Client(dynamodb), {
  marshallOptions: { removeUndefinedValues: true },
});

export const inventory = new Inventory({
  store: new DynamoDbInventoryStore(documentClient, requireEnv('TABLE_NAME')),
  view: new StockView(STOCK_VIEW_TTL_MS, Date.now),
  clock: { now: Date.now },
  newId: randomUUID,
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
});
