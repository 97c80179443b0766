/**
 * The composition root: every use case of the runtime wired to its adapters
 * and clients, once per execution environment, when the function starts.
 * Stock views (and so the sold-out cache) live as long as the environment does.
 *
 * A function bundles only the pieces its handler uses: each piece is built by
 * `wire()`, which the bundler takes as pure, and a module none of whose
 * exports is used is left out (`"sideEffects": false` in package.json) — so
 * the channel applier bundles no checkout, and no API function loads the SQS
 * or SNS client.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { getNumberFromEnv, getStringFromEnv } from '@aws-lambda-powertools/commons/utils/env';
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { ADMISSION_WINDOW_MS, DEFAULT_ADMISSION_UNITS_PER_SECOND } from '../../contract/drops';
import { envVars, parsePlannedShards, parsePlannedViewReplicas } from '../../contract/env-vars';
import { metricNames } from '../../contract/metrics';
import { channels } from '../../contract/topology';
import { KeyValueStoreAdmissions } from '../adapters/admission-tokens';
import { classifyAwsFault } from '../adapters/aws-faults';
import { KeyValueStoreEdgeState, KeyValueStoreJson } from '../adapters/cloudfront-edge-state';
import { DynamoDbChannelViews } from '../adapters/dynamodb-channel-views';
import { DynamoDbFeedbackStore } from '../adapters/dynamodb-feedback-store';
import { DynamoDbInventoryStore } from '../adapters/dynamodb-inventory-store';
import { DynamoDbShedCounts, DynamoDbShedCountWriter } from '../adapters/dynamodb-shed-counts';
import { DynamoDbStockSnapshots } from '../adapters/dynamodb-stock-snapshots';
import { OidcIdentity } from '../adapters/oidc-identity';
import { SimulatedPaymentProvider } from '../adapters/simulated-payment-provider';
import { SimulatedWarehouse } from '../adapters/simulated-warehouse';
import { SnsStockEventTopic, SqsOrderQueue } from '../adapters/sqs-sns-outbox';
import { AdmissionController } from '../domain/admission';
import { ChannelSync } from '../domain/channel-sync';
import { Checkout } from '../domain/checkout';
import { EdgeStates } from '../domain/edge-state';
import { FEEDBACK_COOLDOWN_MS, Feedback } from '../domain/feedback';
import { Fulfilment } from '../domain/fulfilment';
import { Inventory } from '../domain/inventory';
import { ShedReporter } from '../domain/origin-load';
import { Outbox, Snapshots } from '../domain/outbox';
import { Refunds } from '../domain/refunds';
import { StockView } from '../domain/stock-view';
import { READ_MODEL_CHANNEL, Storefront } from '../domain/storefront';
import { documentClient, tableName } from './clients/dynamodb';
import { edgeStoreArn, keyValueStore } from './clients/key-value-store';
import { inventoryTopicArn, ordersQueueUrl, sns, sqs } from './clients/messaging';
import { attemptTimeoutMs } from './clients/request-settings';
import { logger } from './powertools/logger';
import { metrics } from './powertools/metrics';

/** Builds one piece of the wiring. Marked pure where it is called, so an unused piece is not bundled. */
const wire = <T>(build: () => T): T => build();

const clock = { now: Date.now };

/** How long a believed stock level (and so a sold-out answer) is trusted. */
export const STOCK_VIEW_TTL_MS = /* @__PURE__ */ wire(() =>
  getNumberFromEnv({ key: envVars.stockViewTtlMs, defaultValue: 1000 }),
);

export { documentClient, tableName };

export const store = /* @__PURE__ */ wire(() => new DynamoDbInventoryStore(documentClient, tableName));
export const payments = /* @__PURE__ */ wire(() => new SimulatedPaymentProvider(documentClient, tableName));
export const channelViews = /* @__PURE__ */ wire(() => new DynamoDbChannelViews(documentClient, tableName));
export const stockSnapshots = /* @__PURE__ */ wire(() => new DynamoDbStockSnapshots(documentClient, tableName));

export const refunds = /* @__PURE__ */ wire(() => new Refunds({ store, payments, clock }));

export const inventory = /* @__PURE__ */ wire(
  () =>
    new Inventory({
      // Set by the stack from the drop plan; a bad entry stops the function at start rather than being skipped.
      plannedShards: parsePlannedShards(getStringFromEnv({ key: envVars.plannedShards, defaultValue: '' })),
      plannedViewReplicas: parsePlannedViewReplicas(
        getStringFromEnv({ key: envVars.plannedViewReplicas, defaultValue: '' }),
      ),
      isTransientFault: (error) => classifyAwsFault(error) !== undefined,
      store,
      refunds,
      view: new StockView(STOCK_VIEW_TTL_MS, clock.now),
      clock,
      newId: randomUUID,
      sleep,
    }),
);

/** Checkout, and reading an order back. */
export const orders = /* @__PURE__ */ wire(
  () => new Checkout({ store, payment: payments, refunds, clock, newId: randomUUID, sleep }),
);

export const fulfilment = /* @__PURE__ */ wire(
  () => new Fulfilment({ store, warehouse: new SimulatedWarehouse(documentClient, tableName) }),
);

export const storefront = /* @__PURE__ */ wire(
  () => new Storefront({ inventory, views: channelViews, ttlMs: STOCK_VIEW_TTL_MS, clock }),
);

export const channelSync = /* @__PURE__ */ wire(
  () =>
    new ChannelSync({
      inventory,
      store: stockSnapshots,
      views: channelViews,
      channels: channels.map(({ name }) => name),
    }),
);

const inventoryTopic = /* @__PURE__ */ wire(() => new SnsStockEventTopic(sns, inventoryTopicArn));

/** Stock snapshots for the channels: the relay's, the sweeper's reconciliation and the redrive's. */
export const snapshots = /* @__PURE__ */ wire(
  () =>
    new Snapshots({
      products: store,
      store: stockSnapshots,
      topic: inventoryTopic,
      clock,
      reportDrift: (sku, drift, version) => {
        metrics.addMetric(metricNames.ledgerDrift, MetricUnit.Count, drift);
        if (drift > 0) logger.error('Inventory ledger drift', { sku, drift, version });
      },
      reportReconcileFailure: (sku, error) => {
        metrics.addMetric(metricNames.reconcileFailed, MetricUnit.Count, 1);
        logger.warn('Snapshot reconciliation failed; tried again at the next run', {
          sku,
          errorName: error instanceof Error ? error.name : 'unknown',
          errorMessage: error instanceof Error ? error.message : String(error),
        });
      },
    }),
);

/** The outbox relay and the operator's redrive. */
export const outbox = /* @__PURE__ */ wire(
  () => new Outbox({ reader: store, queue: new SqsOrderQueue(sqs, ordersQueueUrl), snapshots, topic: inventoryTopic }),
);

/** The waiting room's admission tokens, checked again at the origin (only the reservation function uses it). */
export const admissions = /* @__PURE__ */ wire(() => new KeyValueStoreAdmissions(keyValueStore, edgeStoreArn, clock));

/**
 * The shop's identity provider, when the stack names one (only the reservation function uses it; the stack
 * checked the configuration at synth). A half or insecure one stops the function at start, rather than
 * taking customers unverified.
 */
export const identity = /* @__PURE__ */ wire(() => OidcIdentity.fromEnv(process.env));

/** How long the controller waits for a room's shed count before the take alone steers that tick. */
const SHED_READ_TIMEOUT_MS = 300;

/** The waiting rooms' boundaries and signing keys, in the edge's KeyValueStore. */
export const admissionController = /* @__PURE__ */ wire(
  () =>
    new AdmissionController({
      values: new KeyValueStoreJson(keyValueStore, edgeStoreArn),
      clock,
      newSecret: () => randomBytes(32).toString('base64url'),
      capacityUnitsPerSecond: getNumberFromEnv({
        key: envVars.admissionCapacity,
        defaultValue: DEFAULT_ADMISSION_UNITS_PER_SECOND,
      }),
      windowMs: getNumberFromEnv({ key: envVars.admissionWindow, defaultValue: ADMISSION_WINDOW_MS / 1000 }) * 1000,
      // A slow table must not stall the tick (every room waits for it): a read gets 300 ms, here and locally
      // alike (DynamoDB Local under a spike answers in seconds: the take alone then steers that tick).
      shedCounts: new DynamoDbShedCounts(documentClient, tableName, { readTimeoutMs: SHED_READ_TIMEOUT_MS }),
      onShedCountError: (sku, error) =>
        logger.warn('Could not read the origin’s shed count; the take alone steers this tick', {
          sku,
          errorName: error instanceof Error ? error.name : 'unknown',
        }),
    }),
);

/**
 * How long the reservation path's count of its refusals may take to write, on the answer's way: a quarter
 * of a second (none where the AWS calls have no attempt timeout: the local runtime's loaded emulators).
 */
const SHED_WRITE_TIMEOUT_MS = 250;

/** The reservation path's refusals for load, counted for the admission controller. */
export const shedReporter = /* @__PURE__ */ wire(
  () =>
    new ShedReporter(
      new DynamoDbShedCountWriter(documentClient, tableName, {
        writeTimeoutMs: attemptTimeoutMs > 0 ? SHED_WRITE_TIMEOUT_MS : 0,
      }),
      clock,
      (error) =>
        logger.warn('Could not count reservation attempts shed for load', {
          errorName: error instanceof Error ? error.name : 'unknown',
        }),
    ),
);

/** Each drop's public state in the edge's KeyValueStore, folded from the inventory topic. */
export const edgeStates = /* @__PURE__ */ wire(
  () =>
    new EdgeStates({
      store: new KeyValueStoreEdgeState(new KeyValueStoreJson(keyValueStore, edgeStoreArn)),
      products: store,
      clock,
    }),
);

/** Shoppers' answers to the drop page's poll, each beside the availability the storefront showed then. */
export const feedback = /* @__PURE__ */ wire(
  () =>
    new Feedback({
      store: new DynamoDbFeedbackStore(documentClient, tableName),
      available: async (sku) => (await storefront.availability(sku)).available,
      requireProduct: (sku) => inventory.product(sku),
      channelLagMs: async (sku) => {
        const [view] = await channelViews.views([READ_MODEL_CHANNEL], sku);
        return view ? Date.parse(view.appliedAt) - Date.parse(view.publishedAt) : undefined;
      },
      clock,
      cooldownMs: FEEDBACK_COOLDOWN_MS,
    }),
);
