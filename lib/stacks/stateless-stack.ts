/**
 * What can be replaced at will: the functions, the API, the event source
 * mappings, the expiry schedule and the hot path's scaling. Everything it
 * touches comes in through typed props from the stateful stack.
 */
import { CfnOutput, Duration, RemovalPolicy, Stack, type StackProps, Validations } from 'aws-cdk-lib';
import { KeyValueStore } from 'aws-cdk-lib/aws-cloudfront';
import type { TableV2 } from 'aws-cdk-lib/aws-dynamodb';
import { PolicyStatement, Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { type CfnFunction, FilterCriteria, type IFunction, StartingPosition } from 'aws-cdk-lib/aws-lambda';
import { DynamoEventSource, SqsDlq, SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import { Schedule, ScheduleExpression } from 'aws-cdk-lib/aws-scheduler';
import { LambdaInvoke } from 'aws-cdk-lib/aws-scheduler-targets';
import { Secret } from 'aws-cdk-lib/aws-secretsmanager';
import type { ITopic } from 'aws-cdk-lib/aws-sns';
import type { IQueue } from 'aws-cdk-lib/aws-sqs';
import type { Construct } from 'constructs';
import { envVars, plannedShardsValue, plannedViewReplicasValue } from '../../contract/env-vars';
import type { IdentityConfig } from '../../contract/identity';
import { PLANNED_WAITING_ROOMS, plannedWaitingRoomsValue } from '../../contract/planned-rooms';
import { apiRoutes, type HandlerName } from '../../contract/routes';
import {
  type ConsumerHandler,
  channelQueue,
  channels,
  consumerTimeoutSeconds,
  edgeStateQueue,
  eventSourceMappings,
  ordersQueue,
  streamConsumer,
  VISIBILITY_TIMEOUT_PER_FUNCTION_TIMEOUT,
} from '../../contract/topology';
import type { Capacity } from '../config/capacity';
import type { OriginSecretVersions, PinnedVersions } from '../config/settings';
import { DropApi } from '../constructs/drop-api';
import { DroplineFunction } from '../constructs/dropline-function';
import type { FifoQueueWithDlq } from '../constructs/fifo-queue';
import {
  type TableAccess,
  useChannelQueues,
  useInventoryTable,
  useInventoryTopic,
  useOrdersQueue,
} from '../constructs/grants';
import { OriginGuard, originSecretReferences } from '../constructs/origin-guard';
import { ProvisionedForDrops } from '../constructs/provisioned-for-drops';

export type FunctionName =
  | HandlerName
  | ConsumerHandler
  | 'publish-changes'
  | 'expire-holds'
  | 'advance-admission'
  | 'redrive-outbox';

interface FunctionSpec {
  readonly description: string;
  readonly table: TableAccess;
  readonly timeout?: Duration;
  /** Behind a `live` alias with provisioned concurrency: its published versions are kept (see ProvisionedForDrops). */
  readonly aliased?: true;
  readonly reservedConcurrency?: number;
}

/**
 * Every function and what it may do with the table, by partition key prefix:
 * the least-privilege matrix in one place (docs/reliability.md, least privilege).
 */
const functionSpecs: Readonly<Record<FunctionName, FunctionSpec>> = {
  'get-product': {
    description: 'GET /products/{sku}: availability from the storefront read model',
    table: { reads: 'any' },
  },
  'create-reservation': {
    description: 'POST /products/{sku}/reservations: the hot path',
    aliased: true,
    // LOAD#: the attempts it refused for load, counted for the admission controller.
    table: { reads: 'any', writes: ['STOCK#', 'LIMIT#', 'RESERVATION#', 'IDEMPOTENCY#', 'LOAD#'] },
  },
  'get-reservation': { description: 'GET /reservations/{id}', table: { reads: ['RESERVATION#'] } },
  'release-reservation': {
    description: 'DELETE /reservations/{id}: units back to stock',
    table: { reads: 'any', writes: ['RESERVATION#', 'STOCK#', 'LIMIT#', 'REFUND#', 'CHARGE#'] },
  },
  'checkout-reservation': {
    description: 'POST /reservations/{id}/checkout: charge, confirm, order',
    aliased: true,
    table: { reads: 'any', writes: ['CHARGE#', 'RESERVATION#', 'STOCK#', 'ORDER#', 'REFUND#'] },
  },
  'get-order': { description: 'GET /orders/{orderId}', table: { reads: ['ORDER#'] } },
  'get-channels': {
    description: 'GET /admin/products/{sku}/channels: channel views against the ledger',
    table: { reads: 'any' },
  },
  'put-product': {
    description: 'PUT /admin/products/{sku}: create or update a product',
    table: { reads: 'any', writes: ['PRODUCT#', 'STOCK#', 'PRODUCTPUT#'] },
  },
  'restock-product': {
    description: 'POST /admin/products/{sku}/restock',
    table: { reads: 'any', writes: ['STOCK#', 'RESTOCK#'] },
  },
  'get-ledger': { description: 'GET /admin/products/{sku}/ledger', table: { reads: 'any' } },
  'post-feedback': {
    description: "POST /products/{sku}/feedback: a shopper's answer to the page's poll",
    // Reads availability as the storefront does, to keep beside the answer.
    table: { reads: 'any', writes: ['FEEDBACK#'] },
  },
  'get-feedback': {
    description: 'GET /admin/products/{sku}/feedback: the poll, counted',
    table: { reads: ['FEEDBACK#', 'PRODUCT#'] },
  },
  'control-drop': {
    description: 'POST /admin/drops/{sku}/pause|resume|close: the operator controls a drop',
    table: { reads: 'any', writes: ['PRODUCT#'] },
  },
  health: { description: 'GET /health: the Route 53 health check target', table: { reads: ['PRODUCT#'] } },
  'expire-holds': {
    description: 'sweeps expired holds back to stock, every second for a minute per invocation',
    table: {
      reads: 'any',
      // Ends holds, settles owed refunds, and rebuilds each SKU's snapshot and stock vector from its shards.
      writes: ['RESERVATION#', 'STOCK#', 'LIMIT#', 'REFUND#', 'CHARGE#', 'SNAPSHOT#', 'STOCKVIEW#'],
      queries: ['holdsByExpiry'],
    },
    timeout: Duration.seconds(70),
  },
  'advance-admission': {
    description: "moves each waiting room's admission boundary and keeps its signing keys, every second",
    // Works on the edge's KeyValueStore; from the table it reads only the origin's shed counts.
    table: { reads: ['LOAD#'] },
    timeout: Duration.seconds(70),
    // One controller at a time: a run that overlaps the next (a slow tick) would rotate the keys twice.
    reservedConcurrency: 1,
  },
  'publish-changes': {
    description: 'the outbox relay: stream → orders queue and inventory topic',
    // Folds the shard images the stream carries into the SKU's snapshot and stock-vector items; never writes stock.
    table: { reads: 'any', writes: ['SNAPSHOT#', 'STOCKVIEW#'] },
    timeout: Duration.seconds(30),
  },
  'redrive-outbox': {
    description: 'operator: resends PLACED orders and a snapshot per SKU after a lost stream range',
    table: { reads: 'any', writes: ['SNAPSHOT#', 'STOCKVIEW#'], scan: true },
    timeout: Duration.minutes(15),
  },
  'fulfil-orders': {
    description: 'orders queue → warehouse dispatch',
    table: { reads: ['ORDER#'], writes: ['ORDER#', 'DISPATCH#'] },
    timeout: Duration.seconds(consumerTimeoutSeconds['fulfil-orders']),
  },
  'publish-edge-state': {
    description: "inventory events → each drop's public state in the edge's KeyValueStore",
    // Reads a product the edge has not seen yet.
    table: { reads: ['PRODUCT#'] },
    timeout: Duration.seconds(consumerTimeoutSeconds['publish-edge-state']),
  },
  'apply-channel-events': {
    description: 'inventory events → each channel view',
    table: { reads: ['CHANNEL#'], writes: ['CHANNEL#'] },
    timeout: Duration.seconds(consumerTimeoutSeconds['apply-channel-events']),
  },
};

export interface StatelessStackProps extends StackProps {
  readonly table: TableV2;
  readonly ordersQueue: FifoQueueWithDlq;
  readonly channelQueues: ReadonlyMap<string, FifoQueueWithDlq>;
  readonly inventoryTopic: ITopic;
  readonly streamFailures: IQueue;
  readonly edgeStateQueue: FifoQueueWithDlq;
  readonly capacity: Capacity;
  /** Regions that must read the origin secret too (the edge, when it is elsewhere). */
  readonly originSecretReplicaRegions: readonly string[];
  /** The origin secret's versions named in context: the API accepts them, the edge sends the current one. */
  readonly originSecretVersions: OriginSecretVersions;
  /** Versions the drop paths' aliases stay on (unset: the version this deploy publishes). */
  readonly pinnedVersions?: PinnedVersions;
  /** The shop's OpenID Connect provider: the reservation function verifies shoppers' tokens against it. */
  readonly identity?: IdentityConfig | undefined;
}

export class StatelessStack extends Stack {
  readonly functions: ReadonlyMap<FunctionName, DroplineFunction>;
  readonly reservations: ProvisionedForDrops;
  readonly checkouts: ProvisionedForDrops;
  readonly dropApi: DropApi;
  readonly originSecretName: string;
  /** The origin header value CloudFront must send: one of the values the origin guard accepts, character for character. */
  readonly originHeaderValue: string;
  /** Each drop's public state, read by the edge function (`edge/admission.js`) and kept by the edge-state writer. */
  readonly edgeStore: KeyValueStore;

  constructor(scope: Construct, id: string, props: StatelessStackProps) {
    super(scope, id, props);
    const functions = new Map<FunctionName, DroplineFunction>();
    for (const [name, spec] of Object.entries(functionSpecs) as [FunctionName, FunctionSpec][]) {
      const fn = new DroplineFunction(this, pascal(name), {
        handler: name,
        description: spec.description,
        ...(spec.timeout ? { timeout: spec.timeout } : {}),
        ...(spec.aliased ? { retainVersions: true } : {}),
        ...(spec.reservedConcurrency ? { reservedConcurrency: spec.reservedConcurrency } : {}),
      });
      useInventoryTable(fn, props.table, spec.table);
      functions.set(name, fn);
    }
    this.functions = functions;
    const fn = (name: FunctionName) => functions.get(name) as DroplineFunction;

    fn('put-product')
      .addEnvironment(envVars.plannedShards, plannedShardsValue(props.capacity.shardsBySku))
      .addEnvironment(envVars.plannedViewReplicas, plannedViewReplicasValue(props.capacity.viewReplicasBySku))
      // The plan's drops whose peak asks more than the stock path absorbs start with their waiting room on.
      .addEnvironment(PLANNED_WAITING_ROOMS, plannedWaitingRoomsValue(props.capacity.waitingRoomSkus));
    fn('expire-holds').addEnvironment(envVars.sweepForSeconds, '55');
    for (const outbox of ['publish-changes', 'redrive-outbox'] as const) {
      useOrdersQueue(fn(outbox), props.ordersQueue.queue);
      useInventoryTopic(fn(outbox), props.inventoryTopic);
    }
    // The sweeper republishes snapshots it rebuilt from the shards (it sends no orders).
    useInventoryTopic(fn('expire-holds'), props.inventoryTopic);

    this.reservations = new ProvisionedForDrops(this, 'Reservations', {
      fn: fn('create-reservation'),
      pinnedVersion: props.pinnedVersions?.reservation,
      capacity: props.capacity.reservation,
    });
    this.checkouts = new ProvisionedForDrops(this, 'Checkouts', {
      fn: fn('checkout-reservation'),
      pinnedVersion: props.pinnedVersions?.checkout,
      capacity: props.capacity.checkout,
    });

    this.wireEventSources(props, fn);

    // A CloudFront resource, global like the distribution that reads it.
    this.edgeStore = new KeyValueStore(this, 'EdgeState', {
      comment: "dropline: each drop's public state, for the edge function",
    });
    // The KeyValueStore API's actions on this one store ("Actions, resources, and condition keys for Amazon
    // CloudFront KeyValueStore", Service Authorization Reference): each function only the ones it calls.
    const useEdgeStore = (name: FunctionName, actions: readonly string[]) => {
      fn(name).addEnvironment(envVars.edgeStoreArn, this.edgeStore.keyValueStoreArn);
      fn(name).addToRolePolicy(
        new PolicyStatement({
          actions: actions.map((action) => `cloudfront-keyvaluestore:${action}`),
          resources: [this.edgeStore.keyValueStoreArn],
        }),
      );
    };
    useEdgeStore('publish-edge-state', ['DescribeKeyValueStore', 'GetKey', 'PutKey']);
    useEdgeStore('advance-admission', ['DescribeKeyValueStore', 'GetKey', 'PutKey', 'ListKeys']);
    // The reservation path reads the signing keys, to check an admission token again.
    useEdgeStore('create-reservation', ['GetKey']);
    if (props.identity) {
      // Reads the provider's public keys over HTTPS (no AWS permission); a half configuration never reaches here.
      fn('create-reservation')
        .addEnvironment(envVars.identityIssuer, props.identity.issuer)
        .addEnvironment(envVars.identityAudience, props.identity.audience)
        .addEnvironment(envVars.identityJwksUri, props.identity.jwksUri);
    }
    fn('advance-admission').addEnvironment(envVars.sweepForSeconds, '55');
    const sweeper = fn('expire-holds');
    const schedulerRole = new Role(this, 'ExpirySweepRole', {
      assumedBy: new ServicePrincipal('scheduler.amazonaws.com'),
      description: 'EventBridge Scheduler: invoke the expiry sweep, nothing else',
    });
    new Schedule(this, 'ExpirySweep', {
      description: 'returns expired holds to stock (the function sweeps every second within each run)',
      schedule: ScheduleExpression.rate(Duration.minutes(1)),
      target: new LambdaInvoke(sweeper, { role: schedulerRole }),
    });
    Validations.of(schedulerRole).acknowledge({
      id: `AwsSolutions-IAM5[Resource::<${this.getLogicalId(sweeper.node.defaultChild as CfnFunction)}.Arn>:*]`,
      reason: "the scheduler target's grant covers the sweep function's versions (`:*`); it is still that one function",
    });
    const controller = fn('advance-admission');
    const controllerRole = new Role(this, 'AdmissionTickRole', {
      assumedBy: new ServicePrincipal('scheduler.amazonaws.com'),
      description: 'EventBridge Scheduler: invoke the admission controller, nothing else',
    });
    new Schedule(this, 'AdmissionTick', {
      description: "moves the waiting rooms' admission boundaries (the function ticks every second within each run)",
      schedule: ScheduleExpression.rate(Duration.minutes(1)),
      target: new LambdaInvoke(controller, { role: controllerRole }),
    });
    Validations.of(controllerRole).acknowledge({
      id: `AwsSolutions-IAM5[Resource::<${this.getLogicalId(controller.node.defaultChild as CfnFunction)}.Arn>:*]`,
      reason: "the scheduler target's grant covers the controller's versions (`:*`); it is still that one function",
    });

    const drops = new Map<HandlerName, IFunction>([
      ['create-reservation', this.reservations.alias],
      ['checkout-reservation', this.checkouts.alias],
    ]);
    const integrations = new Map<HandlerName, IFunction>(
      apiRoutes.map((route) => [route.handler, drops.get(route.handler) ?? fn(route.handler)]),
    );
    this.dropApi = new DropApi(this, 'DropApi', { integrations, capacity: props.capacity });

    new CfnOutput(this, 'RedriveFunctionName', {
      value: fn('redrive-outbox').functionName,
      description: "after a lost stream range: aws lambda invoke --function-name <name> --payload '{}' out.json",
    });
    new CfnOutput(this, 'AdminApiKeyId', {
      value: this.dropApi.adminKey.keyId,
      description: 'aws apigateway get-api-key --include-value --api-key <id> --query value --output text',
    });

    this.originSecretName = `${id}/cloudfront-origin`;
    const originSecret = new Secret(this, 'OriginSecret', {
      secretName: this.originSecretName,
      description: 'the header value CloudFront adds to every API request; the API refuses requests without it',
      generateSecretString: { excludePunctuation: true, passwordLength: 48 },
      replicaRegions: props.originSecretReplicaRegions.map((region) => ({ region })),
      // Retained with the data: CloudFront and the edge WAF keep reading it while the edge stack stands.
      removalPolicy: RemovalPolicy.RETAIN,
    });
    Validations.of(originSecret).acknowledge({
      id: 'AwsSolutions-SMG4',
      reason:
        'rotating it needs the API and CloudFront to change their versioned references in order; an operator rotates it with originSecretVersion (docs/deploy.md)',
    });
    const references = originSecretReferences(this.originSecretName, props.originSecretVersions);
    this.originHeaderValue = references.sent;
    const guard = new OriginGuard(this, 'OriginGuard', {
      stageArn: this.dropApi.api.deploymentStage.stageArn,
      accepted: references.accepted,
    });
    // The references name the secret, not its resource: the web ACL must wait for the secret to exist.
    guard.node.addDependency(originSecret);
  }

  private wireEventSources(props: StatelessStackProps, fn: (name: FunctionName) => DroplineFunction): void {
    const queues = new Map<string, FifoQueueWithDlq>([
      [ordersQueue.name, props.ordersQueue],
      [edgeStateQueue.name, props.edgeStateQueue],
      ...channels.map(
        (channel) => [channelQueue(channel).name, props.channelQueues.get(channel.name)] as [string, FifoQueueWithDlq],
      ),
    ]);
    for (const mapping of eventSourceMappings) {
      const queue = queues.get(mapping.queue);
      if (!queue) throw new Error(`no queue ${mapping.queue} for ${mapping.handler}`);
      const consumer = fn(mapping.handler);
      const timeout = consumer.timeout?.toSeconds() ?? 3;
      if (queue.visibilityTimeout.toSeconds() < VISIBILITY_TIMEOUT_PER_FUNCTION_TIMEOUT * timeout) {
        throw new Error(
          `queue ${mapping.queue}: visibility timeout ${queue.visibilityTimeout.toSeconds()} s is under ${VISIBILITY_TIMEOUT_PER_FUNCTION_TIMEOUT} × ${mapping.handler}'s ${timeout} s`,
        );
      }
      consumer.addEventSource(
        new SqsEventSource(queue.queue, {
          batchSize: mapping.batchSize,
          reportBatchItemFailures: true,
          ...(mapping.maxConcurrency ? { maxConcurrency: mapping.maxConcurrency } : {}),
        }),
      );
    }
    // The applier learns each queue's channel from here, never from a queue's name.
    useChannelQueues(
      fn('apply-channel-events'),
      new Map(
        channels.map((channel) => [channel.name, (queues.get(channelQueue(channel).name) as FifoQueueWithDlq).queue]),
      ),
    );
    fn(streamConsumer.handler).addEventSource(
      new DynamoEventSource(props.table, {
        startingPosition: StartingPosition.TRIM_HORIZON,
        batchSize: streamConsumer.batchSize,
        // No batching window: Lambda polls each stream shard 4 times a second and "by default ... invokes
        // your function as soon as records are available" ("Polling and batching streams", Using AWS Lambda
        // with Amazon DynamoDB, https://docs.aws.amazon.com/lambda/latest/dg/with-ddb.html). A window would
        // hold the sell-out's news back from the edge for up to its length (the smallest is 1 s); the
        // capacity plan prices the relay's invocations at that polling rate (`relayPollsPerSecond`).
        bisectBatchOnError: true,
        retryAttempts: streamConsumer.retryAttempts,
        maxRecordAge: Duration.seconds(streamConsumer.maxRecordAgeSeconds),
        filters: [FilterCriteria.filter(streamConsumer.filterPattern)],
        onFailure: new SqsDlq(props.streamFailures),
      }),
    );
  }
}

const pascal = (name: string) => name.replace(/(^|-)([a-z])/g, (_, __, letter: string) => letter.toUpperCase());
