// The Node test environment, plus a DynamoDB Local of the file's own for every
// test file that uses one (through test/support/local-stack or test-table, or
// the endpoint variable itself).
//
// One DynamoDB Local for the whole run made the files late in the run several
// times slower than alone (the 2,200-attempt spike: 29 s alone, 167 s after
// six earlier files; 97 s even with their tables deleted): it keeps every
// table and stream record in one in-memory database whose cost outlives them.
// A fresh one per file (about 3 s to start) makes each file's run what it is
// alone. fauxqs stays shared (global-setup.mjs); the queues and topics a file
// made are deleted when it ends.
import { readFileSync } from 'node:fs';
import { DeleteTopicCommand, ListTopicsCommand, SNSClient } from '@aws-sdk/client-sns';
import { DeleteQueueCommand, ListQueuesCommand, SQSClient } from '@aws-sdk/client-sqs';
import { TestEnvironment } from 'jest-environment-node';
import { register } from 'tsx/esm/api';

const USES_DYNAMODB = /DROPLINE_TEST_DYNAMODB_ENDPOINT|support\/(?:local-stack|test-table)['"]/;
const LOCAL = { region: 'us-east-1', credentials: { accessKeyId: 'local', secretAccessKey: 'local' } };

/** The TypeScript loader, registered once per worker process however many files it runs. */
let emulators;
const loadEmulators = () => {
  emulators ??= (async () => {
    register();
    return import('../../local/emulators/dynamodb-local.ts');
  })();
  return emulators;
};

export default class IsolatedEnvironment extends TestEnvironment {
  #testPath;
  #dynamodb;
  #messagingBefore;

  constructor(config, context) {
    super(config, context);
    this.#testPath = context.testPath;
  }

  async setup() {
    await super.setup();
    // What was on the shared fauxqs before this file: only what the file adds is deleted after it.
    this.#messagingBefore = await listMessaging();
    if (!USES_DYNAMODB.test(readFileSync(this.#testPath, 'utf8'))) return;
    const { startDynamoDbLocal } = await loadEmulators();
    this.#dynamodb = await startDynamoDbLocal();
    this.global.process.env.DROPLINE_TEST_DYNAMODB_ENDPOINT = this.#dynamodb.endpoint;
  }

  async teardown() {
    try {
      await Promise.allSettled([this.#dynamodb?.stop(), deleteMessagingAddedSince(this.#messagingBefore)]);
    } finally {
      await super.teardown();
    }
  }
}

function clients() {
  const endpoint = process.env.DROPLINE_TEST_SQS_ENDPOINT;
  if (!endpoint) return undefined;
  return {
    sqs: new SQSClient({ ...LOCAL, endpoint }),
    sns: new SNSClient({ ...LOCAL, endpoint: process.env.DROPLINE_TEST_SNS_ENDPOINT }),
  };
}

async function listMessaging() {
  const both = clients();
  if (!both) return { queues: new Set(), topics: new Set() };
  try {
    const queues = new Set();
    const topics = new Set();
    let NextToken;
    do {
      const page = await both.sqs.send(new ListQueuesCommand({ MaxResults: 1000, NextToken }));
      for (const url of page.QueueUrls ?? []) queues.add(url);
      NextToken = page.NextToken;
    } while (NextToken);
    do {
      const page = await both.sns.send(new ListTopicsCommand({ NextToken }));
      for (const { TopicArn } of page.Topics ?? []) topics.add(TopicArn);
      NextToken = page.NextToken;
    } while (NextToken);
    return { queues, topics };
  } finally {
    both.sqs.destroy();
    both.sns.destroy();
  }
}

async function deleteMessagingAddedSince(before) {
  if (!before) return;
  const after = await listMessaging();
  const both = clients();
  if (!both) return;
  try {
    await Promise.allSettled([
      ...[...after.queues]
        .filter((url) => !before.queues.has(url))
        .map((QueueUrl) => both.sqs.send(new DeleteQueueCommand({ QueueUrl }))),
      ...[...after.topics]
        .filter((arn) => !before.topics.has(arn))
        .map((TopicArn) => both.sns.send(new DeleteTopicCommand({ TopicArn }))),
    ]);
  } finally {
    both.sqs.destroy();
    both.sns.destroy();
  }
}
