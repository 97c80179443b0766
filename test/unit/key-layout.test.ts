import { keyPrefixes } from '../../contract/inventory-table';
import { keyIdOf, keys } from '../../lambdas/adapters/dynamodb-inventory-items';

type KeyBuilder = (...parts: string[]) => { readonly pk: string };

describe('the inventory table key layout', () => {
  it.each(Object.entries(keys))('builds %s keys under the prefix the contract names for them', (name, build) => {
    const prefix = (keyPrefixes as Readonly<Record<string, string>>)[name];
    expect(prefix).toBeDefined();
    expect((build as KeyBuilder)('part', 'other').pk.startsWith(prefix as string)).toBe(true);
  });

  it.each([
    ['reservation', keyPrefixes.reservation, keys.reservation],
    ['refund', keyPrefixes.refund, keys.refund],
    ['stockVector', keyPrefixes.stockVector, keys.stockVector],
  ] as const)('reads the id back from a %s key, as the index queries list them', (_, prefix, build) => {
    expect(keyIdOf(prefix, build('id#with#hashes'))).toBe('id#with#hashes');
  });

  it('gives every item kind a prefix that no other prefix starts with, so a LeadingKeys grant covers one kind', () => {
    const prefixes = Object.values(keyPrefixes);
    for (const prefix of prefixes) {
      expect(prefixes.filter((other) => other.startsWith(prefix))).toEqual([prefix]);
    }
  });
});
