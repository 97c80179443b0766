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
import { type ApiRoute, apiRoutes, type HandlerName } from '../config/api-routes';
import type { Capacity } from '../config/capacity';
import { bodySchemas } from '../config/request-bodies';

/** Headers a route cannot run without. */
const requiredHeaders: Partial<Record<HandlerName, string[]>> = {
  'create-reservation': ['Idempotency-Key'],
};

/**
 * API Gateway's own refusals, in the contract's error shape. Each message is a
 * JSON string: a literal, or `$context.error.messageString` (already quoted);
 * `validationErrorString` is not quoted and may hold quotes, so it is not used.
 */
const gatewayErrors: ReadonlyArray<[ResponseType, string, string, string]> = [
  [ResponseType.BAD_REQUEST_BODY, '400', 'VALIDATION_ERROR', '$context.error.messageString'],
  [ResponseType.BAD_REQUEST_PARAMETERS, '400', 'VALIDATION_ERROR', '$context.error.messageString'],
  [ResponseType.THROTTLED, '429', 'THROTTLED', '"Too many requests; retry shortly"'],
  [ResponseType.QUOTA_EXCEEDED, '429', 'THROTTLED', '"Quota exceeded"'],
  [ResponseType.INVALID_API_KEY, '403', 'FORBIDDEN', '"A valid x-api-key is required"'],
  [ResponseType.API_CONFIGURATION_ERROR, '403', 'FORBIDDEN', '"Forbidden"'],
  [ResponseType.MISSING_AUTHENTICATION_TOKEN, '404', 'ROUTE_NOT_FOUND', '"No such route"'],
  [ResponseType.WAF_FILTERED, '403', 'FORBIDDEN', '"Forbidden"'],
  [ResponseType.REQUEST_TOO_LARGE, '413', 'PAYLOAD_TOO_LARGE', '"Request too large"'],
  [ResponseType.DEFAULT_4XX, '400', 'BAD_REQUEST', '"Bad request"'],
  [ResponseType.DEFAULT_5XX, '503', 'UNAVAILABLE', '"Temporarily unavailable; retry shortly"'],
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
      ['/products/{sku}/reservations/POST', { throttlingRateLimit: limits.reservationRateLimit }],
      ...apiRoutes
        .filter((route) => route.access === 'admin')
        .map((route) => [
          `${route.path}/${route.method}`,
          { throttlingRateLimit: limits.adminRateLimit, throttlingBurstLimit: limits.adminBurstLimit },
        ]),
    ]);
    this.api = new RestApi(this, 'Api', {
      restApiName: `${id}`,
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

    for (const [type, statusCode, code, message] of gatewayErrors) {
      this.api.addGatewayResponse(`${type.responseType}`, {
        type,
        statusCode,
        templates: { 'application/json': `{"error":{"code":"${code}","message":${message}}}` },
      });
    }

    const adminPlan = this.api.addUsagePlan('AdminPlan', {
      name: `${id}-admin`,
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
