import { MAX_ITEM_BYTES, MAX_VIEW_REPLICAS } from '../../contract/stock-view';
import {
  assertDeployable,
  assumptions,
  busiestPartitionShare,
  CapacityError,
  checkoutProvisionedFor,
  defaultCapacityLimits,
  demandOf,
  invocationSecondsAt,
  partitionRefusals,
  planCapacity,
  provisionedFor,
  shardsFor,
  viewReadUnitsPerSecond,
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
  it("sizes provisioned concurrency by Little's law, retries included", () => {
    // A shard with no contention: one try of 0.1 s; 240 attempts/s × 0.1 × 1.5 = 36.
    expect(invocationSecondsAt(0)).toBe(assumptions.reserveSeconds);
    const calm = demandOf(drop('A', '2030-01-02T18:00:00Z', 240, 1000));
    expect(calm.shards).toBe(24);
    expect(calm.conflictShare).toBeCloseTo(1 - Math.exp(-0.25), 6);
    // Each retry costs another transaction and its backoff, weighted by the chance it happens.
    expect(calm.invocationSeconds).toBeGreaterThan(assumptions.reserveSeconds);
    expect(calm.attemptsPerRequest).toBeCloseTo(1 / Math.exp(-0.25), 1);
    expect(provisionedFor(calm.drop)).toBe(Math.ceil(240 * (1 + calm.busyShare) * calm.invocationSeconds * 1.5));
    expect(provisionedFor(calm.drop)).toBeGreaterThan(Math.ceil(240 * 0.1 * 1.5));
    // More contention, longer invocations: the same peak on fewer shards needs more environments.
    expect(invocationSecondsAt(0.9)).toBeGreaterThan(invocationSecondsAt(0.5));
  });

  it('sizes the checkout path by the units to be paid for, spread over a minute, one second each', () => {
    // 6,000 units / 60 s = 100 checkouts/s × 1 s each = 100 in flight; × 1.5 headroom = 150.
    expect(checkoutProvisionedFor(drop('A', '2030-01-02T18:00:00Z', 4000, 6000))).toBe(150);
    // Never more checkouts than attempts: 30 attempts/s cap 600,000 units' rate of 10,000/s.
    expect(checkoutProvisionedFor(drop('A', '2030-01-02T18:00:00Z', 30, 600_000))).toBe(45);
    expect(checkoutProvisionedFor(drop('A', '2030-01-02T18:00:00Z', 4000, 10))).toBe(1);
  });

  it('sizes shards by concurrent transactions per item: peak × latency / 0.25, within the cap and the units', () => {
    // 200 attempts/s × 25 ms = 5 in flight; 0.25 per shard → 20 shards.
    expect(demandOf(drop('A', '2030-01-02T18:00:00Z', 200)).shardsWanted).toBe(20);
    expect(shardsFor(drop('A', '2030-01-02T18:00:00Z', 200))).toBe(20);
    expect(shardsFor(drop('A', '2030-01-02T18:00:00Z', 200_000, 1_000_000))).toBe(assumptions.maxShards);
    expect(shardsFor(drop('A', '2030-01-02T18:00:00Z', 2000, 3))).toBe(3);
    expect(shardsFor(drop('A', '2030-01-02T18:00:00Z', 10))).toBe(1);
    // The cap is read, not copied: a larger MAX_SHARDS gives the drop what it wants.
    expect(shardsFor(drop('A', '2030-01-02T18:00:00Z', 200_000, 1_000_000), 100_000)).toBe(20_000);
    // Within the target, about 22 % of tries meet another transaction; at the cap, far more.
    const capped = demandOf(drop('A', '2030-01-02T18:00:00Z', 20_000, 5000), 64);
    expect(capped.inFlightPerShard).toBeCloseTo((20_000 / 64) * 0.025, 6);
    expect(capped.conflictShare).toBeGreaterThan(0.5);
  });

  it('warns when the shard cap applies, with what the uncapped plan would need', () => {
    const capacity = planCapacity({ drops: [drop('HOT', '2030-01-02T18:00:00Z', 200_000, 50_000)] }, now);
    expect(capacity.warnings.join('\n')).toMatch(
      /HOT: 20000 shards keep 0.25 transactions in flight per shard; capped at 10000/,
    );
  });

  it('counts what a partition takes until split-for-heat acts: several shard keys share one', () => {
    // 64 keys over 40 partitions: one partition holds several of them.
    expect(busiestPartitionShare(64, 40, 0.99)).toBeGreaterThan(2);
    expect(busiestPartitionShare(64, 1, 0.99)).toBe(64);
    expect(busiestPartitionShare(1, 40, 0.99)).toBe(1);
    // More partitions, fewer keys on the busiest.
    expect(busiestPartitionShare(64, 400, 0.99)).toBeLessThan(busiestPartitionShare(64, 40, 0.99));
    const capacity = planCapacity({ drops: [drop('HOT', '2030-01-02T18:00:00Z', 5000, 100_000)] }, now);
    expect(capacity.warnings.join('\n')).toMatch(/split-for-heat/);
  });

  it('pre-warms writes to what can actually write: a sell-out under a second writes less than a second of tries', () => {
    const quick = demandOf(drop('A', '2030-01-02T18:00:00Z', 2000, 200));
    const long = demandOf(drop('A', '2030-01-02T18:00:00Z', 2000, 50_000));
    expect(quick.sellOutSeconds).toBeLessThan(1);
    expect(quick.writeTriesPerSecond).toBeLessThan(long.writeTriesPerSecond);
    expect(long.writeUnitsPerSecond).toBe(long.writeTriesPerSecond * 9);
    // Never more tries than the shard items take (500 each).
    const capped = demandOf(drop('A', '2030-01-02T18:00:00Z', 100_000, 1_000_000));
    expect(capped.writeTriesPerSecond).toBeLessThanOrEqual(capped.shards * 500);
  });

  it('scales up before the drop and back down after it', () => {
    const capacity = planCapacity({ drops: [drop('A', '2030-01-02T18:00:00Z', 4000)] }, now);
    expect(capacity.reservation.schedule).toEqual([
      { at: new Date('2030-01-02T17:45:00Z'), minProvisioned: provisionedFor(drop('A', '', 4000)), reason: 'before A' },
      {
        at: new Date('2030-01-02T19:00:00Z'),
        minProvisioned: assumptions.baselineProvisioned,
        reason: 'after the drop',
      },
    ]);
    expect(capacity.reservation.maxProvisioned).toBe(2 * provisionedFor(drop('A', '', 4000)));
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
    const [a, b] = [provisionedFor(drop('A', '', 1000)), provisionedFor(drop('B', '', 2000))];
    expect(capacity.reservation.schedule.map((step) => [step.at.toISOString(), step.minProvisioned])).toEqual([
      ['2030-01-02T17:45:00.000Z', a],
      ['2030-01-02T18:15:00.000Z', a + b],
      ['2030-01-02T19:00:00.000Z', b],
      ['2030-01-02T19:30:00.000Z', 1],
    ]);
    // Both drops' writes at once, within the table's maximum.
    const alone = planCapacity({ drops: [drop('B', '2030-01-02T18:30:00Z', 2000)] }, now).table.warmWritesPerSecond;
    expect(capacity.table.warmWritesPerSecond).toBeGreaterThan(alone);
    expect(capacity.table.warmWritesPerSecond).toBeLessThanOrEqual(40_000);
    expect(capacity.api.reservationRateLimit).toBe(4500);
  });

  it('gives a window already open at deploy its floor as the minimum at deploy, never a schedule in the past', () => {
    const capacity = planCapacity(
      { drops: [drop('OLD', '2029-12-01T18:00:00Z', 1000), drop('LIVE', '2029-12-31T23:50:00Z', 1000)] },
      now,
    );
    expect(capacity.reservation.minAtDeploy).toBe(provisionedFor(drop('LIVE', '', 1000)));
    expect(capacity.reservation.schedule).toEqual([
      { at: new Date('2030-01-01T00:50:00Z'), minProvisioned: 1, reason: 'after the drop' },
    ]);
    for (const step of [...capacity.reservation.schedule, ...capacity.checkout.schedule]) {
      expect(step.at.getTime()).toBeGreaterThan(now.getTime());
    }
    expect(capacity.warnings).toContainEqual(expect.stringContaining('OLD at'));
    expect(capacity.shardsBySku).toEqual({ LIVE: Math.min(100, assumptions.maxShards) });
  });

  it('treats a window opening before a deploy could finish as open at deploy', () => {
    // Opens 10 minutes after synth (15-minute lead): inside the 30-minute deploy margin.
    const capacity = planCapacity({ drops: [drop('SOON', '2030-01-01T00:25:00Z', 1000)] }, now);
    expect(capacity.reservation.minAtDeploy).toBe(provisionedFor(drop('SOON', '', 1000)));
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
    expect(capacity.table).toEqual({ warmWritesPerSecond: 4000, warmReadsPerSecond: 12000, partitions: 4 });
    expect(capacity.api.rateLimit).toBe(1000);
    expect(capacity.warnings).toEqual([]);
  });

  it('names every quota a plan needs past the defaults', () => {
    const capacity = planCapacity({ drops: [drop('HUGE', '2030-01-02T18:00:00Z', 20_000, 100_000)] }, now);
    const short = capacity.quotas.filter((quota) => quota.short).map((quota) => quota.contextKey);
    expect(short).toEqual(['accountConcurrency', 'tableMaxWriteUnits', 'apiAccountRps']);
    expect(capacity.warnings.join('\n')).toMatch(/table-level quota/);
    expect(() => assertDeployable(capacity, defaultCapacityLimits)).toThrow(/Concurrent executions/);
  });

  it('counts on-demand functions beside the provisioned paths, and warns when the ceilings pass the account', () => {
    const capacity = planCapacity({ drops: [drop('A', '2030-01-02T18:00:00Z', 2000, 5000)] }, now);
    expect(capacity.lambda.onDemandAtPeak).toBeGreaterThanOrEqual(10 + 1 + 50);
    const lambda = capacity.quotas.find((quota) => quota.contextKey === 'accountConcurrency');
    expect(lambda?.needed).toBe(
      capacity.lambda.peakProvisioned + Math.max(assumptions.unreservedMinimum, capacity.lambda.onDemandAtPeak),
    );
    expect(capacity.warnings.join('\n')).toMatch(/on-demand beside them/);
    const raised = planCapacity({ drops: [drop('A', '2030-01-02T18:00:00Z', 2000, 5000)] }, now, {
      ...defaultCapacityLimits,
      accountConcurrency: 5000,
    });
    expect(raised.warnings.join('\n')).not.toMatch(/on-demand beside them/);
  });

  it('refuses provisioned floors above the account concurrency minus the 100 Lambda keeps unreserved', () => {
    const plan = { drops: [drop('A', '2030-01-02T18:00:00Z', 5000, 5000)] };
    const capacity = planCapacity(plan, now);
    expect(capacity.lambda.peakProvisioned).toBeGreaterThan(900);
    expect(() => assertDeployable(capacity, defaultCapacityLimits)).toThrow(CapacityError);
    const enough = { ...defaultCapacityLimits, accountConcurrency: capacity.lambda.peakProvisioned + 100 };
    expect(() => assertDeployable(planCapacity(plan, now, enough), enough)).not.toThrow();
    expect(() =>
      assertDeployable(planCapacity(plan, now, { ...enough, accountConcurrency: enough.accountConcurrency - 1 }), {
        ...enough,
        accountConcurrency: enough.accountConcurrency - 1,
      }),
    ).toThrow(/accountConcurrency/);
  });

  it('keeps stage and method throttles within the account rate in context', () => {
    const plan = { drops: [drop('HUGE', '2030-01-02T18:00:00Z', 20_000)] };
    for (const apiAccountRps of [10_000, 2_500, 50_000]) {
      const { api } = planCapacity(plan, now, { ...defaultCapacityLimits, apiAccountRps });
      expect(api.rateLimit).toBeLessThanOrEqual(apiAccountRps);
      expect(api.reservationRateLimit).toBeLessThanOrEqual(api.rateLimit);
      expect(api.burstLimit).toBeLessThanOrEqual(Math.min(api.rateLimit, 5000));
    }
    const { api } = planCapacity(plan, now, { ...defaultCapacityLimits, apiAccountRps: 50_000 });
    expect(api).toMatchObject({ rateLimit: 31_000, reservationRateLimit: 30_000 });
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
    // The drop that is over still counts: nothing in the plan asks less than it did.
    expect(after.warmWritesPerSecond).toBeGreaterThanOrEqual(
      planCapacity({ drops: [future] }, now).table.warmWritesPerSecond,
    );
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
    const demand = demandOf(plan.drops[0] as (typeof plan.drops)[0]);
    expect(warm.writes).toBe(defaultCapacityLimits.tableMaxWriteUnits);
    // Refusals at 1 RRU × 1.5, and every environment's stock-view refresh (6,544 × 1.5 RRU).
    expect(warm.reads).toBe(30_000 + viewReadUnitsPerSecond(demand));
    expect(warm.reads).toBe(39_816);
    // Bounded by what the shard items take (500 tries × 9 WRU each) and by the sell-out.
    expect(warm.wantedWrites).toBeGreaterThanOrEqual(demand.writeUnitsPerSecond);
    expect(demand.writeTriesPerSecond).toBeLessThanOrEqual(demand.shards * 500);
    expect(warm.warnings.join('\n')).toContain(
      `asks ${warm.wantedWrites} WRU/s; the table is pre-warmed to its on-demand maximum 40000`,
    );
  });

  it('follows a raised table maximum given in context', () => {
    const plan = { drops: [drop('SNKR-001', '2027-03-01T17:00:00Z', 20_000, 5000)] };
    const warm = warmThroughputFor(plan, { ...defaultCapacityLimits, tableMaxWriteUnits: 300_000 });
    // What the shards can write, raised towards partitions enough for them, past the default and within the granted maximum.
    expect(warm.writes).toBeGreaterThan(defaultCapacityLimits.tableMaxWriteUnits);
    expect(warm.writes).toBeLessThanOrEqual(300_000);
    expect(warm.warnings.join('\n')).not.toMatch(/on-demand maximum/);
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

describe('100,000 holds a second on one SKU, on paper', () => {
  const hundredK = drop('SNKR-100K', '2030-01-02T18:00:00Z', 100_000, 50_000);

  it('takes 10,000 shards at 0.25 transactions in flight each', () => {
    const demand = demandOf(hundredK);
    expect(demand.shards).toBe(10_000);
    expect(demand.inFlightPerShard).toBeCloseTo(0.25, 6);
    expect(demand.holdCapacity).toBe(100_000);
    expect(demand.holdsPerSecond).toBe(100_000);
  });

  it('keeps every item it concentrates on within what its partition serves', () => {
    const demand = demandOf(hundredK);
    const over = demand.partitionLoads.filter((load) => load.perSecond > load.limit);
    expect(over).toEqual([]);
    expect(partitionRefusals(demand)).toEqual([]);
    // The stock vector: ~30 KB, four read units a read, over as many replicas as the environments need.
    expect(demand.vectorBytes).toBeLessThan(MAX_ITEM_BYTES);
    expect(demand.viewReplicas).toBe(demand.viewReplicasWanted);
    const vectorReads = demand.partitionLoads.find(
      (load) => load.item === 'stock-vector replica' && load.unit === 'RCU',
    );
    expect(vectorReads?.perSecond).toBeLessThanOrEqual(3000);
    expect(vectorReads?.perSecond).toBeGreaterThan(2000);
  });

  it('names the SKU’s replicas for the stack and the quota raises the drop needs, and refuses nothing', () => {
    const capacity = planCapacity({ drops: [hundredK] }, now);
    const demand = demandOf(hundredK);
    expect(capacity.shardsBySku).toEqual({ 'SNKR-100K': 10_000 });
    expect(capacity.viewReplicasBySku).toEqual({ 'SNKR-100K': demand.viewReplicas });
    expect(capacity.refusals).toEqual([]);
    const short = capacity.quotas.filter((quota) => quota.short).map((quota) => quota.contextKey);
    expect(short).toEqual(['accountConcurrency', 'tableMaxWriteUnits', 'tableMaxReadUnits', 'apiAccountRps']);
  });

  it('gives a drop within one item’s reads a single stock vector, kept by the relay', () => {
    const demand = demandOf(drop('A', '2030-01-02T18:00:00Z', 2000, 1000));
    expect(demand.viewReplicas).toBe(1);
    expect(planCapacity({ drops: [demand.drop] }, now).viewReplicasBySku).toEqual({});
    const vectorWrites = demand.partitionLoads.find(
      (load) => load.item === 'stock-vector replica' && load.unit === 'WCU',
    );
    expect(vectorWrites?.detail).toMatch(/every relay invocation/);
  });

  it('prices the relay at every poll of each stream shard (4 a second, no batching window), or a full batch', () => {
    const demand = demandOf(hundredK);
    const streamShards = Math.ceil(demand.writeUnitsPerSecond / 1000);
    // 867 stream shards polled 4 times a second, more than 100,000 holds/s in full batches of 100.
    expect(demand.relayInvocationsPerSecond).toBe(streamShards * 4);
    expect(streamShards * 4).toBeGreaterThan(demand.holdsPerSecond / 100);
    const groupWrites = demand.partitionLoads.find((load) => load.item === 'snapshot group' && load.unit === 'WCU');
    expect(groupWrites?.detail).toMatch(new RegExp(`^${streamShards * 4} relay invocations/s`));
    // A calm drop: its few stream shards are each polled 4 times a second.
    const calm = demandOf(drop('A', '2030-01-02T18:00:00Z', 120, 1000));
    expect(calm.relayInvocationsPerSecond).toBe(Math.ceil(calm.writeUnitsPerSecond / 1000) * 4);
  });

  it.each([
    ['publish past its message group’s 300 a second', 6_000, 5_000],
    ['write its one vector past a partition', 8_000, 5_000],
    ['do both', 12_000, 50_000],
  ])(
    'replicates, not refuses, a SKU whose relay would %s: the sweeper publishes it once a second',
    (_why, rps, units) => {
      const demand = demandOf(drop('HOT', '2030-01-02T18:00:00Z', rps, units));
      const capacity = planCapacity({ drops: [demand.drop] }, now);

      expect(demand.relayInvocationsPerSecond).toBeGreaterThan(300);
      expect(demand.viewReplicas).toBe(2);
      expect(capacity.viewReplicasBySku).toEqual({ HOT: 2 });
      expect(capacity.refusals).toEqual([]);
      const vectorWrites = demand.partitionLoads.find(
        (load) => load.item === 'stock-vector replica' && load.unit === 'WCU',
      );
      expect(vectorWrites?.detail).toMatch(/the sweeper, once a second/);
    },
  );

  it('refuses a plan past what replicas can spread: more environments than the replicas carry', () => {
    const capacity = planCapacity({ drops: [drop('OVER', '2030-01-02T18:00:00Z', 200_000, 50_000)] }, now);
    const refused = capacity.refusals.join('\n');
    expect(refused).toMatch(/OVER: each product replica takes \d+ RCU\/s, over the 3000 one partition serves/);
    expect(refused).toMatch(
      new RegExp(`stock-vector replicas would keep each within a partition's reads; at most ${MAX_VIEW_REPLICAS}`),
    );
    const limits = { ...defaultCapacityLimits, accountConcurrency: 10_000_000 };
    expect(() => assertDeployable(capacity, limits)).toThrow(/past what one partition serves/);
  });
});
