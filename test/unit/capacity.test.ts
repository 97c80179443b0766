import {
  assumptions,
  CapacityError,
  checkoutProvisionedFor,
  defaultCapacityLimits,
  planCapacity,
  provisionedFor,
  shardsFor,
  warmThroughputFor,
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
    // Both peaks at once: 3,000 attempts/s × 9 WRU × 1.5 = 40,500, capped at the table's maximum.
    expect(capacity.table.warmWritesPerSecond).toBe(40_000);
    expect(capacity.api.reservationRateLimit).toBe(4500);
  });

  it('gives a window already open at deploy its floor as the minimum at deploy, never a schedule in the past', () => {
    const capacity = planCapacity(
      { drops: [drop('OLD', '2029-12-01T18:00:00Z', 1000), drop('LIVE', '2029-12-31T23:50:00Z', 1000)] },
      now,
    );
    expect(capacity.reservation.minAtDeploy).toBe(150);
    expect(capacity.reservation.schedule).toEqual([
      { at: new Date('2030-01-01T00:50:00Z'), minProvisioned: 1, reason: 'after the drop' },
    ]);
    for (const step of [...capacity.reservation.schedule, ...capacity.checkout.schedule]) {
      expect(step.at.getTime()).toBeGreaterThan(now.getTime());
    }
    expect(capacity.warnings).toEqual([expect.stringContaining('OLD')]);
    expect(capacity.shardsBySku).toEqual({ LIVE: 4 });
  });

  it('treats a window opening before a deploy could finish as open at deploy', () => {
    // Opens 10 minutes after synth (15-minute lead): inside the 30-minute deploy margin.
    const capacity = planCapacity({ drops: [drop('SOON', '2030-01-01T00:25:00Z', 1000)] }, now);
    expect(capacity.reservation.minAtDeploy).toBe(150);
    expect(capacity.reservation.schedule.map((step) => step.at.toISOString())).toEqual(['2030-01-01T01:25:00.000Z']);
  });

  it('keeps the baseline at deploy when no window is open', () => {
    const capacity = planCapacity({ drops: [drop('A', '2030-01-02T18:00:00Z', 4000)] }, now);
    expect(capacity.reservation.minAtDeploy).toBe(assumptions.baselineProvisioned);
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

describe('warm throughput', () => {
  const future = drop('NEXT', '2030-02-01T18:00:00Z', 2000);
  const past = drop('LAST', '2029-11-01T18:00:00Z', 3000);

  it('counts past drops: a plan that kept its history never asks less than it did', () => {
    const before = planCapacity({ drops: [past] }, new Date('2029-10-01T00:00:00Z')).table;
    const after = planCapacity({ drops: [past, future] }, now).table;
    expect(after.warmWritesPerSecond).toBeGreaterThanOrEqual(before.warmWritesPerSecond);
    expect(after.warmReadsPerSecond).toBeGreaterThanOrEqual(before.warmReadsPerSecond);
    // 3,000 attempts/s × 9 WRU × 1.5, from a drop that is over.
    expect(after.warmWritesPerSecond).toBe(40_000);
  });

  it('never gives a plan with a drop in the past after one in the future less than the future one alone', () => {
    const futureOnly = planCapacity({ drops: [future] }, now).table;
    const withPast = planCapacity({ drops: [future, past] }, now).table;
    expect(withPast.warmWritesPerSecond).toBeGreaterThanOrEqual(futureOnly.warmWritesPerSecond);
    expect(withPast.warmReadsPerSecond).toBeGreaterThanOrEqual(futureOnly.warmReadsPerSecond);
  });

  it('does not go down as time passes over the same plan', () => {
    const plan = { drops: [future, drop('LATER', '2030-06-01T18:00:00Z', 500)] };
    const instants = ['2030-01-01', '2030-02-01T18:30:00Z', '2030-03-01', '2031-01-01'].map((at) => new Date(at));
    const asked = instants.map((instant) => planCapacity(plan, instant).table.warmWritesPerSecond);
    expect(asked).toEqual([...asked].sort((a, b) => a - b));
    expect(new Set(asked).size).toBe(1);
  });

  it("keeps the issue's 20,000-attempts/s plan within the table's default maximum, and says so", () => {
    const plan = { drops: [drop('SNKR-001', '2027-03-01T17:00:00Z', 20_000, 5000)] };
    const warm = warmThroughputFor(plan);
    expect(warm.writes).toBe(defaultCapacityLimits.tableMaxWriteUnits);
    expect(warm.reads).toBe(30_000);
    expect(warm.warnings.join('\n')).toMatch(/270000 WRU\/s.*40000/);
  });

  it('follows a raised table maximum given in context', () => {
    const plan = { drops: [drop('SNKR-001', '2027-03-01T17:00:00Z', 20_000, 5000)] };
    const warm = warmThroughputFor(plan, { ...defaultCapacityLimits, tableMaxWriteUnits: 300_000 });
    expect(warm.writes).toBe(270_000);
    expect(warm.warnings).toEqual([]);
  });

  it('never asks less than the floor the stage declares', () => {
    const warm = warmThroughputFor({ drops: [] }, { ...defaultCapacityLimits, warmWritesFloor: 27_000 });
    expect(warm.writes).toBe(27_000);
    expect(warm.reads).toBe(assumptions.tableWarmReads);
  });

  it('refuses a floor above the table maximum instead of warning', () => {
    expect(() => planCapacity({ drops: [] }, now, { ...defaultCapacityLimits, warmWritesFloor: 50_000 })).toThrow(
      CapacityError,
    );
    expect(() =>
      planCapacity({ drops: [] }, now, { ...defaultCapacityLimits, warmReadsFloor: 12_000, tableMaxReadUnits: 10_000 }),
    ).toThrow(/warmReadsFloor 12000 is above tableMaxReadUnits 10000/);
  });
});
