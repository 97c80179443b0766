import {
  PlannedShardsError,
  parsePlannedShards,
  parsePlannedViewReplicas,
  plannedShardsValue,
} from '../../contract/env-vars';
import { MAX_SHARDS } from '../../contract/inventory-table';
import { MAX_VIEW_REPLICAS } from '../../contract/stock-view';

describe('PLANNED_SHARDS', () => {
  it('reads back the shard counts the stack wrote', () => {
    const planned = { 'SNKR-RED-42': 200, 'HOODIE-BLK': 40 };

    expect(parsePlannedShards(plannedShardsValue(planned))).toEqual(planned);
  });

  it('is empty when the variable is unset', () => {
    expect(parsePlannedShards('')).toEqual({});
  });

  it.each([
    ['a count above the cap', MAX_SHARDS + 1],
    ['a count of zero', 0],
    ['a fractional count', 1.5],
    ['a count given as a string', '12'],
  ])('refuses the whole value when one entry has %s, naming the SKU', (_, count) => {
    const value = JSON.stringify({ 'SNKR-RED-42': 200, 'HOODIE-BLK': count });

    expect(() => parsePlannedShards(value)).toThrow(
      new PlannedShardsError(`HOODIE-BLK: a whole number from 1 to ${MAX_SHARDS}`),
    );
  });

  it('refuses a key that is not a SKU', () => {
    expect(() => parsePlannedShards(JSON.stringify({ 'SNKR-RED-42': 200, 'not a sku': 4 }))).toThrow(
      /not a sku is not a SKU/,
    );
  });

  it.each([
    ['not JSON', '{"SNKR-RED-42": 200', /PLANNED_SHARDS is not valid: not JSON/],
    ['an array', '[200]', /PLANNED_SHARDS is not valid: not an object of SKU → shards/],
  ])('refuses a value that is %s', (_, value, message) => {
    expect(() => parsePlannedShards(value)).toThrow(message);
  });
});

describe('PLANNED_VIEW_REPLICAS', () => {
  it('reads back the replica counts the stack wrote', () => {
    const planned = { 'SNKR-RED-42': 44, 'HOODIE-BLK': 2 };

    expect(parsePlannedViewReplicas(JSON.stringify(planned))).toEqual(planned);
  });

  it.each([
    ['a count above the cap', MAX_VIEW_REPLICAS + 1],
    ['a count of zero', 0],
  ])('refuses the whole value when one entry has %s, naming the variable and the SKU', (_, count) => {
    expect(() => parsePlannedViewReplicas(JSON.stringify({ 'SNKR-RED-42': 4, 'HOODIE-BLK': count }))).toThrow(
      `PLANNED_VIEW_REPLICAS is not valid: HOODIE-BLK: a whole number from 1 to ${MAX_VIEW_REPLICAS}`,
    );
  });
});
