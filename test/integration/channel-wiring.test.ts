/**
 * The channel applier learns a queue's channel from the configuration the
 * stack wires (CHANNEL_QUEUE_ARNS), never from the queue's name: deployed
 * names are CloudFormation's, not the local runtime's.
 *
 * Run on a copy of the app's assembly whose channel queues carry names of
 * CloudFormation's generated form (`<stack>-<logicalId>-<SUFFIX>.fifo`, the
 * suffix new on every run, so no name is known when the app is synthesized):
 * none ends in `-channel-<name>.fifo`. Everything else is the assembly's:
 * its subscriptions, mappings, bundled applier and the environment its
 * template gives it.
 */
import { randomBytes } from 'node:crypto';
import { SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { envVars } from '../../contract/env-vars';
import { type ChannelSpec, channelQueue, channels } from '../../contract/topology';
import { ApiClient } from '../../local/api-client';
import { eventually } from '../support/eventually';
import { type AssemblyTemplate, type AssemblyTestStack, resourceNamed, startTestStack } from '../support/local-stack';

interface ChannelsView {
  readonly version: number;
  readonly available: number;
  readonly channels: { channel: string; version: number | null; available: number | null; synced: boolean }[];
}

/** The name the unedited assembly gives a channel's queue: the one a local convention could guess. */
const STACK = 'Dropline-Stateful';
const conventionalName = (channel: ChannelSpec) => `${STACK}-${channelQueue(channel).name}.fifo`;

let stack: AssemblyTestStack;
let api: ApiClient;
let sqs: SQSClient;
/** Each channel's queue, as the assembly created it. */
let queues: Map<string, { url: string; arn: string; name: string }>;

/** Every string in `value` with `from` replaced by `to`, in place. */
function renameIn(value: unknown, from: string, to: string): unknown {
  if (typeof value === 'string') return value.split(from).join(to);
  if (Array.isArray(value)) return value.map((item) => renameIn(item, from, to));
  if (value && typeof value === 'object') {
    for (const [key, item] of Object.entries(value)) (value as Record<string, unknown>)[key] = renameIn(item, from, to);
  }
  return value;
}

/** Gives each channel queue a name of CloudFormation's generated form, everywhere the templates name it. */
function generatedChannelQueueNames(templates: Readonly<Record<string, AssemblyTemplate>>): void {
  const stateful = templates[STACK];
  if (!stateful) throw new Error(`the assembly holds no ${STACK} stack`);
  for (const channel of channels) {
    const named = conventionalName(channel);
    const entry = Object.entries(stateful.Resources).find(
      ([, resource]) => resource.Type === 'AWS::SQS::Queue' && resource.Properties?.QueueName === named,
    );
    if (!entry) throw new Error(`no queue is named ${named}: the edit no longer applies to the app`);
    const generated = `${STACK}-${entry[0]}-${randomBytes(6).toString('hex').toUpperCase()}.fifo`;
    // The queue's name, and its dead-letter queue's policy naming it as its one source.
    for (const template of Object.values(templates)) renameIn(template, named, generated);
  }
}

beforeAll(async () => {
  stack = await startTestStack({ edit: generatedChannelQueueNames });
  api = new ApiClient(stack.url, stack.adminKey);
  sqs = new SQSClient({ endpoint: stack.endpoints.sqs });
  queues = new Map(
    channels.map((channel) => {
      const queue = resourceNamed(stack, 'AWS::SQS::Queue', `Channel${channel.name}Queue`);
      return [
        channel.name,
        { url: queue.ref, arn: queue.attributes.Arn as string, name: queue.attributes.QueueName as string },
      ];
    }),
  );
}, 300_000);

afterAll(async () => {
  sqs?.destroy();
  await api?.close();
  await stack?.stop();
});

const snapshot = (sku: string, version: number, available: number) => ({
  schema: 'dropline.inventory.stock.v1',
  type: 'stock-changed',
  sku,
  version,
  supplied: available + 3,
  available,
  held: 3,
  sold: 0,
  reasons: ['reserved'],
  publishedAt: new Date().toISOString(),
});

const channelsOf = async (sku: string) =>
  (await api.call<ChannelsView>('GET', `/admin/products/${sku}/channels`, { admin: true })).body;

/** A product, created through the API, whose every channel view the stream has brought to the truth. */
async function syncedProduct(prefix: string): Promise<{ sku: string; version: number }> {
  const sku = `${prefix}-${randomBytes(4).toString('hex')}`;
  expect((await api.putProduct(sku, { name: sku, priceCents: 500, stock: 10, maxPerCustomer: 2 })).status).toBe(201);
  return eventually(async () => {
    const view = await channelsOf(sku);
    expect(view.channels.map(({ channel, synced, available }) => [channel, synced, available])).toEqual(
      channels.map((channel) => [channel.name, true, 10]),
    );
    return { sku, version: view.version };
  });
}

test("the assembly's channel queues carry no -channel-<name>.fifo name, and the applier runs with exactly them, by ARN, each for its channel", () => {
  for (const [channel, queue] of queues) {
    expect(queue.name).not.toMatch(/-channel-[a-z]+\.fifo$/);
    expect(queue.name).toMatch(new RegExp(`^${STACK}-Channel${channel}Queue[0-9A-F]{8}-[0-9A-F]{12}\\.fifo$`));
  }
  const wired = JSON.parse(stack.environment('ApplyChannelEvents')[envVars.channelQueueArns] ?? 'null');
  expect(wired).toEqual(Object.fromEntries([...queues].map(([channel, queue]) => [channel, queue.arn])));
  // The assembly holds no other channel queue the map could have left out.
  const channelQueues = stack.resources('AWS::SQS::Queue').filter(({ id }) => /\.Channel[a-z]+Queue/.test(id));
  expect(channelQueues.map(({ attributes }) => attributes.Arn).sort()).toEqual(Object.values(wired).sort());
});

test('a snapshot sent to a queue whose name does not end in -channel-<name>.fifo is applied to the channel it is wired to, and to no other', async () => {
  // The stream's own snapshots reached every channel through those queues (the wait above, in syncedProduct).
  const product = await syncedProduct('wiring');
  const marketplace = queues.get('marketplace');
  if (!marketplace) throw new Error('no marketplace queue');
  const version = product.version + 100;
  await sqs.send(
    new SendMessageCommand({
      QueueUrl: marketplace.url,
      MessageBody: JSON.stringify(snapshot(product.sku, version, 7)),
      MessageGroupId: product.sku,
      MessageDeduplicationId: `${product.sku}:${version}`,
    }),
  );

  const views = await eventually(async () => {
    const { channels: found } = await channelsOf(product.sku);
    expect(found.find((view) => view.channel === 'marketplace')).toMatchObject({ version, available: 7 });
    return found;
  });
  expect(views.map(({ channel, version: at, available }) => [channel, at, available])).toEqual(
    channels.map((channel) =>
      channel.name === 'marketplace' ? [channel.name, version, 7] : [channel.name, product.version, 10],
    ),
  );
});

test('a record from a queue wired to no channel fails, and is never applied to a guessed channel', async () => {
  const product = await syncedProduct('wiring-none');
  const warehouse = queues.get('warehouse');
  if (!warehouse) throw new Error('no warehouse queue');
  // The queue the warehouse's would be under the local convention: same region and account, not wired.
  const warehouseSpec = channels.find((channel) => channel.name === 'warehouse') as ChannelSpec;
  const guessable = `${warehouse.arn.slice(0, warehouse.arn.lastIndexOf(':') + 1)}${conventionalName(warehouseSpec)}`;
  const version = product.version + 100;
  const event = (eventSourceARN: string) => ({
    Records: [
      {
        messageId: `unwired-${randomBytes(4).toString('hex')}`,
        receiptHandle: 'unwired',
        eventSource: 'aws:sqs',
        eventSourceARN,
        awsRegion: 'us-east-1',
        body: JSON.stringify(snapshot(product.sku, version, 7)),
        attributes: { MessageGroupId: product.sku, MessageDeduplicationId: `${product.sku}:${version}` },
        messageAttributes: {},
        md5OfBody: '',
      },
    ],
  });

  // Every record failed: Powertools fails the whole invocation, so the message returns and reaches the DLQ.
  await expect(stack.invoke('ApplyChannelEvents', event(guessable))).rejects.toThrow('All records failed');
  expect((await channelsOf(product.sku)).channels.map(({ version: at }) => at)).toEqual(
    channels.map(() => product.version),
  );

  // The same record from the queue the stack wired to the warehouse applies there, and only there.
  await expect(stack.invoke('ApplyChannelEvents', event(warehouse.arn))).resolves.toEqual({ batchItemFailures: [] });
  expect((await channelsOf(product.sku)).channels.map(({ channel, version: at }) => [channel, at])).toEqual(
    channels.map((channel) => [channel.name, channel.name === 'warehouse' ? version : product.version]),
  );
});
