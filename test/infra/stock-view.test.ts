/**
 * Issue 12, point 20 on the synthesized templates: a plan of 100,000 holds a
 * second on one SKU synthesizes once context declares the quotas it needs,
 * with its 10,000 shards and stock-vector replicas handed to product
 * creation; a plan that would take an item past its partition does not
 * synthesize, whatever quotas context declares.
 */
import { Match } from 'aws-cdk-lib/assertions';
import { CapacityError, defaultCapacityLimits, demandOf } from '../../lib/config/capacity';
import { parseDropPlan } from '../../lib/config/drop-plan';
import { synthesize } from './synth';

const hundredK = parseDropPlan({
  drops: [{ sku: 'SNKR-100K', startsAt: '2030-02-01T17:00:00Z', expectedPeakRps: 100_000, units: 50_000 }],
});

/** What the preflight names for this plan, granted. */
const raised = {
  ...defaultCapacityLimits,
  accountConcurrency: 40_000,
  tableMaxWriteUnits: 1_000_000,
  tableMaxReadUnits: 300_000,
  apiAccountRps: 160_000,
  apiAccountBurst: 80_000,
};

const putProduct = { Description: Match.stringLikeRegexp('^PUT /admin/products') };

describe('a plan of 100,000 holds a second on one SKU', () => {
  it('synthesizes with the quotas it names, handing product creation its shards and replicas', () => {
    const { stateless } = synthesize({ dropPlan: hundredK, capacityLimits: raised });
    const demand = demandOf(hundredK.drops[0] as (typeof hundredK.drops)[0]);
    expect(demand.viewReplicas).toBeGreaterThan(1);

    stateless.hasResourceProperties('AWS::Lambda::Function', {
      ...putProduct,
      Environment: {
        Variables: Match.objectLike({
          PLANNED_SHARDS: JSON.stringify({ 'SNKR-100K': 10_000 }),
          PLANNED_VIEW_REPLICAS: JSON.stringify({ 'SNKR-100K': demand.viewReplicas }),
        }),
      },
    });
  });

  it('does not synthesize on the default quotas, naming the first that stops it', () => {
    expect(() => synthesize({ dropPlan: hundredK })).toThrow(/-c accountConcurrency/);
  });
});

it('gives product creation no replicas for a plan one stock-vector item serves', () => {
  const { stateless } = synthesize();

  stateless.hasResourceProperties('AWS::Lambda::Function', {
    ...putProduct,
    Environment: { Variables: Match.objectLike({ PLANNED_VIEW_REPLICAS: '{}' }) },
  });
});

it('refuses a plan that would take an item past its partition, whatever quotas context declares', () => {
  const tooHot = parseDropPlan({
    drops: [{ sku: 'TOO-HOT', startsAt: '2030-02-01T17:00:00Z', expectedPeakRps: 200_000, units: 50_000 }],
  });
  const limits = { ...raised, accountConcurrency: 10_000_000, apiAccountRps: 1_000_000, apiAccountBurst: 500_000 };

  expect(() => synthesize({ dropPlan: tooHot, capacityLimits: limits })).toThrow(CapacityError);
  expect(() => synthesize({ dropPlan: tooHot, capacityLimits: limits })).toThrow(
    /TOO-HOT: each product replica takes \d+ RCU\/s, over the 3000 one partition serves/,
  );
});
