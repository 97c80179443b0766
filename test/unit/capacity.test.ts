import {
  assumptions,
  checkoutProvisionedFor,
  planCapacity,
  provisionedFor,
  shardsFor,
} from '../../lib/config/capacity';
import { DropPlanError, parseDropPlan } from '../../lib/config/drop-plan';

const now = new Date('2030-01-01T00:00:00Z');
const drop = (sku: string, startsAt: string, expectedPeakRps: number, units = 1000) => ({
  sku,
  startsAt,
  expectedPeakRps,
  units,
});

describe('drop plan', () => {
  it('accepts a well-formed plan', () => {
    const plan = parseDropPlan({ drops: [drop('SNKR-1', '2030-01-02T18:00:00Z', 5000)] });
    expect(plan.drops).toHaveLength(1);
  });

  it.each([
    [{ drops: [{ ...drop('SNKR-1', '2030-01-02T18:00:00Z', 5000), extra: 1 }] }, 'drops.0'],
    [{ drops: [drop('bad sku', '2030-01-02T18:00:00Z', 5000)] }, 'drops.0.sku'],
    [{ drops: [drop('SNKR-1', 'tomorrow', 5000)] }, 'drops.0.startsAt'],
    [{ drops: [drop('SNKR-1', '2030-01-02T18:00:00Z', 0)] }, 'drops.0.expectedPeakRps'],
    [{ drops: [drop('SNKR-1', '2030-01-02T18:00:00Z', 10, 2.5)] }, 'drops.0.units'],
    [{ drop: [] }, '(root)'],
  ])('refuses %j naming %s', (raw, field) => {
    expect(() => parseDropPlan(raw, 'plan.json')).toThrow(DropPlanError);
    expect(() => parseDropPlan(raw, 'plan.json')).toThrow(field);
  });

  it('refuses the same SKU declared twice at the same instant', () => {
    const twice = { drops: [drop('A', '2030-01-02T18:00:00Z', 10), drop('A', '2030-01-02T19:00:00+01:00', 10)] };
    expect(() => parseDropPlan(twice)).toThrow('declared twice');
  });
});

describe('capacity from a drop plan', () => {
  it("sizes provisioned concurrency by Little's law with headroom", () => {
    // 4,000 attempts/s × 0.1 s each = 400 in flight; × 1.5 headroom = 600.
    expect(provisionedFor(drop('A', '2030-01-02T18:00:00Z', 4000))).toBe(600);
  });

  it('sizes the checkout path by the units to be paid for, spread over a minute, one second each', () => {
    // 6,000 units / 60 s = 100 checkouts/s × 1 s each = 100 in flight; × 1.5 headroom = 150.
    expect(checkoutProvisionedFor(drop('A', '2030-01-02T18:00:00Z', 4000, 6000))).toBe(150);
    // Never more checkouts than attempts: 30 attempts/s cap 600,000 units' rate of 10,000/s.
    expect(checkoutProvisionedFor(drop('A', '2030-01-02T18:00:00Z', 30, 600_000))).toBe(45);
    expect(checkoutProvisionedFor(drop('A', '2030-01-02T18:00:00Z', 4000, 10))).toBe(1);
  });

  it('gives a hot SKU one shard per 250 attempts/s, never more than 64 or its units', () => {
    expect(shardsFor(drop('A', '2030-01-02T18:00:00Z', 2000))).toBe(8);
    expect(shardsFor(drop('A', '2030-01-02T18:00:00Z', 100_000))).toBe(64);
    expect(shardsFor(drop('A', '2030-01-02T18:00:00Z', 2000, 3))).toBe(3);
    expect(shardsFor(drop('A', '2030-01-02T18:00:00Z', 10))).toBe(1);
  });

  it('scales up before the drop and back down after it', () => {
    const capacity = planCapacity({ drops: [drop('A', '2030-01-02T18:00:00Z', 4000)] }, now);
    expect(capacity.reservation.schedule).toEqual([
      { at: new Date('2030-01-02T17:45:00Z'), minProvisioned: 600, reason: 'before A' },
      {
        at: new Date('2030-01-02T19:00:00Z'),
        minProvisioned: assumptions.baselineProvisioned,
        reason: 'after the drop',
      },
    ]);
    expect(capacity.reservation.maxProvisioned).toBe(1200);
    // 1,000 units: 1,000 / 60 × 1 s × 1.5 = 25, on the same window.
    expect(capacity.checkout.schedule.map((step) => [step.at.toISOString(), step.minProvisioned])).toEqual([
      ['2030-01-02T17:45:00.000Z', 25],
      ['2030-01-02T19:00:00.000Z', 1],
    ]);
    expect(capacity.checkout.maxProvisioned).toBe(50);
  });

  it('adds up drops whose windows overlap', () => {
    const capacity = planCapacity(
      { drops: [drop('A', '2030-01-02T18:00:00Z', 1000), drop('B', '2030-01-02T18:30:00Z', 2000)] },
      now,
    );
    expect(capacity.reservation.schedule.map((step) => [step.at.toISOString(), step.minProvisioned])).toEqual([
      ['2030-01-02T17:45:00.000Z', 150],
      ['2030-01-02T18:15:00.000Z', 450],
      ['2030-01-02T19:00:00.000Z', 300],
      ['2030-01-02T19:30:00.000Z', 1],
    ]);
    // Both peaks at once: 3,000 attempts/s × 9 WRU × 1.5.
    expect(capacity.table.warmWritesPerSecond).toBe(40_500);
    expect(capacity.api.reservationRateLimit).toBe(4500);
  });

  it('skips drops that are over and schedules an open window from a minute from now', () => {
    const capacity = planCapacity(
      { drops: [drop('OLD', '2029-12-01T18:00:00Z', 1000), drop('LIVE', '2029-12-31T23:50:00Z', 1000)] },
      now,
    );
    expect(capacity.reservation.schedule[0]).toEqual({
      at: new Date('2030-01-01T00:01:00Z'),
      minProvisioned: 150,
      reason: 'before LIVE',
    });
    expect(capacity.warnings).toEqual([expect.stringContaining('OLD')]);
    expect(capacity.shardsBySku).toEqual({ LIVE: 4 });
  });

  it('keeps the defaults of a new table and of the API when nothing is planned', () => {
    const capacity = planCapacity({ drops: [] }, now);
    expect(capacity.reservation.schedule).toEqual([]);
    expect(capacity.checkout.schedule).toEqual([]);
    expect(capacity.checkout.maxProvisioned).toBe(2);
    expect(capacity.table).toEqual({ warmWritesPerSecond: 4000, warmReadsPerSecond: 12000 });
    expect(capacity.api.rateLimit).toBe(1000);
    expect(capacity.warnings).toEqual([]);
  });

  it('warns where a plan goes past default quotas', () => {
    const capacity = planCapacity({ drops: [drop('HUGE', '2030-01-02T18:00:00Z', 20_000)] }, now);
    expect(capacity.warnings.join('\n')).toMatch(/Lambda concurrency quota/);
    expect(capacity.warnings.join('\n')).toMatch(/table-level quota/);
    expect(capacity.warnings.join('\n')).toMatch(/API Gateway quota/);
    expect(capacity.api.burstLimit).toBe(5000);
  });
});
