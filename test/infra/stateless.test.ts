import { App } from 'aws-cdk-lib';
import { Match } from 'aws-cdk-lib/assertions';
import { envVars } from '../../contract/env-vars';
import { apiRoutes } from '../../contract/routes';
import { eventSourceMappings, streamConsumer } from '../../contract/topology';
import { ATTEMPT_TIMEOUT_MS, CONNECTION_TIMEOUT_MS, MAX_ATTEMPTS } from '../../lambdas/shared/clients/request-settings';
import { readSettings, SettingsError } from '../../lib/config/settings';
import { resourcesOf, type Synthesized, synthesize } from './synth';

let synth: Synthesized;
beforeAll(() => {
  synth = synthesize();
});

type Statement = { Effect: string; Action: string | string[]; Resource: unknown };
const actionsOf = (statement: Statement) => [statement.Action].flat();

/** Every statement of every policy attached to the role of the function with this description prefix. */
function statementsOf(handlerDescription: string): Statement[] {
  const functions = resourcesOf(synth.stateless, 'AWS::Lambda::Function');
  const fn = Object.values(functions).find((candidate) =>
    String(candidate.Properties.Description).startsWith(handlerDescription),
  );
  if (!fn) throw new Error(`no function described as ${handlerDescription}`);
  const roleRef = (fn.Properties.Role as { 'Fn::GetAtt': [string, string] })['Fn::GetAtt'][0];
  return Object.values(resourcesOf(synth.stateless, 'AWS::IAM::Policy'))
    .filter((policy) => (policy.Properties.Roles as Array<{ Ref: string }>).some((role) => role.Ref === roleRef))
    .flatMap((policy) => (policy.Properties.PolicyDocument as { Statement: Statement[] }).Statement);
}

const tableActions = (statements: Statement[]) =>
  statements
    .flatMap(actionsOf)
    .filter((action) => action.startsWith('dynamodb:') && !action.includes('Stream'))
    .sort();

describe('functions', () => {
  it('run Node.js 24 on arm64 with active tracing and JSON logs', () => {
    const functions = Object.values(resourcesOf(synth.stateless, 'AWS::Lambda::Function'));
    expect(functions.length).toBeGreaterThanOrEqual(16);
    for (const fn of functions) {
      expect(fn.Properties).toMatchObject({
        Runtime: 'nodejs24.x',
        Architectures: ['arm64'],
        TracingConfig: { Mode: 'Active' },
        LoggingConfig: expect.objectContaining({ LogFormat: 'JSON' }),
      });
    }
  });

  it("trace with Lambda's own segments and leave the X-Ray SDK unloaded, unless -c tracing=sdk asks for it", () => {
    const modes = (template: Synthesized['stateless']) =>
      Object.values(resourcesOf(template, 'AWS::Lambda::Function')).map(
        (fn) => (fn.Properties.Environment as { Variables: Record<string, unknown> }).Variables[envVars.tracing],
      );
    expect(new Set(modes(synth.stateless))).toEqual(new Set(['service']));
    const withSdk = synthesize({ tracing: 'sdk' }).stateless;
    expect(new Set(modes(withSdk))).toEqual(new Set(['sdk']));
    for (const fn of Object.values(resourcesOf(withSdk, 'AWS::Lambda::Function'))) {
      expect(fn.Properties.TracingConfig).toEqual({ Mode: 'Active' });
    }
    expect(readSettings(new App({ context: { tracing: 'sdk' } }).node, {}).tracing).toBe('sdk');
    expect(() => readSettings(new App({ context: { tracing: 'xray' } }).node, {})).toThrow(
      new SettingsError('context tracing must be service or sdk, not xray'),
    );
  });

  it("outlast a lost AWS answer: an API function answers 503 itself before Lambda's timeout ends it", () => {
    // Each attempt may spend the connection timeout, then the silent-socket timeout; the SDK's standard
    // retry backs off well under a second in all between them (counted as one); one second is kept for
    // the rest of the request's work. A function without a Timeout has CloudFormation's default, 3 s.
    const lostCallMs = MAX_ATTEMPTS * (CONNECTION_TIMEOUT_MS + ATTEMPT_TIMEOUT_MS) + 1000 + 1000;
    const apiFunctions = Object.values(resourcesOf(synth.stateless, 'AWS::Lambda::Function')).filter((fn) =>
      /^(GET|PUT|POST|DELETE) \//.test(String(fn.Properties.Description)),
    );
    expect(apiFunctions.length).toBe(new Set(apiRoutes.map((route) => route.handler)).size);
    const tooShort = apiFunctions
      .map((fn) => ({
        fn: String(fn.Properties.Description),
        seconds: (fn.Properties.Timeout as number | undefined) ?? 3,
      }))
      .filter(({ seconds }) => seconds * 1000 <= lostCallMs)
      .map(({ fn, seconds }) => `${fn}: ${seconds} s`);
    expect(tooShort).toEqual([]);
  });

  it('keep their logs a month', () => {
    const groups = Object.values(resourcesOf(synth.stateless, 'AWS::Logs::LogGroup'));
    for (const group of groups) expect(group.Properties.RetentionInDays).toBe(30);
  });

  it('use no AWS managed policies: each role starts empty', () => {
    for (const role of Object.values(resourcesOf(synth.stateless, 'AWS::IAM::Role'))) {
      const principal = JSON.stringify(role.Properties.AssumeRolePolicyDocument);
      if (principal.includes('apigateway')) continue; // API Gateway's account-level logging role
      expect(role.Properties.ManagedPolicyArns).toBeUndefined();
    }
  });
});

describe('least privilege', () => {
  it('grants no wildcard actions', () => {
    for (const policy of Object.values(resourcesOf(synth.stateless, 'AWS::IAM::Policy'))) {
      const statements = (policy.Properties.PolicyDocument as { Statement: Statement[] }).Statement;
      for (const action of statements.flatMap(actionsOf)) expect(action).not.toMatch(/\*/);
    }
  });

  it('grants Resource * only for actions that have no resource-level permissions', () => {
    const allowedOnStar = new Set(['xray:PutTraceSegments', 'xray:PutTelemetryRecords', 'dynamodb:ListStreams']);
    for (const policy of Object.values(resourcesOf(synth.stateless, 'AWS::IAM::Policy'))) {
      const statements = (policy.Properties.PolicyDocument as { Statement: Statement[] }).Statement;
      for (const statement of statements.filter((candidate) => JSON.stringify(candidate.Resource) === '"*"')) {
        for (const action of actionsOf(statement)) expect(allowedOnStar).toContain(action);
      }
    }
  });

  it('lets read-only routes only read the table', () => {
    for (const route of [
      'GET /products/{sku}',
      'GET /reservations/{id}',
      'GET /orders/{orderId}',
      'GET /admin/products/{sku}/ledger',
    ]) {
      expect(tableActions(statementsOf(route))).toEqual(['dynamodb:BatchGetItem', 'dynamodb:GetItem']);
    }
  });

  it('lets the reservation path read, put and update items, and never delete, scan or query', () => {
    expect(tableActions(statementsOf('POST /products/{sku}/reservations'))).toEqual([
      'dynamodb:BatchGetItem',
      'dynamodb:GetItem',
      'dynamodb:PutItem',
      'dynamodb:UpdateItem',
    ]);
  });

  it('lets only the expiry sweep query, and only its index', () => {
    const sweep = statementsOf('sweeps expired holds');
    const query = sweep.find((statement) => actionsOf(statement).includes('dynamodb:Query'));
    expect(JSON.stringify(query?.Resource)).toMatch(/\/index\/holdsByExpiry/);
    for (const description of ['GET /products/{sku}', 'POST /products/{sku}/reservations', 'orders queue']) {
      expect(tableActions(statementsOf(description))).not.toContain('dynamodb:Query');
    }
  });

  it("lets only the operator's redrive scan the table; it writes nothing but the snapshot items (table-grants)", () => {
    expect(tableActions(statementsOf('operator: resends'))).toEqual([
      'dynamodb:BatchGetItem',
      'dynamodb:GetItem',
      'dynamodb:PutItem',
      'dynamodb:Scan',
      'dynamodb:UpdateItem',
    ]);
    const functions = Object.values(resourcesOf(synth.stateless, 'AWS::Lambda::Function'));
    const scanners = functions
      .map((fn) => String(fn.Properties.Description))
      .filter((description) => tableActions(statementsOf(description)).includes('dynamodb:Scan'));
    expect(scanners).toEqual([expect.stringMatching(/^operator: resends/)]);
  });

  it('lets only the outbox relay and the redrive send orders; the sweeper may also publish inventory events', () => {
    for (const outbox of ['the outbox relay', 'operator: resends']) {
      expect(statementsOf(outbox).flatMap(actionsOf)).toEqual(
        expect.arrayContaining(['sqs:SendMessage', 'sns:Publish']),
      );
    }
    const sweeper = statementsOf('sweeps expired holds').flatMap(actionsOf);
    expect(sweeper).toContain('sns:Publish');
    expect(sweeper).not.toContain('sqs:SendMessage');
    for (const description of ['POST /products/{sku}/reservations', 'POST /reservations/{id}/checkout']) {
      const actions = statementsOf(description).flatMap(actionsOf);
      expect(actions).not.toContain('sqs:SendMessage');
      expect(actions).not.toContain('sns:Publish');
    }
  });
});

describe('event source mappings', () => {
  it('consume each FIFO queue in batches of ten, reporting partial failures', () => {
    const mappings = Object.values(resourcesOf(synth.stateless, 'AWS::Lambda::EventSourceMapping'));
    const sqs = mappings.filter((mapping) => !mapping.Properties.StartingPosition);
    expect(sqs).toHaveLength(eventSourceMappings.length);
    for (const mapping of sqs) {
      expect(mapping.Properties).toMatchObject({ BatchSize: 10, FunctionResponseTypes: ['ReportBatchItemFailures'] });
    }
  });

  it('relay the table stream with bisection, bounded retries and age, a failure destination, and a filter', () => {
    synth.stateless.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      StartingPosition: 'TRIM_HORIZON',
      BatchSize: 100,
      // Invoked as soon as records come: a window would hold the sell-out's news back from the edge.
      MaximumBatchingWindowInSeconds: Match.absent(),
      BisectBatchOnFunctionError: true,
      MaximumRetryAttempts: 20,
      MaximumRecordAgeInSeconds: 3600,
      DestinationConfig: { OnFailure: { Destination: Match.anyValue() } },
      // Only stock shards and orders invoke the relay; the same pattern filters the local stream.
      FilterCriteria: { Filters: [{ Pattern: JSON.stringify(streamConsumer.filterPattern) }] },
    });
  });
});

describe('the API', () => {
  const methods = () => Object.values(resourcesOf(synth.stateless, 'AWS::ApiGateway::Method'));

  it('has one method per route of the contract', () => {
    expect(
      methods()
        .map((method) => method.Properties.HttpMethod)
        .sort(),
    ).toEqual(apiRoutes.map((route) => route.method).sort());
  });

  it('asks for the API key on admin routes only', () => {
    const keyed = methods().filter((method) => method.Properties.ApiKeyRequired === true);
    expect(keyed).toHaveLength(apiRoutes.filter((route) => route.access === 'admin').length);
    synth.stateless.resourceCountIs('AWS::ApiGateway::ApiKey', 1);
    synth.stateless.hasResourceProperties('AWS::ApiGateway::UsagePlan', {
      Throttle: { RateLimit: 10, BurstLimit: 20 },
    });
  });

  it('validates bodies and requires the Idempotency-Key header on reservations', () => {
    synth.stateless.hasResourceProperties('AWS::ApiGateway::Method', {
      HttpMethod: 'POST',
      RequestParameters: { 'method.request.header.Idempotency-Key': true },
      RequestModels: { 'application/json': Match.anyValue() },
      RequestValidatorId: Match.anyValue(),
    });
    synth.stateless.hasResourceProperties('AWS::ApiGateway::Model', {
      Schema: Match.objectLike({
        properties: { customerId: Match.anyValue(), quantity: { type: 'integer', minimum: 1, maximum: 100 } },
        additionalProperties: false,
      }),
    });
  });

  it("throttles the stage and the reservation method from the plan's peak", () => {
    synth.stateless.hasResourceProperties('AWS::ApiGateway::Stage', {
      StageName: 'live',
      TracingEnabled: true,
      MethodSettings: Match.arrayWith([
        Match.objectLike({
          HttpMethod: '*',
          ResourcePath: '/*',
          ThrottlingRateLimit: 4000,
          ThrottlingBurstLimit: 4000,
        }),
        Match.objectLike({
          HttpMethod: 'POST',
          ResourcePath: '/~1products~1{sku}~1reservations',
          ThrottlingRateLimit: 3000,
        }),
      ]),
    });
  });

  it('answers its own refusals in the contract error shape', () => {
    synth.stateless.hasResourceProperties('AWS::ApiGateway::GatewayResponse', {
      ResponseType: 'THROTTLED',
      StatusCode: '429',
      ResponseTemplates: { 'application/json': Match.stringLikeRegexp('"code":"THROTTLED"') },
    });
  });

  it('refuses any request without the CloudFront origin header (regional WAF on the stage)', () => {
    synth.stateless.hasResourceProperties('AWS::WAFv2::WebACL', {
      Scope: 'REGIONAL',
      DefaultAction: { Block: {} },
      Rules: [
        Match.objectLike({
          Action: { Allow: {} },
          Statement: {
            ByteMatchStatement: Match.objectLike({
              FieldToMatch: { SingleHeader: { Name: 'x-dropline-origin' } },
              PositionalConstraint: 'EXACTLY',
            }),
          },
        }),
      ],
    });
    const [acl] = Object.values(resourcesOf(synth.stateless, 'AWS::WAFv2::WebACL'));
    // The expected value is a dynamic reference to the generated secret, never a literal in the template.
    expect(JSON.stringify(acl?.Properties.Rules)).toMatch(/\{\{resolve:secretsmanager:/);
    synth.stateless.resourceCountIs('AWS::WAFv2::WebACLAssociation', 1);
  });
});

describe('drop scaling', () => {
  it('keeps provisioned concurrency on the reservation and checkout aliases, tracking 70% utilisation', () => {
    const aliases = synth.stateless.findResources('AWS::Lambda::Alias', { Properties: { Name: 'live' } });
    const functions = synth.stateless.findResources('AWS::Lambda::Function');
    const aliased = Object.values(aliases).map(
      (alias) => functions[alias.Properties.FunctionName.Ref]?.Properties.Description.split(':')[0],
    );
    expect(aliased.sort()).toEqual(['POST /products/{sku}/reservations', 'POST /reservations/{id}/checkout']);
    synth.stateless.resourceCountIs('AWS::ApplicationAutoScaling::ScalingPolicy', 2);
    synth.stateless.hasResourceProperties('AWS::ApplicationAutoScaling::ScalingPolicy', {
      TargetTrackingScalingPolicyConfiguration: Match.objectLike({
        TargetValue: 0.7,
        PredefinedMetricSpecification: { PredefinedMetricType: 'LambdaProvisionedConcurrencyUtilization' },
      }),
    });
  });

  it('raises the floor 15 minutes before each drop and lowers it an hour after', () => {
    synth.stateless.hasResourceProperties('AWS::ApplicationAutoScaling::ScalableTarget', {
      ScalableDimension: 'lambda:function:ProvisionedConcurrency',
      MinCapacity: 1,
      MaxCapacity: 656,
      ScheduledActions: [
        {
          ScheduledActionName: 'Step0',
          Schedule: 'at(2030-03-14T16:45:00)',
          ScalableTargetAction: { MinCapacity: 328 },
        },
        { ScheduledActionName: 'Step1', Schedule: 'at(2030-03-14T18:00:00)', ScalableTargetAction: { MinCapacity: 1 } },
        {
          ScheduledActionName: 'Step2',
          Schedule: 'at(2030-03-20T16:45:00)',
          ScalableTargetAction: { MinCapacity: 66 },
        },
        { ScheduledActionName: 'Step3', Schedule: 'at(2030-03-20T18:00:00)', ScalableTargetAction: { MinCapacity: 1 } },
      ],
    });
  });

  it('raises the checkout floor on the same windows, sized by the units to be paid for', () => {
    // 5,000 units / 60 s × 1 s × 1.5 = 125; 300 units → 8.
    synth.stateless.hasResourceProperties('AWS::ApplicationAutoScaling::ScalableTarget', {
      ScalableDimension: 'lambda:function:ProvisionedConcurrency',
      MinCapacity: 1,
      MaxCapacity: 250,
      ScheduledActions: [
        Match.objectLike({ Schedule: 'at(2030-03-14T16:45:00)', ScalableTargetAction: { MinCapacity: 125 } }),
        Match.objectLike({ Schedule: 'at(2030-03-14T18:00:00)', ScalableTargetAction: { MinCapacity: 1 } }),
        Match.objectLike({ Schedule: 'at(2030-03-20T16:45:00)', ScalableTargetAction: { MinCapacity: 8 } }),
        Match.objectLike({ Schedule: 'at(2030-03-20T18:00:00)', ScalableTargetAction: { MinCapacity: 1 } }),
      ],
    });
  });

  it('tells product creation how many shards the plan sized each SKU for', () => {
    synth.stateless.hasResourceProperties('AWS::Lambda::Function', {
      Description: Match.stringLikeRegexp('^PUT /admin/products'),
      Environment: {
        Variables: Match.objectLike({ PLANNED_SHARDS: JSON.stringify({ 'SNKR-RED-42': 200, 'HOODIE-BLK': 40 }) }),
      },
    });
  });

  it('sweeps expired holds from a one-minute schedule', () => {
    synth.stateless.hasResourceProperties('AWS::Scheduler::Schedule', { ScheduleExpression: 'rate(1 minute)' });
  });
});

describe('gateway responses', () => {
  it('are valid JSON in the contract error shape whatever API Gateway substitutes', () => {
    const responses = Object.values(resourcesOf(synth.stateless, 'AWS::ApiGateway::GatewayResponse'));
    expect(responses.length).toBeGreaterThanOrEqual(10);
    for (const response of responses) {
      const template = (response.Properties.ResponseTemplates as Record<string, string>)['application/json'] ?? '';
      // The only substitution allowed is the already-quoted message string.
      const substituted = template.replace('$context.error.messageString', JSON.stringify('a "quoted" message'));
      expect(JSON.parse(substituted)).toEqual({
        error: { code: expect.stringMatching(/^[A-Z_]+$/), message: expect.any(String) },
      });
    }
  });
});
