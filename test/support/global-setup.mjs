// Starts fauxqs (SQS + SNS, with SQS's FIFO receive: local/emulators/fauxqs.ts)
// once per test run; test files find it through the environment. DynamoDB
// Local is started per test file by the test environment
// (isolated-environment.mjs). Plain ESM (fauxqs is import-only).
import { register } from 'tsx/esm/api';

export default async function globalSetup() {
  const unregister = register();
  const { assertJava } = await import('../../local/emulators/dynamodb-local.ts');
  const { startSqsSns } = await import('../../local/emulators/fauxqs.ts');
  await unregister();
  // Fail the run at once, with the install hint, rather than in every file.
  assertJava();
  const fauxqs = await startSqsSns({ port: 0 });
  globalThis.__droplineFauxqs = fauxqs;
  process.env.DROPLINE_TEST_SQS_ENDPOINT = fauxqs.address;
  process.env.DROPLINE_TEST_SNS_ENDPOINT = fauxqs.address;
}
