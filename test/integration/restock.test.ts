/** Restocks racing a wave of reservations keep the ledger balanced and every unit sellable. */
import { ApiClient, type ApiResponse, untilSettled } from '../../local/api-client';
import { expectBalanced } from '../support/ledger';
import { startTestStack, type TestStack } from '../support/local-stack';

let stack: TestStack;
let api: ApiClient;

beforeAll(async () => {
  stack = await startTestStack();
  api = new ApiClient(stack.url, stack.adminKey, 256);
});

afterAll(async () => {
  await api.close();
  await stack.stop();
});

test('restocks interleaved with 400 concurrent attempts lose no unit and oversell none', async () => {
  const sku = 'restock-race';
  await api.putProduct(sku, {
    name: 'Restocked',
    priceCents: 100,
    stock: 50,
    shards: 5,
    maxPerCustomer: 1,
    holdSeconds: 600,
  });

  // Shoppers and the operator retry what the contract says to retry (503, 504, BUSY; same key, after
  // Retry-After): how often that happens depends on the machine, what the retries end in must not.
  const settled = async <T>(request: () => Promise<ApiResponse<T>>) => (await untilSettled(request, 8)).response;
  const attempt = (wave: string, index: number) =>
    settled(() => api.reserve(sku, `${wave}-${index}`, 1, `${sku}-${wave}-${index}`));
  const [firstWave, restocks] = await Promise.all([
    Promise.all(Array.from({ length: 400 }, (_, index) => attempt('first', index))),
    Promise.all(
      Array.from({ length: 10 }, (_, index) =>
        new Promise((resolve) => setTimeout(resolve, index * 20)).then(() =>
          settled(() =>
            api.call('POST', `/admin/products/${sku}/restock`, {
              body: { quantity: 10 },
              headers: { 'idempotency-key': `restock-race-${index}` },
              admin: true,
            }),
          ),
        ),
      ),
    ),
  ]);

  expect(restocks.map((response) => response.status)).toEqual(Array(10).fill(200));
  expect(firstWave.filter((response) => response.status !== 201 && response.status !== 409)).toEqual([]);
  const heldInFirstWave = firstWave.filter((response) => response.status === 201).length;
  const midway = await api.ledger(sku);
  expect(midway).toMatchObject({ supplied: 150, held: heldInFirstWave, available: 150 - heldInFirstWave });
  expectBalanced(midway);

  // Whatever the first wave left is still sellable: a second wave takes all of it.
  await new Promise((resolve) => setTimeout(resolve, 1100));
  const secondWave = await Promise.all(Array.from({ length: 200 }, (_, index) => attempt('second', index)));
  const heldInSecondWave = secondWave.filter((response) => response.status === 201).length;

  const final = await api.ledger(sku);
  expect(heldInFirstWave + heldInSecondWave).toBe(150);
  expect(final).toMatchObject({ supplied: 150, held: 150, available: 0 });
  expectBalanced(final);
});
