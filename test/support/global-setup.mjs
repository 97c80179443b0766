// Starts DynamoDB Local and fauxqs once per test run; test workers find them
// through the environment. Plain ESM (fauxqs is import-only), with tsx to load
// the project's TypeScript.
import { register } from 'tsx/esm/api';

export default async function globalSetup() {
  const unregister = register();
  const { startEmbeddedAws } = await import('../../local/emulators/embedded-aws.ts');
  await unregister();
  const aws = await startEmbeddedAws();
  globalThis.__droplineAws = aws;
  process.env.DROPLINE_TEST_DYNAMODB_ENDPOINT = aws.endpoints.dynamodb;
  process.env.DROPLINE_TEST_SQS_ENDPOINT = aws.endpoints.sqs;
  process.env.DROPLINE_TEST_SNS_ENDPOINT = aws.endpoints.sns;
}
