import { RemovalPolicy, Validations } from 'aws-cdk-lib';
import {
  AccessLogFormat,
  ApiKeySourceType,
  EndpointType,
  type IApiKey,
  type IModel,
  type IResource,
  type JsonSchema,
  LambdaIntegration,
  LogGroupLogDestination,
  MethodLoggingLevel,
  ResponseType,
  RestApi,
} from 'aws-cdk-lib/aws-apigateway';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import * as z from 'zod/mini';
import { bodySchemas } from '../../contract/requests';
import { GATEWAY_THROTTLED_MESSAGE } from '../../contract/retries';
import { type ApiRoute, apiRoutes, type HandlerName } from '../../contract/routes';
import type { Capacity } from '../config/capacity';
import { stageOf } from './dropline-function';

/** Headers a route cannot run without: API Gateway refuses a request that lacks one before the function runs. */
export const requiredHeaders: Partial<Record<HandlerName, string[]>> = {
  'create-reservation': ['Idempotency-Key'],
  'restock-product': ['Idempotency-Key'],
};

interface GatewayError {
  readonly type: ResponseType;
  /** Unset keeps API Gateway's own status for the type. */
  readonly statusCode?: string;
  readonly code: string;
  readonly message: string;
  readonly retryAfterSeconds?: number;
}

/**
 * API Gateway's own refusals, in the contract's error shape. Each message is a
 * JSON string: a literal, or `$context.error.messageString` (already quoted);
 * `validationErrorString` is not quoted and may hold quotes, so it is not used.
 *
 * `DEFAULT_4XX` keeps no status of its own: giving the fallback a status code
 * changes the status of every other 4XX response without one to it ("Gateway
 * response types for API Gateway",
 * https://docs.aws.amazon.com/apigateway/latest/developerguide/supported-gateway-response-types.html),
 * which would turn 403, 404 and 415 into 400. The contract's 429 and 503 carry
 * `Retry-After` (a gateway response header, `responseParameters`: "GatewayResponse",
 * https://docs.aws.amazon.com/apigateway/latest/api/API_GatewayResponse.html).
 */
const gatewayErrors: readonly GatewayError[] = [
  {
    type: ResponseType.BAD_REQUEST_BODY,
    statusCode: '400',
    code: 'VALIDATION_ERROR',
    message: '$context.error.messageString',
  },
  {
    type: ResponseType.BAD_REQUEST_PARAMETERS,
    statusCode: '400',
    code: 'VALIDATION_ERROR',
    message: '$context.error.messageString',
  },
  {
    type: ResponseType.THROTTLED,
    statusCode: '429',
    code: 'THROTTLED',
    message: JSON.stringify(GATEWAY_THROTTLED_MESSAGE),
    retryAfterSeconds: 1,
  },
  // No usage plan here sets a quota, so this cannot fire today; one added later still answers as the
  // contract says every THROTTLED does, with a Retry-After (a minute: the response cannot name the reset).
  {
    type: ResponseType.QUOTA_EXCEEDED,
    statusCode: '429',
    code: 'THROTTLED',
    message: '"Quota exceeded; retry later"',
    retryAfterSeconds: 60,
  },
  {
    type: ResponseType.INVALID_API_KEY,
    statusCode: '403',
    code: 'FORBIDDEN',
    message: '"A valid x-api-key is required"',
  },
  { type: ResponseType.ACCESS_DENIED, statusCode: '403', code: 'FORBIDDEN', message: '"Forbidden"' },
  { type: ResponseType.API_CONFIGURATION_ERROR, statusCode: '403', code: 'FORBIDDEN', message: '"Forbidden"' },
  {
    type: ResponseType.MISSING_AUTHENTICATION_TOKEN,
    statusCode: '404',
    code: 'ROUTE_NOT_FOUND',
    message: '"No such route"',
  },
  { type: ResponseType.RESOURCE_NOT_FOUND, statusCode: '404', code: 'NOT_FOUND', message: '"Not found"' },
  {
    type: ResponseType.UNSUPPORTED_MEDIA_TYPE,
    statusCode: '415',
    code: 'UNSUPPORTED_MEDIA_TYPE',
    message: '"Send application/json"',
  },
  { type: ResponseType.WAF_FILTERED, statusCode: '403', code: 'FORBIDDEN', message: '"Forbidden"' },
  {
    type: ResponseType.REQUEST_TOO_LARGE,
    statusCode: '413',
    code: 'PAYLOAD_TOO_LARGE',
    message: '"Request too large"',
  },
  { type: ResponseType.DEFAULT_4XX, code: 'REQUEST_REFUSED', message: '$context.error.messageString' },
  {
    type: ResponseType.DEFAULT_5XX,
    statusCode: '503',
    code: 'UNAVAILABLE',
    message: '"Temporarily unavailable; retry shortly"',
    retryAfterSeconds: 1,
  },
];

export interface DropApiProps {
  /** The function (or alias) behind each route's handler. */
  readonly integrations: ReadonlyMap<HandlerName, IFunction>;
  readonly capacity: Capacity;
}

/**
 * The HTTP contract on API Gateway (REST, regional: CloudFront is the edge),
 * built from the same route table the local gateway serves. Stage and
 * per-method throttles come from the drop plan; admin routes need an API key
 * under a usage plan of their own.
 */
export class DropApi extends Construct {
  readonly api: RestApi;
  readonly adminKey: IApiKey;
  readonly stageName = 'live';

  constructor(scope: Construct, id: string, props: DropApiProps) {
    super(scope, id);
    const accessLogs = new LogGroup(this, 'AccessLogs', {
      retention: RetentionDays.ONE_MONTH,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    const { api: limits } = props.capacity;
    const methodOptions = Object.fromEntries([
      // Both halves stated: a method setting without a burst leaves it to API Gateway, not to this stage's.
      [
        '/products/{sku}/reservations/POST',
        { throttlingRateLimit: limits.reservationRateLimit, throttlingBurstLimit: limits.burstLimit },
      ],
      ...apiRoutes
        .filter((route) => route.access === 'admin')
        .map((route) => [
          `${route.path}/${route.method}`,
          { throttlingRateLimit: limits.adminRateLimit, throttlingBurstLimit: limits.adminBurstLimit },
        ]),
    ]);
    this.api = new RestApi(this, 'Api', {
      restApiName: `${stageOf(this)}-${id}`,
      description: 'dropline: product drop reservations, checkout and admin',
      endpointTypes: [EndpointType.REGIONAL],
      apiKeySourceType: ApiKeySourceType.HEADER,
      cloudWatchRole: true,
      deployOptions: {
        stageName: this.stageName,
        throttlingRateLimit: limits.rateLimit,
        throttlingBurstLimit: limits.burstLimit,
        methodOptions,
        tracingEnabled: true,
        loggingLevel: MethodLoggingLevel.ERROR,
        accessLogDestination: new LogGroupLogDestination(accessLogs),
        accessLogFormat: AccessLogFormat.jsonWithStandardFields(),
      },
    });
    Validations.of(this.api).acknowledge({
      id: 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs]',
      reason:
        "API Gateway's account-level CloudWatch role uses AmazonAPIGatewayPushToCloudWatchLogs, the policy AWS provides for exactly this",
    });

    const validator = this.api.addRequestValidator('Validator', {
      validateRequestBody: true,
      validateRequestParameters: true,
    });
    const models = new Map<HandlerName, IModel>();
    for (const [handler, schema] of Object.entries(bodySchemas) as [HandlerName, z.ZodMiniType][]) {
      models.set(
        handler,
        this.api.addModel(`${handler.replace(/-/g, '')}Body`, {
          contentType: 'application/json',
          schema: z.toJSONSchema(schema, { target: 'draft-4' }) as JsonSchema,
        }),
      );
    }
    for (const route of apiRoutes) this.addRoute(route, props, validator, models);

    for (const { type, statusCode, code, message, retryAfterSeconds } of gatewayErrors) {
      this.api.addGatewayResponse(`${type.responseType}`, {
        type,
        ...(statusCode ? { statusCode } : {}),
        ...(retryAfterSeconds ? { responseHeaders: { 'Retry-After': `'${retryAfterSeconds}'` } } : {}),
        templates: { 'application/json': `{"error":{"code":"${code}","message":${message}}}` },
      });
    }

    const adminPlan = this.api.addUsagePlan('AdminPlan', {
      name: `${stageOf(this)}-${id}-admin`,
      description: 'operators of the drop: product set-up, restock, ledger',
      throttle: { rateLimit: limits.adminRateLimit, burstLimit: limits.adminBurstLimit },
      apiStages: [{ api: this.api, stage: this.api.deploymentStage }],
    });
    this.adminKey = this.api.addApiKey('AdminKey', { description: 'dropline admin routes' });
    adminPlan.addApiKey(this.adminKey);
  }

  private addRoute(
    route: ApiRoute,
    props: DropApiProps,
    validator: ReturnType<RestApi['addRequestValidator']>,
    models: ReadonlyMap<HandlerName, IModel>,
  ): void {
    const fn = props.integrations.get(route.handler);
    if (!fn) throw new Error(`no function for route ${route.method} ${route.path} (${route.handler})`);
    const resource = route.path
      .split('/')
      .filter(Boolean)
      .reduce<IResource>((parent, part) => parent.getResource(part) ?? parent.addResource(part), this.api.root);
    const model = models.get(route.handler);
    const method = resource.addMethod(route.method, new LambdaIntegration(fn), {
      apiKeyRequired: route.access === 'admin',
      requestValidator: validator,
      requestParameters: Object.fromEntries(
        (requiredHeaders[route.handler] ?? []).map((header) => [`method.request.header.${header}`, true]),
      ),
      ...(model ? { requestModels: { 'application/json': model } } : {}),
    });
    Validations.of(method).acknowledge({
      id: 'AwsSolutions-COG4',
      reason: 'shoppers are anonymous and identified by customerId in the body; admin routes use an API key',
    });
    Validations.of(method).acknowledge({
      id: 'AwsSolutions-APIG4',
      reason:
        route.access === 'admin'
          ? 'admin routes require an API key under a usage plan; calls arrive only through CloudFront (origin header checked by WAF)'
          : 'shopper routes are public by design; WAF rate rules, Bot Control and the origin check guard them',
    });
  }
}
