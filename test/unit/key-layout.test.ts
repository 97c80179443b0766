import { keyPrefixes } from '../../contract/inventory-table';
import { keys } from '../../lambdas/adapters/dynamodb-inventory-store';

type KeyBuilder = (...parts: string[]) => { readonly pk: string };

describe('the inventory table key layout', () => {
  it.each(Object.entries(keys))('builds %s keys under the prefix the contract names for them', (name, build) => {
    const prefix = (keyPrefixes as Readonly<Record<string, string>>)[name];
    expect(prefix).toBeDefined();
    expect((build as KeyBuilder)('part', 'other').pk.startsWith(prefix as string)).toBe(true);
  });

  it('gives every item kind a prefix that no other prefix starts with, so a LeadingKeys grant covers one kind', () => {
    const prefixes = Object.values(keyPrefixes);
    for (const prefix of prefixes) {
      expect(prefixes.filter((other) => other.startsWith(prefix))).toEqual([prefix]);
    }
  });
});
