/**
 * Parity by construction: the app's own cloud assembly, run by the local runtime on emulators of its own,
 * with a drop driven through its API, carries traffic on every wire its templates declare: each event
 * source mapping (the table's stream, every queue with a consumer) delivers to its function, each SNS
 * subscription reaches a queue that a mapping drains, and each schedule runs its function. The wires are
 * read from the templates, so a mapping, subscription or schedule added to the app without traffic here
 * fails this test rather than drifting unnoticed; a queue that only a local convention would name (the
 * channel defect this replaced a hand-wired comparison for) never delivers, and fails it too.
 */
import { randomBytes } from 'node:crypto';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ApiClient, attemptKey } from '../../local/api-client';
import { type CloudAssembly, readCloudAssembly, resourcesOf } from '../../local/assembly/cloud-assembly';
import { ownAssembly } from '../../local/assembly/own-assembly';
import { type RunningAssembly, startAssemblyStack } from '../../local/assembly/run';
import { eventually } from '../support/eventually';
import { expectBalanced } from '../support/ledger';

let ownDir: string;
let assembly: CloudAssembly;
let stack: RunningAssembly | undefined;
let api: ApiClient;
const cleanups: Array<() => Promise<void> | void> = [];

/** The assembly in `dir` running on emulators of its own: another test's assembly on the shared ones would poll the same queues. */
async function run(dir: string): Promise<{ stack: RunningAssembly; api: ApiClient }> {
  const running = await startAssemblyStack({
    assemblyDir: dir,
    adminKey: `test-admin-${randomBytes(8).toString('hex')}`,
    port: 0,
    functionLogs: 'discard',
  });
  const client = new ApiClient(running.url, running.adminKey);
  cleanups.push(async () => {
    await client.close();
    await running.stop();
  });
  return { stack: running, api: client };
}

beforeAll(async () => {
  ownDir = (await ownAssembly()).dir;
  assembly = readCloudAssembly(ownDir);
  ({ stack, api } = await run(ownDir));
}, 300_000);

afterAll(async () => {
  for (const cleanup of cleanups) await cleanup();
});

/** `stack.logicalId` of the template's resources of this type. */
function wires(type: string): string[] {
  return resourcesOf(assembly)
    .filter(({ resource }) => resource.Type === type && resource.Properties?.Enabled !== false)
    .map(({ stack, logicalId }) => `${stack.name}.${logicalId}`);
}

/** `stack.logicalId` of the queue a `{Fn::GetAtt: [queue, Arn]}`, or an import of an export of one, names. */
function queueNamedBy(stackName: string, value: unknown): string | undefined {
  const getAtt = (value as { 'Fn::GetAtt'?: [string, string] })['Fn::GetAtt'];
  if (getAtt?.[1] === 'Arn') return `${stackName}.${getAtt[0]}`;
  const imported = (value as { 'Fn::ImportValue'?: unknown })['Fn::ImportValue'];
  if (typeof imported !== 'string') return undefined;
  for (const candidate of assembly.stacks) {
    for (const output of Object.values(candidate.template.Outputs ?? {})) {
      if ((output as { Export?: { Name?: unknown } }).Export?.Name === imported) {
        return queueNamedBy(candidate.name, (output as { Value?: unknown }).Value);
      }
    }
  }
  return undefined;
}

test('a drop through the API carries traffic on every mapping, subscription and schedule the templates declare', async () => {
  const running = stack as RunningAssembly;
  const mappings = wires('AWS::Lambda::EventSourceMapping');
  const schedules = wires('AWS::Scheduler::Schedule');
  // What the app declares today; a new wire needs traffic below, not a change here.
  expect(mappings.length).toBeGreaterThanOrEqual(6);
  expect(schedules.length).toBeGreaterThanOrEqual(2);

  // Every subscription ends in a queue some mapping drains: its traffic is that mapping's.
  const drained = new Set(
    resourcesOf(assembly)
      .filter(({ resource }) => resource.Type === 'AWS::Lambda::EventSourceMapping')
      .map(({ stack: at, resource }) => queueNamedBy(at.name, resource.Properties?.EventSourceArn)),
  );
  const subscriptions = resourcesOf(assembly).filter(({ resource }) => resource.Type === 'AWS::SNS::Subscription');
  expect(subscriptions.length).toBeGreaterThanOrEqual(4);
  for (const { stack: at, logicalId, resource } of subscriptions) {
    const queue = queueNamedBy(at.name, resource.Properties?.Endpoint);
    expect([`${at.name}.${logicalId}`, queue !== undefined && drained.has(queue)]).toEqual([
      `${at.name}.${logicalId}`,
      true,
    ]);
  }

  // A drop: stock moves (the stream, the relay, every channel, the edge state), an order is paid (the
  // orders queue), the operator pauses and resumes it (drop state). The schedules have run since the start,
  // as deployed ones have since the deploy (the expiry sweep's run lasts most of a minute).
  const sku = `wiring-${randomBytes(3).toString('hex')}`;
  expect((await api.putProduct(sku, { name: sku, priceCents: 500, stock: 6, maxPerCustomer: 2 })).status).toBe(201);
  const reserve = (customerId: string) => api.reserve(sku, customerId, 1, attemptKey());
  const paid = await reserve('ada');
  expect(paid.status).toBe(201);
  const checkout = await api.call('POST', `/reservations/${paid.body.reservationId}/checkout`, {
    body: { paymentToken: 'tok_wiring' },
  });
  expect(checkout.status).toBe(201);
  const released = await reserve('grace');
  expect((await api.call('DELETE', `/reservations/${released.body.reservationId}`)).status).toBe(200);
  expect((await api.call('POST', `/admin/drops/${sku}/pause`, { admin: true })).status).toBe(200);
  expect((await api.call('POST', `/admin/drops/${sku}/resume`, { admin: true })).status).toBe(200);
  expect(
    (
      await api.call('POST', `/admin/products/${sku}/restock`, {
        body: { quantity: 2 },
        admin: true,
        headers: { 'idempotency-key': attemptKey() },
      })
    ).status,
  ).toBe(200);

  await eventually(
    async () => {
      const traffic = running.traffic();
      const silent = [
        ...mappings.filter((id) => !traffic.mappings.get(id)),
        ...schedules.filter((id) => !traffic.schedules.get(id)),
      ];
      expect(silent).toEqual([]);
    },
    // The schedules' first runs began with the stack; the expiry sweep's lasts most of a minute.
    { timeoutMs: 150_000, intervalMs: 250 },
  );
  const ledger = await api.ledger(sku);
  expectBalanced(ledger);
  expect([ledger.sold, ledger.supplied]).toEqual([1, 8]);
}, 240_000);

test('says at start what it runs differently for the emulators: the lifted limit on a silent AWS connection', () => {
  const running = stack as RunningAssembly;
  expect(running.notes).toContainEqual(
    expect.stringMatching(/^AWS_ATTEMPT_TIMEOUT_MS=0: .*\(deployed, 0.5 s to open and 2 s an attempt of silence\)/),
  );
});

test("the channel defect this check stands for fails it: an applier that does not know the template's queues syncs no channel", async () => {
  // The defect deployed channel sync had: the applier knew its queues by names only the local runtime
  // produced, so on the deployed queues every record failed. Reproduced on a copy of the assembly whose
  // applier is told the old local names instead of the template's queues.
  const copy = mkdtempSync(join(tmpdir(), 'dropline-wiring-'));
  cleanups.push(() => rmSync(copy, { recursive: true, force: true }));
  cpSync(ownDir, copy, { recursive: true });
  const path = join(copy, 'Dropline-Stateless.template.json');
  const template = JSON.parse(readFileSync(path, 'utf8')) as {
    Resources: Record<string, { Type: string; Properties?: { Environment?: { Variables?: Record<string, unknown> } } }>;
  };
  const applier = Object.values(template.Resources).find(
    (resource) => resource.Properties?.Environment?.Variables?.CHANNEL_QUEUE_ARNS !== undefined,
  );
  if (!applier?.Properties?.Environment?.Variables) throw new Error('no function reads CHANNEL_QUEUE_ARNS');
  const localName = (channel: string) => `arn:aws:sqs:us-east-1:000000000000:dropline-local-channel-${channel}.fifo`;
  applier.Properties.Environment.Variables.CHANNEL_QUEUE_ARNS = JSON.stringify(
    Object.fromEntries(['warehouse', 'marketplace', 'storefront'].map((channel) => [channel, localName(channel)])),
  );
  writeFileSync(path, JSON.stringify(template));
  const broken = await run(copy);

  const sku = `wiring-broken-${randomBytes(3).toString('hex')}`;
  expect((await broken.api.putProduct(sku, { name: sku, priceCents: 500, stock: 4, maxPerCustomer: 2 })).status).toBe(
    201,
  );
  expect((await broken.api.reserve(sku, 'ada', 1, attemptKey())).status).toBe(201);
  // The news reached the topic and its other subscriber, the edge state, so it reached the channels' queues too.
  const edgeState = wires('AWS::Lambda::EventSourceMapping').filter((id) => id.includes('PublishEdgeState'));
  expect(edgeState).toHaveLength(1);
  await eventually(async () => expect(broken.stack.traffic().mappings.get(edgeState[0] as string)).toBeGreaterThan(0), {
    timeoutMs: 30_000,
  });
  // Every channel's queue did hand its batch to the applier, which took none of it.
  const channels = wires('AWS::Lambda::EventSourceMapping').filter((id) => id.includes('ApplyChannelEvents'));
  expect(channels).toHaveLength(3);
  await eventually(async () => expect(channels.filter((id) => !broken.stack.traffic().handed.get(id))).toEqual([]), {
    timeoutMs: 30_000,
  });

  // The first test's check names every channel's mapping as silent (no order was paid here, so the orders
  // queue's is silent too), while the stream and the edge state carried the news.
  const { mappings } = broken.stack.traffic();
  const silent = wires('AWS::Lambda::EventSourceMapping').filter((id) => !mappings.get(id));
  expect(silent).toEqual(expect.arrayContaining(channels));
  expect(silent.filter((id) => id.includes('PublishChanges') || id.includes('PublishEdgeState'))).toEqual([]);
}, 180_000);

test("availability reads are answered from the behaviour's cache, as CloudFront keeps them, then from the origin again", async () => {
  const sku = `wiring-cache-${randomBytes(3).toString('hex')}`;
  expect((await api.putProduct(sku, { name: sku, priceCents: 500, stock: 5, maxPerCustomer: 2 })).status).toBe(201);
  const read = async () => {
    const answer = await api.call('GET', `/products/${sku}`);
    return { status: answer.status, cache: answer.headers['x-cache'], available: answer.body.available };
  };

  const first = await read();
  const cached = await read();
  expect((await api.reserve(sku, 'ada', 2, attemptKey())).status).toBe(201);

  expect(first).toEqual({ status: 200, cache: 'Miss from cloudfront', available: 5 });
  // Within the policy's TTL (the origin's max-age=1): the stored answer, without asking the origin.
  expect(cached).toEqual({ status: 200, cache: 'Hit from cloudfront', available: 5 });
  // Past it (and its stale-while-revalidate), the hold shows.
  await eventually(async () => expect(await read()).toMatchObject({ status: 200, available: 3 }), {
    timeoutMs: 10_000,
    intervalMs: 200,
  });
});
