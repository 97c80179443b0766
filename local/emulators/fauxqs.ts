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
 * fauxqs keeps no public hook for this, so its queue class is patched: a
 * receive asks fauxqs's own receive (with its dead-letter, visibility and
 * bookkeeping) for one message at a time, keeping the group it is serving
 * open, so it takes as many of that group as there are before the next
 * group, up to ten. Messages made visible again go back to the head of their
 * group in the order they were sent, as several of one group can now be in
 * flight together. The patch is
 * tied to the fauxqs version the lockfile pins; `test/integration/fauxqs-fifo`
 * fails if a new version changes what it relies on.
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
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
  readonly attributes: Readonly<Record<string, string>>;
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
    // Received and visible again at once: nothing is held, so there is no group to keep serving.
    if ((visibilityTimeout ?? Number(this.attributes.VisibilityTimeout)) <= 0) {
      return dequeueFifo.call(this, limit, visibilityTimeout, dlqResolver);
    }
    const received: ReceivedMessage[] = [];
    let serving: string | undefined;
    while (received.length < limit) {
      // fauxqs takes the first open group's next message; the group being served is kept open for it (its
      // messages in flight are all from this receive), so a receive takes as many of a group as it can.
      const open = serving !== undefined && (this.fifoMessages.get(serving)?.length ?? 0) > 0 ? serving : undefined;
      const locks = open === undefined ? 0 : (this.fifoLockedGroups.get(open) ?? 0);
      if (open !== undefined) this.fifoLockedGroups.delete(open);
      let next: ReceivedMessage[];
      try {
        next = dequeueFifo.call(this, 1, visibilityTimeout, dlqResolver);
      } finally {
        if (open !== undefined) {
          const total = (this.fifoLockedGroups.get(open) ?? 0) + locks;
          if (total > 0) this.fifoLockedGroups.set(open, total);
        }
      }
      const [message] = next;
      if (message === undefined) break;
      received.push(message);
      const entry = this.inflightMessages.get(message.ReceiptHandle);
      serving = entry ? groupOf(entry.message) : undefined;
    }
    return received;
  };

  queue.processTimers = function (this: FauxqsQueue) {
    // Which messages fauxqs makes visible is seen by comparing what is in flight before and after.
    const due = Date.now() + 1000;
    const returning = this.isFifo()
      ? [...this.inflightMessages].filter(([, entry]) => entry.visibilityDeadline <= due)
      : [];
    processTimers.call(this);
    inSentOrder(
      this,
      returning.filter(([handle]) => !this.inflightMessages.has(handle)).map(([, entry]) => groupOf(entry.message)),
    );
  };

  queue.changeVisibility = function (this: FauxqsQueue, receiptHandle, timeoutSeconds) {
    const entry = this.inflightMessages.get(receiptHandle);
    changeVisibility.call(this, receiptHandle, timeoutSeconds);
    if (entry && this.isFifo() && !this.inflightMessages.has(receiptHandle))
      inSentOrder(this, [groupOf(entry.message)]);
  };

  Object.defineProperty(queue, PATCHED, { value: true });
}

const groupOf = (message: QueuedMessage) => message.messageGroupId ?? DEFAULT_GROUP;

/** Puts each of `groups` back in the order its messages were sent (fauxqs puts returning ones first, one by one). */
function inSentOrder(queue: FauxqsQueue, groups: readonly string[]): void {
  for (const group of new Set(groups)) {
    queue.fifoMessages.get(group)?.sort((a, b) => (a[sentOrder] ?? 0) - (b[sentOrder] ?? 0));
  }
}

/** A file of the installed fauxqs, beside the entry point `import 'fauxqs'` loads (it exports nothing else). */
function fauxqsFile(path: string): string {
  try {
    return join(dirname(fileURLToPath(import.meta.resolve('fauxqs'))), path);
  } catch {
    // A loader without `import.meta.resolve` (Jest's): CommonJS's lookup finds the same installed package.
  }
  const require = createRequire(import.meta.url);
  for (const modules of require.resolve.paths('fauxqs') ?? []) {
    const file = join(modules, 'fauxqs', 'dist', path);
    if (existsSync(file)) return file;
  }
  throw new Error(`fauxqs is not installed where ${import.meta.url} can find it: run npm ci`);
}
