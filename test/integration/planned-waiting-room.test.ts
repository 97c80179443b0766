/**
 * The drop plan turns the waiting room on, end to end on the local stack: the put-product function is
 * configured as the stack configures it (`PLANNED_WAITING_ROOMS` from the plan's capacity), a PUT of a
 * planned SKU whose peak passes what the stock path absorbs creates it with its room on — the edge then
 * issues tickets for it and wants an admission on a reservation — while an unplanned SKU starts without
 * one, and the body can still say otherwise.
 */
import { PLANNED_WAITING_ROOMS, plannedWaitingRoomsValue } from '../../contract/planned-rooms';
import { planCapacity } from '../../lib/config/capacity';
import { parseDropPlan } from '../../lib/config/drop-plan';
import { ApiClient, type ApiResponse, attemptKey } from '../../local/api-client';
import { eventually } from '../support/eventually';
import { startTestStack, type TestStack } from '../support/local-stack';

const plan = parseDropPlan({
  drops: [
    { sku: 'PLANNED-HOT', startsAt: '2030-03-14T17:00:00Z', expectedPeakRps: 2_000, units: 5_000 },
    { sku: 'PLANNED-OPTOUT', startsAt: '2030-03-14T18:00:00Z', expectedPeakRps: 2_000, units: 5_000 },
  ],
});

let stack: TestStack;
let api: ApiClient;
let previous: string | undefined;

beforeAll(async () => {
  previous = process.env[PLANNED_WAITING_ROOMS];
  // What the stateless stack sets on the put-product function for this plan; handlers read it when loaded.
  process.env[PLANNED_WAITING_ROOMS] = plannedWaitingRoomsValue(
    planCapacity(plan, new Date('2030-01-01T00:00:00Z')).waitingRoomSkus,
  );
  stack = await startTestStack();
  api = new ApiClient(stack.url, stack.adminKey);
});

afterAll(async () => {
  await api.close();
  await stack.stop();
  if (previous === undefined) delete process.env[PLANNED_WAITING_ROOMS];
  else process.env[PLANNED_WAITING_ROOMS] = previous;
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
