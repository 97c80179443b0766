/**
 * fauxqs (SQS + SNS on one port), with a FIFO queue's receive made as SQS
 * makes it. fauxqs returns one message per message group per
 * `ReceiveMessage`; SQS "attempts to return as many messages with the same
 * message group ID as possible" in one call, up to `MaxNumberOfMessages`
 * (10), in the group's order, and then hands the group out to nobody until
 * they are deleted or visible again ("FIFO queue delivery logic", Amazon SQS
 * Developer Guide,
 * https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/FIFO-queues-understanding-logic.html).
 * A Lambda event source mapping therefore gets a SKU's messages ten at a
 * time, and a function that folds a group's batch (the edge-state writer)
 * must be measured on batches of that size, not of one.
 *
 * fauxqs keeps no public hook for this, so its queue class is patched: each
 * receive takes what fauxqs's own receive gives (with its dead-letter,
 * visibility and bookkeeping), then asks it again for the groups it just
 * served, until the batch is full or those groups are empty. Messages made
 * visible again go back to the head of their group in the order they were
 * sent, as several of one group can now be in flight together. The patch is
 * tied to the fauxqs version the lockfile pins; `test/integration/fauxqs-fifo`
 * fails if a new version changes what it relies on.
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { type FauxqsServer, startFauxqs } from 'fauxqs';

interface QueuedMessage {
  readonly messageGroupId?: string;
  [sentOrder]?: number;
}

interface ReceivedMessage {
  readonly ReceiptHandle: string;
}

/** The fields and methods of fauxqs's `SqsQueue` (dist/sqs/sqsStore.js) the patch uses. */
interface FauxqsQueue {
  readonly fifoMessages: Map<string, QueuedMessage[]>;
  readonly fifoLockedGroups: Map<string, number>;
  readonly inflightMessages: Map<string, { readonly message: QueuedMessage; readonly visibilityDeadline: number }>;
  isFifo(): boolean;
  enqueue(message: QueuedMessage): void;
  dequeueFifo(maxCount: number, visibilityTimeout?: number, dlqResolver?: unknown): ReceivedMessage[];
  processTimers(): void;
  changeVisibility(receiptHandle: string, timeoutSeconds: number): void;
}

/** The order a message was sent to its queue in: a group's messages made visible again are put back in it. */
const sentOrder = Symbol('dropline.sentOrder');
const PATCHED = Symbol.for('dropline.fauxqsFifoBatches');
/** What SQS returns at most per `ReceiveMessage`. */
const MAX_RECEIVE = 10;
const DEFAULT_GROUP = '__default';

export type SqsSnsServer = FauxqsServer;

/** Starts fauxqs on `port` (0: a free one) with SQS's FIFO receive. */
export async function startSqsSns(options: { port: number }): Promise<SqsSnsServer> {
  await patchFifoReceive();
  return startFauxqs({ port: options.port, logger: false });
}

/** Makes every fauxqs queue of this process receive FIFO messages as SQS does; once, however often called. */
export async function patchFifoReceive(): Promise<void> {
  const { SqsQueue } = (await import(pathToFileURL(fauxqsFile('sqs/sqsStore.js')).href)) as {
    SqsQueue: { prototype: FauxqsQueue & { [PATCHED]?: true } };
  };
  const queue = SqsQueue.prototype;
  if (queue[PATCHED]) return;
  for (const method of ['enqueue', 'dequeueFifo', 'processTimers', 'changeVisibility'] as const) {
    if (typeof queue[method] !== 'function') {
      throw new Error(`fauxqs's SqsQueue has no ${method}(): the FIFO receive patch needs the fauxqs version pinned`);
    }
  }
  const { enqueue, dequeueFifo, processTimers, changeVisibility } = queue;
  let sent = 0;

  queue.enqueue = function (this: FauxqsQueue, message: QueuedMessage) {
    message[sentOrder] = ++sent;
    enqueue.call(this, message);
  };

  queue.dequeueFifo = function (this: FauxqsQueue, maxCount, visibilityTimeout, dlqResolver) {
    const limit = Math.min(maxCount, MAX_RECEIVE);
    const received = dequeueFifo.call(this, limit, visibilityTimeout, dlqResolver);
    let served = groupsOf(this, received);
    while (received.length < limit) {
      // Only the groups this receive holds are opened again: fauxqs's receive takes one more of each.
      const reopened = [...served].filter((group) => (this.fifoMessages.get(group)?.length ?? 0) > 0);
      if (reopened.length === 0) break;
      const locks = new Map(reopened.map((group) => [group, this.fifoLockedGroups.get(group) ?? 0]));
      for (const group of reopened) this.fifoLockedGroups.delete(group);
      const more = dequeueFifo.call(this, limit - received.length, visibilityTimeout, dlqResolver);
      for (const [group, held] of locks) {
        const total = (this.fifoLockedGroups.get(group) ?? 0) + held;
        if (total > 0) this.fifoLockedGroups.set(group, total);
      }
      if (more.length === 0) break;
      received.push(...more);
      served = groupsOf(this, more);
    }
    return received;
  };

  queue.processTimers = function (this: FauxqsQueue) {
    const now = Date.now();
    const returning = this.isFifo()
      ? [...this.inflightMessages.values()].filter((entry) => entry.visibilityDeadline <= now)
      : [];
    processTimers.call(this);
    inSentOrder(
      this,
      returning.map((entry) => groupOf(entry.message)),
    );
  };

  queue.changeVisibility = function (this: FauxqsQueue, receiptHandle, timeoutSeconds) {
    const entry = this.inflightMessages.get(receiptHandle);
    changeVisibility.call(this, receiptHandle, timeoutSeconds);
    if (entry && timeoutSeconds === 0 && this.isFifo()) inSentOrder(this, [groupOf(entry.message)]);
  };

  Object.defineProperty(queue, PATCHED, { value: true });
}

const groupOf = (message: QueuedMessage) => message.messageGroupId ?? DEFAULT_GROUP;

function groupsOf(queue: FauxqsQueue, received: readonly ReceivedMessage[]): Set<string> {
  const groups = new Set<string>();
  for (const { ReceiptHandle } of received) {
    const entry = queue.inflightMessages.get(ReceiptHandle);
    if (entry) groups.add(groupOf(entry.message));
  }
  return groups;
}

/** Puts each of `groups` back in the order its messages were sent (fauxqs puts returning ones first, one by one). */
function inSentOrder(queue: FauxqsQueue, groups: readonly string[]): void {
  for (const group of new Set(groups)) {
    queue.fifoMessages.get(group)?.sort((a, b) => (a[sentOrder] ?? 0) - (b[sentOrder] ?? 0));
  }
}

/** A file of the installed fauxqs (its package exports only its entry point). */
function fauxqsFile(path: string): string {
  const require = createRequire(import.meta.url);
  for (const modules of require.resolve.paths('fauxqs') ?? []) {
    const file = join(modules, 'fauxqs', 'dist', path);
    if (existsSync(file)) return file;
  }
  throw new Error(`fauxqs is not installed where ${import.meta.url} can find it: run npm ci`);
}
