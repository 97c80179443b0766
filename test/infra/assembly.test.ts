/**
 * The synthesized cloud assembly, read as the local runtime reads it: stacks
 * in deploy order, every resource type placed (emulated, or left out with a
 * reason), every function's environment resolvable to local values, and
 * names as CloudFormation would generate them.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App } from 'aws-cdk-lib';
import { buildDroplineApp } from '../../lib/app';
import { type DeploySettings, readSettings } from '../../lib/config/settings';
import { AssemblyError, type CloudAssembly, readCloudAssembly, resourcesOf } from '../../local/assembly/cloud-assembly';
import { LOCAL_COVERAGE, notEmulated, unclassified } from '../../local/assembly/coverage';
import { assemblyEdge } from '../../local/assembly/edge';
import { IntrinsicResolver, LOCAL_ACCOUNT_ID, type ResourceValues } from '../../local/assembly/intrinsics';
import { generatedName, NAMING } from '../../local/assembly/names';
import { dns, NOW, plan } from './synth';

const outdirs: string[] = [];
afterAll(() => {
  for (const dir of outdirs) rmSync(dir, { recursive: true, force: true });
});

function synthesizeAssembly(overrides: Partial<DeploySettings> = {}): CloudAssembly {
  const outdir = mkdtempSync(join(tmpdir(), 'dropline-assembly-'));
  outdirs.push(outdir);
  const app = new App({ outdir, context: { 'aws:cdk:bundling-stacks': [] } });
  buildDroplineApp(app, { ...readSettings(app.node, {}), dropPlan: plan, ...overrides }, NOW);
  app.synth();
  return readCloudAssembly(outdir);
}

const SQS = 'http://127.0.0.1:4566';

/** A REST API's id, as API Gateway would give it one: ten lowercase letters and digits. */
const restApiId = (logicalId: string) =>
  logicalId
    .toLowerCase()
    .replace(/[^a-z0-9]/g, '')
    .slice(0, 10);

/** The assembly's REST APIs by the id `localResolver` gives them. */
function restApisOf(assembly: CloudAssembly) {
  return new Map(
    resourcesOf(assembly)
      .filter(({ resource }) => resource.Type === 'AWS::ApiGateway::RestApi')
      .map(({ stack, logicalId }) => [restApiId(logicalId), { stack, logicalId }] as const),
  );
}

/**
 * Values like the ones provisioning records (test/integration/assembly-provision.test.ts provisions for
 * real): names from the templates, ARNs and URLs in the local account.
 */
function localResolver(assembly: CloudAssembly): IntrinsicResolver {
  return new IntrinsicResolver(assembly, (stack, logicalId): ResourceValues | undefined => {
    const resource = stack.template.Resources[logicalId];
    const name = String(resource?.Properties?.QueueName ?? resource?.Properties?.TableName ?? logicalId);
    const arn = (service: string, part: string) => `arn:aws:${service}:us-east-1:${LOCAL_ACCOUNT_ID}:${part}`;
    switch (resource?.Type) {
      case 'AWS::DynamoDB::GlobalTable':
        return {
          ref: name,
          attributes: { Arn: arn('dynamodb', `table/${name}`), StreamArn: arn('dynamodb', `table/${name}/stream/1`) },
        };
      case 'AWS::SQS::Queue':
        return { ref: `${SQS}/${LOCAL_ACCOUNT_ID}/${name}`, attributes: { Arn: arn('sqs', name), QueueName: name } };
      case 'AWS::SNS::Topic':
        return { ref: arn('sns', name), attributes: { TopicArn: arn('sns', name) } };
      case 'AWS::Lambda::Function':
        return { ref: logicalId, attributes: { Arn: arn('lambda', `function:${logicalId}`) } };
      case 'AWS::ApiGateway::RestApi':
        return { ref: restApiId(logicalId), attributes: { RootResourceId: 'root' } };
      case 'AWS::ApiGateway::Stage':
        return { ref: String(resource.Properties?.StageName ?? logicalId), attributes: {} };
      case 'AWS::CloudFront::KeyValueStore':
        return { ref: logicalId, attributes: { Arn: `arn:aws:cloudfront::${LOCAL_ACCOUNT_ID}:key-value-store/local` } };
      default:
        return undefined;
    }
  });
}

describe('a synthesized assembly', () => {
  let assembly: CloudAssembly;
  beforeAll(() => {
    assembly = synthesizeAssembly();
  });

  it('lists its stacks in deploy order: each after the stacks it imports from', () => {
    const names = assembly.stacks.map((stack) => stack.name);
    expect(names).toHaveLength(4);
    expect(names.indexOf('Dropline-Stateful')).toBeLessThan(names.indexOf('Dropline-Stateless'));
    expect(names.indexOf('Dropline-Stateless')).toBeLessThan(names.indexOf('Dropline-Edge'));
    expect(names.indexOf('Dropline-Stateless')).toBeLessThan(names.indexOf('Dropline-Monitoring'));
  });

  it("resolves every function's environment to local values, through the stacks' exports", () => {
    const resolver = localResolver(assembly);
    const stateless = assembly.stacks.find((stack) => stack.name === 'Dropline-Stateless');
    const functions = resourcesOf(assembly).filter(
      ({ stack, resource }) => stack === stateless && resource.Type === 'AWS::Lambda::Function',
    );
    expect(functions.length).toBeGreaterThanOrEqual(15);
    const table = resourcesOf(assembly).find(({ resource }) => resource.Type === 'AWS::DynamoDB::GlobalTable');
    const tableName = String(table?.resource.Properties?.TableName ?? table?.logicalId);
    for (const { stack, logicalId, resource } of functions) {
      const variables = (resource.Properties?.Environment as { Variables?: Record<string, unknown> } | undefined)
        ?.Variables;
      const resolved = resolver.resolve(stack, variables ?? {}, `${logicalId}.Environment`) as Record<string, unknown>;
      for (const [name, value] of Object.entries(resolved)) {
        expect([name, typeof value]).toEqual([name, 'string']);
      }
      if (resolved.TABLE_NAME !== undefined) expect(resolved.TABLE_NAME).toBe(tableName);
      // Anything that names a queue names a local one.
      for (const value of Object.values(resolved)) {
        if (String(value).includes('sqs'))
          expect(String(value)).toMatch(new RegExp(`${SQS}|arn:aws:sqs:us-east-1:${LOCAL_ACCOUNT_ID}:`));
      }
    }
  });

  it("says why it leaves each type out, and leaves none of the stock path's types out", () => {
    const left = notEmulated(assembly).map((entry) => entry.type);
    for (const type of [
      'AWS::DynamoDB::GlobalTable',
      'AWS::SQS::Queue',
      'AWS::SNS::Topic',
      'AWS::SNS::Subscription',
      'AWS::Lambda::Function',
      'AWS::Lambda::EventSourceMapping',
      'AWS::ApiGateway::Method',
      'AWS::Scheduler::Schedule',
    ]) {
      expect(left).not.toContain(type);
    }
    for (const entry of notEmulated(assembly)) expect(entry.reason.length).toBeGreaterThan(10);
  });
});

describe('every resource type the app can synthesize', () => {
  it.each([
    ['without DNS', {}],
    ['with DNS and a drop plan', { dns }],
    ['with the API outside us-east-1', { region: 'eu-west-1' }],
  ])('is emulated or left out with a reason (%s)', (_, overrides) => {
    expect(unclassified(synthesizeAssembly(overrides))).toEqual([]);
  });

  it('fails the check for a type nobody placed', () => {
    const fake = {
      dir: '',
      stacks: [{ name: 'S', region: 'us-east-1', template: { Resources: { X: { Type: 'AWS::New::Thing' } } } }],
    };
    expect(unclassified(fake)).toEqual(['AWS::New::Thing']);
    expect(LOCAL_COVERAGE['AWS::New::Thing']).toBeUndefined();
  });
});

describe('generated names', () => {
  it('follow CloudFormation’s stack-logicalId-SUFFIX shape, the same on every start', () => {
    const name = generatedName('Dropline-Stateful', 'Orders1234ABCD', 80);
    expect(name).toMatch(/^Dropline-Stateful-Orders1234ABCD-[A-Z0-9]{12}$/);
    expect(generatedName('Dropline-Stateful', 'Orders1234ABCD', 80)).toBe(name);
    expect(generatedName('Dropline-Stateful', 'Other', 80)).not.toBe(name.replace('Orders1234ABCD', 'Other'));
  });

  it.each(Object.entries(NAMING))('stay within the limit of %s, a FIFO ending included', (_, { maxLength }) => {
    const long = 'A'.repeat(200);
    expect(generatedName(long, long, maxLength).length).toBe(maxLength);
    const fifo = generatedName(long, long, maxLength, '.fifo');
    expect(fifo.length).toBe(maxLength);
    expect(fifo.endsWith('.fifo')).toBe(true);
  });
});

describe('a directory that is not a good assembly', () => {
  it('is refused with the file named and what to do', () => {
    const dir = mkdtempSync(join(tmpdir(), 'dropline-not-assembly-'));
    outdirs.push(dir);
    expect(() => readCloudAssembly(dir)).toThrow(AssemblyError);
    expect(() => readCloudAssembly(dir)).toThrow(/no manifest\.json.*npx cdk synth/);
    writeFileSync(
      join(dir, 'manifest.json'),
      '{"artifacts":{"S":{"type":"aws:cloudformation:stack","environment":"aws://1/us-east-1","properties":{"templateFile":"S.template.json"}}}}',
    );
    expect(() => readCloudAssembly(dir)).toThrow(/S\.template\.json is missing/);
    mkdirSync(join(dir, 'x'));
    writeFileSync(join(dir, 'S.template.json'), '{not json');
    expect(() => readCloudAssembly(dir)).toThrow(/S\.template\.json is not JSON/);
  });

  it('names the intrinsic the runtime does not resolve, and where it is', () => {
    const assembly = { dir: '', stacks: [{ name: 'S', region: 'us-east-1', template: { Resources: {} } }] };
    const resolver = new IntrinsicResolver(assembly, () => undefined);
    const [stack] = assembly.stacks;
    expect(() => resolver.resolve(stack as never, { A: { 'Fn::Cidr': ['10.0.0.0/16', 2, 8] } }, 'Env')).toThrow(
      /Env\.A \(Fn::Cidr\): the local runtime does not resolve Fn::Cidr/,
    );
    expect(() => resolver.resolve(stack as never, { Ref: 'Missing' }, 'Env')).toThrow(/S has no resource Missing/);
    expect(
      // biome-ignore lint/suspicious/noTemplateCurlyInString: CloudFormation's Fn::Sub syntax, not a template literal
      resolver.resolve(stack as never, { 'Fn::Sub': 'arn:${AWS::Partition}:x:${AWS::Region}:${!Literal}' }, 'Env'),
      // biome-ignore lint/suspicious/noTemplateCurlyInString: what Fn::Sub leaves of its ${!Literal} escape
    ).toBe('arn:aws:x:us-east-1:${Literal}');
  });
});

describe('an assembly with the API outside us-east-1', () => {
  let assembly: CloudAssembly;
  beforeAll(() => {
    assembly = synthesizeAssembly({ region: 'eu-west-1' });
  });
  const STORE = `arn:aws:cloudfront::${LOCAL_ACCOUNT_ID}:key-value-store/local`;
  const edgeStack = () => assembly.stacks.find((stack) => stack.name === 'Dropline-Edge');

  it("resolves the edge stack's cross-region references to the API stack's resources", () => {
    const resolver = localResolver(assembly);
    const edge = edgeStack();
    expect(edge?.region).toBe('us-east-1');
    const fn = resourcesOf(assembly).find(
      ({ stack, resource }) => stack === edge && resource.Type === 'AWS::CloudFront::Function',
    );
    const config = fn?.resource.Properties?.FunctionConfig as {
      KeyValueStoreAssociations: Array<{ KeyValueStoreARN: unknown }>;
    };
    const [association] = config.KeyValueStoreAssociations;
    // Read through CDK's cross-region reader, not a Ref or an import.
    expect(JSON.stringify(association?.KeyValueStoreARN)).toContain('ExportsReader');
    expect(resolver.resolveString(edge as never, association?.KeyValueStoreARN, 'association')).toBe(STORE);

    const distribution = resourcesOf(assembly).find(
      ({ stack, resource }) => stack === edge && resource.Type === 'AWS::CloudFront::Distribution',
    );
    const distributionConfig = distribution?.resource.Properties?.DistributionConfig as
      | { Origins?: Array<{ DomainName: unknown }> }
      | undefined;
    const origins = distributionConfig?.Origins ?? [];
    const api = origins.filter((origin) => JSON.stringify(origin.DomainName).includes('ExportsReader'));
    expect(api.length).toBeGreaterThan(0);
    const dropApi = resourcesOf(assembly).find(
      ({ stack, resource }) => stack.name === 'Dropline-Stateless' && resource.Type === 'AWS::ApiGateway::RestApi',
    );
    for (const origin of api) {
      expect(resolver.resolveString(edge as never, origin.DomainName, 'origin')).toBe(
        `${restApiId(dropApi?.logicalId ?? '')}.execute-api.eu-west-1.amazonaws.com`,
      );
    }
  });

  it('runs the edge function against the local store only when its association names a store of the assembly', () => {
    const resolver = localResolver(assembly);
    const kvs = { get: () => undefined };
    const behaviours = assemblyEdge(assembly, kvs, {
      resolver,
      storeArns: new Set([STORE]),
      restApis: restApisOf(assembly),
    });
    expect(behaviours.some((behaviour) => behaviour.fn !== undefined)).toBe(true);
    expect(() =>
      assemblyEdge(assembly, kvs, {
        resolver,
        storeArns: new Set(['arn:aws:cloudfront::1:key-value-store/x']),
        restApis: restApisOf(assembly),
      }),
    ).toThrow(
      /KeyValueStoreARN: arn:aws:cloudfront::000000000000:key-value-store\/local is no KeyValueStore of the assembly/,
    );
  });

  it("fails shopper reads over to the paused origin's answer, as the distribution's origin group says", () => {
    const resolver = localResolver(assembly);
    const context = { resolver, storeArns: new Set([STORE]), restApis: restApisOf(assembly) };
    const behaviours = assemblyEdge(assembly, { get: () => undefined }, context);
    const byPattern = new Map(behaviours.map((behaviour) => [behaviour.pathPattern, behaviour]));
    for (const pattern of ['/products/*', '/orders/*']) {
      const failover = byPattern.get(pattern)?.failover;
      expect([...(failover?.statusCodes ?? [])]).toEqual([500, 502, 503, 504]);
      expect(failover?.answer.status).toBe(503);
      expect(failover?.answer.headers).toEqual({
        'content-type': 'application/json',
        'retry-after': '15',
        'cache-control': 'max-age=5',
      });
      expect(JSON.parse(failover?.answer.body.toString() ?? '{}')).toEqual({
        error: { code: 'PAUSED', message: expect.any(String) },
      });
    }
    // Writes, and the reads the edge function answers, go to the API alone.
    for (const pattern of ['/products/*/reservations', '/reservations/*', '/admin/*', '/drops/*/queue']) {
      expect(byPattern.get(pattern)?.failover).toBeUndefined();
    }
    // Without the provisioned assembly an origin group cannot be resolved: refused, not run without it.
    expect(() => assemblyEdge(assembly, undefined)).toThrow(
      /an origin group is resolved against the provisioned assembly/,
    );
  });

  it('names a cross-region reference no stack of the assembly writes', () => {
    const reader = { Type: 'Custom::CrossRegionExportReader', Properties: {} };
    const writer = {
      Type: 'Custom::CrossRegionExportWriter',
      Properties: { WriterProps: { region: 'us-east-1', exports: { '/cdk/exports/E/written': 'the value' } } },
    };
    const consumer = { name: 'E', region: 'us-east-1', template: { Resources: { Reader: reader } } };
    const producer = { name: 'P', region: 'eu-west-1', template: { Resources: { Writer: writer } } };
    const resolver = new IntrinsicResolver({ dir: '', stacks: [producer, consumer] }, () => undefined);
    expect(resolver.resolve(consumer as never, { 'Fn::GetAtt': ['Reader', '/cdk/exports/E/written'] }, 'Env')).toBe(
      'the value',
    );
    expect(() =>
      resolver.resolve(consumer as never, { 'Fn::GetAtt': ['Reader', '/cdk/exports/E/other'] }, 'Env'),
    ).toThrow(/Env \(Fn::GetAtt\): no stack of the assembly writes \/cdk\/exports\/E\/other for us-east-1/);
    // A writer for another region answers no reader here.
    const elsewhere = { ...consumer, region: 'ap-south-1' };
    const other = new IntrinsicResolver({ dir: '', stacks: [producer, elsewhere] }, () => undefined);
    expect(() =>
      other.resolve(elsewhere as never, { 'Fn::GetAtt': ['Reader', '/cdk/exports/E/written'] }, 'Env'),
    ).toThrow(/no stack of the assembly writes/);
  });
});
