/**
 * The drop plan turns the waiting room on, end to end on the app's assembly synthesized with a plan
 * (`test/fixtures/drop-plan.json`): the put-product function is configured as the stack configures it
 * (`PLANNED_WAITING_ROOMS` from the plan's capacity), a PUT of a
 * planned SKU whose peak passes what the stock path absorbs creates it with its room on — the edge then
 * issues tickets for it and wants an admission on a reservation — while an unplanned SKU starts without
 * one, and the body can still say otherwise.
 */
import { ApiClient, type ApiResponse, attemptKey } from '../../local/api-client';
import { eventually } from '../support/eventually';
import { PLANNED_CONTEXT, startTestStack, type TestStack } from '../support/local-stack';

let stack: TestStack;
let api: ApiClient;

beforeAll(async () => {
  // PLANNED-HOT and PLANNED-OPTOUT are planned at 2,000 attempts a second, past what their stock path takes.
  stack = await startTestStack({ context: PLANNED_CONTEXT });
  api = new ApiClient(stack.url, stack.adminKey);
}, 300_000);

afterAll(async () => {
  await api.close();
  await stack.stop();
});

const codeOf = (response: ApiResponse<unknown>) => (response.body as { error?: { code?: string } }).error?.code;
const product = { name: 'Planned', priceCents: 100, stock: 5 };

test('a planned SKU whose peak passes the stock path is created with its room on, and the edge queues it', async () => {
  const created = await api.putProduct('PLANNED-HOT', product);

  expect([created.status, (created.body as { waitingRoom?: boolean }).waitingRoom]).toEqual([201, true]);
  const shown = await api.call<{ waitingRoom: boolean }>('GET', '/products/PLANNED-HOT');
  expect(shown.body.waitingRoom).toBe(true);
  // The edge learns it through the fan-out: a reservation without an admission is refused there.
  await eventually(async () => {
    const attempt = await api.reserve('PLANNED-HOT', 'early-bird', 1, attemptKey());
    expect([attempt.status, codeOf(attempt)]).toEqual([403, 'ADMISSION_REQUIRED']);
  });
});

test('an unplanned SKU is created without a room', async () => {
  const created = await api.putProduct('UNPLANNED', product);

  expect([created.status, (created.body as { waitingRoom?: boolean }).waitingRoom]).toEqual([201, false]);
});

test('the body can say otherwise for a planned SKU, and a later PUT does not change the room', async () => {
  const created = await api.putProduct('PLANNED-OPTOUT', { ...product, waitingRoom: false });
  expect([created.status, (created.body as { waitingRoom?: boolean }).waitingRoom]).toEqual([201, false]);

  const updated = await api.putProduct('PLANNED-OPTOUT', { ...product, waitingRoom: true });

  expect(updated.status).toBe(200);
  expect(updated.body).toMatchObject({
    waitingRoom: false,
    ignored: {
      waitingRoom:
        'the waiting room is set at creation (now: off); turn it on with POST /admin/drops/PLANNED-OPTOUT/waiting-room-on',
    },
  });
});
