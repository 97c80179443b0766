/**
 * The drop plan turns the waiting room on (issue 14, point 3): a drop whose peak asks more attempts a
 * second than the stock path absorbs — its shards' holds within the conflict target, at most the rate the
 * admission controller admits at — is created with its room on; product creation learns which SKUs from
 * `PLANNED_WAITING_ROOMS`, and sets the room once, at creation.
 */
import {
  PlannedWaitingRoomsError,
  parsePlannedWaitingRooms,
  plannedWaitingRoomsValue,
} from '../../contract/planned-rooms';
import { assumptions, demandOf, planCapacity } from '../../lib/config/capacity';
import { type Drop, parseDropPlan } from '../../lib/config/drop-plan';
import { fakeDrop } from '../support/fakes/drop';

const NOW = new Date('2030-01-01T00:00:00Z');
const drop = (sku: string, expectedPeakRps: number, units: number, startsAt = '2030-03-01T17:00:00Z'): Drop => ({
  sku,
  startsAt,
  expectedPeakRps,
  units,
});

describe('the plan decides the waiting room', () => {
  it('turns the room on for a drop whose peak passes the rate the admission controller admits at', () => {
    const demand = demandOf(drop('SNKR', assumptions.admissionUnitsPerSecond + 1, 5_000));

    expect([demand.roomlessCapacity, demand.waitingRoom]).toEqual([assumptions.admissionUnitsPerSecond, true]);
  });

  it('leaves the room off for a drop the stock path absorbs without a queue', () => {
    const demand = demandOf(drop('TEE', assumptions.admissionUnitsPerSecond, 5_000));

    expect(demand.waitingRoom).toBe(false);
  });

  it('turns the room on for a small drop whose few units give fewer shards than its peak needs', () => {
    // 150 attempts/s want 15 shards; 8 units give 8 shards, which take 80 holds a second.
    const demand = demandOf(drop('PIN', 150, 8));

    expect([demand.shards, demand.roomlessCapacity, demand.waitingRoom]).toEqual([8, 80, true]);
  });

  it('lists the rooms of drops still to come, not of drops that are over', () => {
    const plan = parseDropPlan({
      drops: [drop('PAST-HOT', 5_000, 100, '2029-06-01T17:00:00Z'), drop('HOT', 5_000, 100), drop('CALM', 50, 1_000)],
    });

    expect(planCapacity(plan, NOW).waitingRoomSkus).toEqual(['HOT']);
  });
});

describe('PLANNED_WAITING_ROOMS', () => {
  it('carries the planned SKUs to product creation', () => {
    expect([...parsePlannedWaitingRooms(plannedWaitingRoomsValue(['HOT', 'SNKR-RED-42']))]).toEqual([
      'HOT',
      'SNKR-RED-42',
    ]);
  });

  it('is empty when unset', () => {
    expect(parsePlannedWaitingRooms('').size).toBe(0);
  });

  it('is refused whole when an entry is not a SKU', () => {
    expect(() => parsePlannedWaitingRooms('["HOT","no spaces"]')).toThrow(PlannedWaitingRoomsError);
    expect(() => parsePlannedWaitingRooms('{"HOT":true}')).toThrow(PlannedWaitingRoomsError);
  });
});

describe('product creation with the room', () => {
  const product = { name: 'Sneaker', priceCents: 100, stock: 10 };

  it('creates a product with its room on when asked', async () => {
    const { inventory } = fakeDrop();

    const { product: created } = await inventory.upsertProduct({ sku: 'HOT', ...product, waitingRoom: true });

    expect(created.waitingRoom).toBe(true);
    expect((await inventory.product('HOT', { fresh: true })).waitingRoom).toBe(true);
  });

  it('creates a product with its room off by default', async () => {
    const { inventory } = fakeDrop();

    const { product: created } = await inventory.upsertProduct({ sku: 'CALM', ...product });

    expect(created.waitingRoom).toBe(false);
  });

  it('does not change the room of an existing product on a later PUT', async () => {
    const { inventory } = fakeDrop();
    await inventory.upsertProduct({ sku: 'HOT', ...product, waitingRoom: true });

    const { product: updated, created } = await inventory.upsertProduct({
      sku: 'HOT',
      ...product,
      name: 'Renamed',
      waitingRoom: false,
    });

    expect([created, updated.name, updated.waitingRoom]).toEqual([false, 'Renamed', true]);
  });
});
