/**
 * The stack hands product creation the plan's word on waiting rooms: the put-product function's
 * `PLANNED_WAITING_ROOMS` lists the SKUs whose peak asks more than the stock path absorbs, and only them.
 */
import { Match } from 'aws-cdk-lib/assertions';
import { parseDropPlan } from '../../lib/config/drop-plan';
import { synthesize } from './synth';

const putProduct = { Description: Match.stringLikeRegexp('^PUT /admin/products') };

it('lists the planned SKUs that need a waiting room on the put-product function, and not the others', () => {
  const dropPlan = parseDropPlan({
    drops: [
      { sku: 'SNKR-HOT', startsAt: '2030-03-14T17:00:00Z', expectedPeakRps: 2_000, units: 5_000 },
      { sku: 'TEE-CALM', startsAt: '2030-03-15T17:00:00Z', expectedPeakRps: 50, units: 1_000 },
    ],
  });

  const { stateless } = synthesize({ dropPlan });

  stateless.hasResourceProperties('AWS::Lambda::Function', {
    ...putProduct,
    Environment: { Variables: Match.objectLike({ PLANNED_WAITING_ROOMS: JSON.stringify(['SNKR-HOT']) }) },
  });
});

it('lists none for a plan the stock path absorbs', () => {
  const dropPlan = parseDropPlan({
    drops: [{ sku: 'TEE-CALM', startsAt: '2030-03-15T17:00:00Z', expectedPeakRps: 50, units: 1_000 }],
  });

  const { stateless } = synthesize({ dropPlan });

  stateless.hasResourceProperties('AWS::Lambda::Function', {
    ...putProduct,
    Environment: { Variables: Match.objectLike({ PLANNED_WAITING_ROOMS: '[]' }) },
  });
});
