/**
 * Least privilege inside the inventory table: which partition key prefixes
 * each function may write and read, read back from the synthesized template.
 * The expected tables are written out here on purpose, so widening a grant in
 * the stack fails this test until the table below is changed too.
 */
import { type CfnElement, Stack } from 'aws-cdk-lib';
import { AttributeType, TableV2 } from 'aws-cdk-lib/aws-dynamodb';
import { Code, Function as LambdaFunction, Runtime } from 'aws-cdk-lib/aws-lambda';
import { type TableAccess, useInventoryTable } from '../../lib/constructs/grants';
import type { FunctionName } from '../../lib/stacks/stateless-stack';
import { resourcesOf, type Synthesized, synthesize } from './synth';

const WRITES: Readonly<Record<FunctionName, readonly string[]>> = {
  'create-reservation': ['IDEMPOTENCY#', 'LIMIT#', 'LOAD#', 'RESERVATION#', 'STOCK#'],
  'release-reservation': ['CHARGE#', 'LIMIT#', 'REFUND#', 'RESERVATION#', 'STOCK#'],
  'expire-holds': ['CHARGE#', 'LIMIT#', 'REFUND#', 'RESERVATION#', 'SNAPSHOT#', 'STOCK#', 'STOCKVIEW#'],
  'checkout-reservation': ['CHARGE#', 'ORDER#', 'REFUND#', 'RESERVATION#', 'STOCK#'],
  'put-product': ['PRODUCT#', 'PRODUCTPUT#', 'STOCK#'],
  'restock-product': ['RESTOCK#', 'STOCK#'],
  'fulfil-orders': ['DISPATCH#', 'ORDER#'],
  'apply-channel-events': ['CHANNEL#'],
  'publish-edge-state': [],
  'advance-admission': [],
  'get-product': [],
  'get-reservation': [],
  'get-order': [],
  'get-channels': [],
  'get-ledger': [],
  'post-feedback': ['FEEDBACK#'],
  'get-feedback': [],
  'control-drop': ['PRODUCT#'],
  health: [],
  'publish-changes': ['SNAPSHOT#', 'STOCKVIEW#'],
  'redrive-outbox': ['SNAPSHOT#', 'STOCKVIEW#'],
};

const READS: Readonly<Record<FunctionName, 'any' | readonly string[]>> = {
  'get-reservation': ['RESERVATION#'],
  'get-order': ['ORDER#'],
  health: ['PRODUCT#'],
  'get-feedback': ['FEEDBACK#', 'PRODUCT#'],
  'fulfil-orders': ['ORDER#'],
  'apply-channel-events': ['CHANNEL#'],
  'publish-edge-state': ['PRODUCT#'],
  'advance-admission': ['LOAD#'],
  'get-product': 'any',
  'create-reservation': 'any',
  'release-reservation': 'any',
  'expire-holds': 'any',
  'checkout-reservation': 'any',
  'put-product': 'any',
  'restock-product': 'any',
  'get-channels': 'any',
  'get-ledger': 'any',
  'post-feedback': 'any',
  'control-drop': 'any',
  'publish-changes': 'any',
  'redrive-outbox': 'any',
};

const ITEM_WRITES = ['dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:DeleteItem', 'dynamodb:BatchWriteItem'];
const ITEM_READS = ['dynamodb:GetItem', 'dynamodb:BatchGetItem'];

interface Statement {
  readonly Action: string | string[];
  readonly Condition?: Record<string, Record<string, string | string[]>>;
}

let synth: Synthesized;
beforeAll(() => {
  synth = synthesize();
});

function tableStatements(name: FunctionName): Statement[] {
  const fn = synth.stacks.stateless.functions.get(name);
  if (!fn?.role) throw new Error(`no function ${name}`);
  const roleId = synth.stacks.stateless.getLogicalId(fn.role.node.defaultChild as CfnElement);
  return Object.values(resourcesOf(synth.stateless, 'AWS::IAM::Policy'))
    .filter((policy) => (policy.Properties.Roles as Array<{ Ref: string }>).some((role) => role.Ref === roleId))
    .flatMap((policy) => (policy.Properties.PolicyDocument as { Statement: Statement[] }).Statement)
    .filter((statement) => [statement.Action].flat().some((action) => action.startsWith('dynamodb:')));
}

const leadingKeys = (statement: Statement): string[] | undefined => {
  const values = statement.Condition?.['ForAllValues:StringLike']?.['dynamodb:LeadingKeys'];
  return values === undefined ? undefined : [values].flat();
};

/** The prefixes an action is allowed on, over every statement naming it: `any` when one is unconditioned. */
function prefixesFor(statements: Statement[], action: string): 'any' | string[] {
  const granting = statements.filter((statement) => [statement.Action].flat().includes(action));
  const prefixes = new Set<string>();
  for (const statement of granting) {
    const keys = leadingKeys(statement);
    if (!keys) return 'any';
    for (const key of keys) prefixes.add(key.replace(/\*$/, ''));
  }
  return [...prefixes].sort();
}

describe('inventory table grants', () => {
  const names = Object.keys(WRITES) as FunctionName[];

  it('cover every function of the stack, and only those', () => {
    expect([...synth.stacks.stateless.functions.keys()].sort()).toEqual([...names].sort());
    expect(Object.keys(READS).sort()).toEqual([...names].sort());
  });

  it.each(names)('let %s write exactly the key prefixes it owns', (name) => {
    const statements = tableStatements(name);
    for (const action of ['dynamodb:PutItem', 'dynamodb:UpdateItem']) {
      const allowed = prefixesFor(statements, action);
      expect({ action, allowed }).toEqual({ action, allowed: [...WRITES[name]].sort() });
    }
  });

  it.each(names)('give %s no write statement without a LeadingKeys condition and its Null check', (name) => {
    for (const statement of tableStatements(name)) {
      if (![statement.Action].flat().some((action) => ITEM_WRITES.includes(action))) continue;
      expect(leadingKeys(statement)?.length).toBeGreaterThan(0);
      expect(statement.Condition?.Null).toEqual({ 'dynamodb:LeadingKeys': 'false' });
      // A key-scoped statement holds only item-addressed actions: a Scan or Query in it would pass with no key.
      expect([statement.Action].flat().every((action) => [...ITEM_WRITES, ...ITEM_READS].includes(action))).toBe(true);
    }
  });

  it.each(names)('let %s read the key prefixes listed for it', (name) => {
    const statements = tableStatements(name);
    for (const action of ITEM_READS) {
      const expected = READS[name];
      expect({ action, allowed: prefixesFor(statements, action) }).toEqual({
        action,
        allowed: expected === 'any' ? 'any' : [...expected].sort(),
      });
    }
  });

  it('never lets a function delete items or batch-write', () => {
    for (const name of names) {
      const actions = tableStatements(name).flatMap((statement) => [statement.Action].flat());
      expect(actions).not.toContain('dynamodb:DeleteItem');
      expect(actions).not.toContain('dynamodb:BatchWriteItem');
    }
  });
});

describe('useInventoryTable', () => {
  const grant = (access: TableAccess) => {
    const stack = new Stack();
    const table = new TableV2(stack, 'Table', { partitionKey: { name: 'pk', type: AttributeType.STRING } });
    const fn = new LambdaFunction(stack, 'Fn', {
      runtime: Runtime.NODEJS_24_X,
      handler: 'index.handler',
      code: Code.fromInline('exports.handler = async () => {}'),
    });
    useInventoryTable(fn, table, access);
  };

  it('refuses a prefix that is not a key prefix, so a wildcard cannot slip into the condition', () => {
    expect(() => grant({ reads: 'any', writes: ['*#'] as never })).toThrow(/not a key prefix/);
    expect(() => grant({ reads: 'any', writes: ['STOCK' as never] })).toThrow(/not a key prefix/);
    expect(() => grant({ reads: [] })).toThrow(/at least one key prefix/);
  });

  it('refuses a query on an index the table does not have', () => {
    expect(() => grant({ reads: 'any', queries: ['byCustomer'] })).toThrow(/no index byCustomer/);
  });
});
