// The Node test environment, plus a DynamoDB Local of the file's own for every
// test file that uses one (through test/support/local-stack or test-table).
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

export default class IsolatedEnvironment extends TestEnvironment {
  #testPath;
  #dynamodb;

  constructor(config, context) {
    super(config, context);
    this.#testPath = context.testPath;
  }

  async setup() {
    await super.setup();
    if (!USES_DYNAMODB.test(readFileSync(this.#testPath, 'utf8'))) return;
    const unregister = register();
    const { startDynamoDbLocal } = await import('../../local/emulators/dynamodb-local.ts');
    await unregister();
    this.#dynamodb = await startDynamoDbLocal();
    this.global.process.env.DROPLINE_TEST_DYNAMODB_ENDPOINT = this.#dynamodb.endpoint;
  }

  async teardown() {
    try {
      await Promise.all([this.#dynamodb?.stop(), deleteMessaging()]);
    } finally {
      await super.teardown();
    }
  }
}

/** Deletes every queue and topic on the run's fauxqs: files run one at a time, so all of them are this file's. */
async function deleteMessaging() {
  const endpoint = process.env.DROPLINE_TEST_SQS_ENDPOINT;
  if (!endpoint) return;
  const sqs = new SQSClient({ ...LOCAL, endpoint });
  const sns = new SNSClient({ ...LOCAL, endpoint: process.env.DROPLINE_TEST_SNS_ENDPOINT });
  try {
    let NextToken;
    do {
      const page = await sqs.send(new ListQueuesCommand({ MaxResults: 1000, NextToken }));
      await Promise.all((page.QueueUrls ?? []).map((QueueUrl) => sqs.send(new DeleteQueueCommand({ QueueUrl }))));
      NextToken = page.NextToken;
    } while (NextToken);
    do {
      const page = await sns.send(new ListTopicsCommand({ NextToken }));
      await Promise.all((page.Topics ?? []).map(({ TopicArn }) => sns.send(new DeleteTopicCommand({ TopicArn }))));
      NextToken = page.NextToken;
    } while (NextToken);
  } finally {
    sqs.destroy();
    sns.destroy();
  }
}
