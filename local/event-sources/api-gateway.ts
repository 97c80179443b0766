/**
 * The local API Gateway: turns each HTTP request into a REST API proxy event
 * (path parameters, headers, base64 bodies, request context), invokes the
 * route's handler module, and writes back its proxy result. Like the deployed
 * API it enforces the API key on admin routes and a request size limit
 * before any function runs.
 */
import { createHash, randomUUID, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { APIGatewayProxyEvent, APIGatewayProxyResult, Context } from 'aws-lambda';
import type { EdgeCache } from '../edge/cache';
import { type CloudFrontFunction, viewerRequestEvent, writeEdgeResponse } from '../edge/cloudfront-function';
import { type CacheKeyParts, type OriginRequestPolicy, toOrigin } from '../edge/origin-request';
import { listenShared } from '../emulators/net';
import { answerSite } from '../site';
import type { Validate } from './json-schema';
import { lambdaContext } from './lambda-context';

/** A route as the gateway serves it: the contract's routes, or the ones an assembly's REST API declares. */
export interface GatewayRoute {
  readonly method: string;
  /** API Gateway resource path; `{name}` segments become path parameters. */
  readonly path: string;
  /** Key of the handler in `GatewayOptions.handlers`. */
  readonly handler: string;
  /** Admin routes need the API key (`x-api-key`). */
  readonly access: 'shopper' | 'admin';
}

export type ProxyHandler = (event: APIGatewayProxyEvent, context: Context) => Promise<APIGatewayProxyResult>;

/** What the gateway lets through; handlers apply the API's own, tighter limit. */
export const GATEWAY_MAX_BODY_BYTES = 64 * 1024;
const MAX_URL_LENGTH = 4096;
const HANDLER_TIMEOUT_MS = 29_000;
const TEXT_TYPES = /^(application\/(json|[\w.+-]+\+json|x-www-form-urlencoded)|text\/)/i;

export interface GatewayOptions {
  readonly routes: readonly GatewayRoute[];
  readonly handlers: ReadonlyMap<string, ProxyHandler>;
  readonly adminKey: string;
  readonly port?: number;
  readonly host?: string;
  readonly stage?: string;
  /**
   * Shopper invocations allowed in flight at once, as reserved or provisioned
   * concurrency bounds a function on AWS: past it the gateway answers 429
   * THROTTLED at once, as API Gateway's throttling does, instead of queueing
   * work it cannot finish in time. It guards this machine, whose one DynamoDB
   * Local every function shares, so it bounds them together; and no function
   * takes more than half of it, so a storm on one route leaves the others
   * room, as each function has concurrency of its own deployed. Admin routes
   * (their own usage plan) are exempt.
   */
  readonly maxConcurrency?: number;
  /**
   * The drop page's files: by default the project's `site/`; the assembly's runtime gives its page
   * deployment's, or `null` when the assembly deploys no page (`GET /` is then the API's 404).
   */
  readonly siteDir?: string | null;
  /**
   * CloudFront Functions on the viewer request of the behaviours whose path pattern matches, as the
   * distribution runs them before its cache and the origin: an answer from one never reaches a function.
   */
  readonly edge?: readonly EdgeFunctionAssociation[];
  /** Observes every answered request (status, route and latency), e.g. for a rehearsal. */
  readonly onResponse?: (entry: { route: string; status: number; ms: number }) => void;
  /**
   * What the deployed API applies before a function runs, as an assembly's template declares it
   * (local/assembly/api.ts): its gateway responses, request validation and throttles. Without it the
   * gateway answers its own errors in the contract's shape and validates nothing (the handlers do).
   */
  readonly rules?: ApiRules;
}

/** A REST API's gateway-level rules, read from its template. */
export interface ApiRules {
  /** `AWS::ApiGateway::GatewayResponse` by response type (`THROTTLED`, `DEFAULT_4XX`, …). */
  readonly responses: ReadonlyMap<string, GatewayResponseSpec>;
  /** By route key (`POST /products/{sku}/reservations`): what the method's request validator checks. */
  readonly requests: ReadonlyMap<string, RequestRules>;
  /** Token buckets: each method's (the stage's method settings), and the API key's (its usage plan). */
  readonly throttles: { readonly methods: ReadonlyMap<string, Throttle>; readonly apiKey?: Throttle | undefined };
}

export interface GatewayResponseSpec {
  readonly status?: number | undefined;
  readonly headers: Readonly<Record<string, string>>;
  /** The `application/json` template: `$context.error.messageString`, `$context.error.message` and `$context.requestId` are filled in. */
  readonly template?: string | undefined;
}

export interface RequestRules {
  readonly headers: readonly string[];
  readonly query: readonly string[];
  /** The `application/json` model, when the validator checks bodies. */
  readonly body?: Validate | undefined;
}

export interface Throttle {
  readonly rate: number;
  readonly burst: number;
}

export interface EdgeFunctionAssociation {
  /** A CloudFront path pattern (`*` any characters, `?` one), matched on the path as sent. */
  readonly pathPattern: string;
  /** None: the behaviour runs no function (listed so that it, not a later one, takes its paths). */
  readonly fn?: CloudFrontFunction | undefined;
  /** The behaviour's cache, after its function and before the origin; none when its policy caches nothing. */
  readonly cache?: EdgeCache | undefined;
  /**
   * What of the viewer's request reaches the origin (local/edge/origin-request.ts): the origin request
   * policy's and the cache policy's. Absent: everything does (the hand-wired runtime's edge).
   */
  readonly origin?: { readonly policy?: OriginRequestPolicy; readonly cacheKey?: CacheKeyParts } | undefined;
  /**
   * The behaviour's origin group: a GET, HEAD or OPTIONS request its primary origin (the API) answers with
   * one of `statusCodes` is sent to the secondary, whose answer the viewer gets instead; other methods are
   * never failed over ("Request and response behavior for origin groups", CloudFront Developer Guide,
   * https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/RequestAndResponseBehaviorOriginGroups.html).
   * The secondary here answers every request alike (local/assembly/edge.ts).
   */
  readonly failover?: { readonly statusCodes: ReadonlySet<number>; readonly answer: OriginAnswer } | undefined;
}

/** An answer as an origin gives it, not yet sent. */
export interface OriginAnswer {
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: Buffer;
}

/** The methods CloudFront fails over to an origin group's secondary. */
const FAILOVER_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/** The secondary origin's answer instead of the primary's, where the behaviour's origin group says so. */
function failedOver<T extends { route: string } & OriginAnswer>(
  behaviour: EdgeFunctionAssociation | undefined,
  method: string,
  answer: T,
): T | ({ route: string } & OriginAnswer) {
  const failover = behaviour?.failover;
  if (!failover || !FAILOVER_METHODS.has(method) || !failover.statusCodes.has(answer.status)) return answer;
  return { route: answer.route, ...failover.answer, headers: { ...failover.answer.headers } };
}

/** The request as the behaviour's origin gets it, when the behaviour says what it forwards. */
function forwardToOrigin(behaviour: EdgeFunctionAssociation | undefined, request: IncomingMessage): void {
  if (!behaviour?.origin) return;
  const sent = toOrigin(
    request.url ?? '/',
    request.headers,
    request.socket.remoteAddress ?? '127.0.0.1',
    behaviour.origin.policy,
    behaviour.origin.cacheKey,
  );
  request.url = sent.url;
  request.headers = sent.headers;
}

/** A CloudFront path pattern as a regular expression ("Path pattern", CloudFront Developer Guide). */
export function pathPatternRegExp(pattern: string): RegExp {
  const body = pattern
    .split('')
    .map((char) => (char === '*' ? '.*' : char === '?' ? '.' : char.replace(/[.+^${}()|[\]\\]/g, '\\$&')))
    .join('');
  return new RegExp(`^${pattern.startsWith('/') ? '' : '/'}${body}$`);
}

export interface RunningGateway {
  readonly url: string;
  /** The routes this gateway serves. */
  readonly routes: readonly GatewayRoute[];
  readonly server: Server;
  stop(): Promise<void>;
}

interface Match {
  readonly route: GatewayRoute;
  readonly pathParameters: Record<string, string>;
}

/**
 * An answer of the gateway itself. `type` is API Gateway's response type for it ("Gateway response
 * types", https://docs.aws.amazon.com/apigateway/latest/developerguide/supported-gateway-response-types.html),
 * by which an assembly's gateway responses replace it; `apiMessage` is what API Gateway says then
 * (`$context.error.message`).
 */
class GatewayError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly headers: Record<string, string> = {},
    readonly type = 'DEFAULT',
    readonly apiMessage = message,
  ) {
    super(message);
  }
}

export const DEFAULT_MAX_CONCURRENCY = 64;

/** Shopper invocations in flight: in all, and per function (a route's handler), at most half of all. */
class InFlight {
  private readonly counts = new Map<string, number>();
  private total = 0;
  private readonly perFunction: number;

  constructor(private readonly max: number) {
    this.perFunction = Math.ceil(max / 2);
  }

  /** Counts one more invocation of the function, or false when it or the gateway is at its cap. */
  enter(handler: string): boolean {
    const count = this.counts.get(handler) ?? 0;
    if (this.total >= this.max || count >= this.perFunction) return false;
    this.counts.set(handler, count + 1);
    this.total++;
    return true;
  }

  leave(handler: string): void {
    this.counts.set(handler, (this.counts.get(handler) ?? 1) - 1);
    this.total--;
  }
}

/**
 * Connections waiting to be accepted. A crowd opens its connections in bursts (a rehearsal's 1,500 arrivals
 * and their bots' farmed identities, each a client of its own); past the queue the kernel drops a
 * connection's SYN and the client's kernel sends it again 1 s, 3 s, 7 s later, a delay no edge location
 * adds. Node's default (511) overflowed some 23,000 times in one waiting-room rehearsal. The kernel caps it
 * at `net.core.somaxconn` (4,096 on current Linux).
 */
const LISTEN_BACKLOG = 4096;

export async function startGateway(options: GatewayOptions): Promise<RunningGateway> {
  const limit = new InFlight(options.maxConcurrency ?? DEFAULT_MAX_CONCURRENCY);
  const buckets = new TokenBuckets();
  const server = createServer((request, response) => {
    const started = performance.now();
    serve(options, request, response, limit, buckets)
      .catch((error: unknown) => {
        const answer = errorAnswer(options, error);
        if (response.headersSent) response.destroy();
        else {
          response.writeHead(answer.status, answer.headers);
          response.end(answer.body);
        }
        return 'unmatched';
      })
      .then((route) => options.onResponse?.({ route, status: response.statusCode, ms: performance.now() - started }));
  });
  server.keepAliveTimeout = 65_000;
  server.maxHeadersCount = 100;
  server.headersTimeout = 10_000;
  const stop = await listenShared(server, {
    port: options.port ?? 0,
    host: options.host ?? '127.0.0.1',
    backlog: LISTEN_BACKLOG,
  });
  const { port, address } = server.address() as AddressInfo;
  const host = address.includes(':') ? `[${address}]` : address;
  return {
    url: `http://${host}:${port}`,
    routes: options.routes,
    server,
    stop,
  };
}

async function serve(
  options: GatewayOptions,
  request: IncomingMessage,
  response: ServerResponse,
  limit: InFlight,
  buckets: TokenBuckets,
): Promise<string> {
  const rawUrl = request.url ?? '/';
  if (rawUrl.length > MAX_URL_LENGTH) throw new GatewayError(414, 'URI_TOO_LONG', 'Request URL too long');
  // The drop page, as CloudFront serves it from S3 beside the API when deployed.
  if (options.siteDir !== null && (await answerSite(request, response, options.siteDir))) return 'site';
  const behaviour = options.edge ? behaviourOf(options.edge, rawUrl.split('?')[0] ?? '/') : undefined;
  if (behaviour && (await answeredAtEdge(behaviour, request, response))) return 'edge';
  const method = request.method ?? 'GET';
  if (behaviour?.cache && (method === 'GET' || method === 'HEAD')) {
    // CloudFront's cache, before API Gateway: a hit reaches neither its throttles nor a function.
    let route = 'unmatched';
    const viewerHeaders = request.headers;
    // The origin is asked for the whole answer: the cache answers the viewer's conditions itself.
    const { 'if-none-match': _etag, 'if-modified-since': _since, ...unconditional } = viewerHeaders;
    request.headers = unconditional;
    const cached = await behaviour.cache.answer(method, rawUrl, viewerHeaders, async () => {
      forwardToOrigin(behaviour, request);
      const answer = await answeredOrRefused(options, request, limit, buckets);
      route = answer.route;
      return failedOver(behaviour, method, answer);
    });
    const headers: Record<string, string> = {
      ...cached.answer.headers,
      'x-cache': `${cached.cache} from cloudfront`,
    };
    if (cached.cache !== 'Miss') headers.age = String(cached.ageSeconds);
    response.writeHead(cached.answer.status, headers);
    response.end(method === 'HEAD' ? undefined : cached.answer.body);
    return cached.cache === 'Miss' ? route : 'edge';
  }
  forwardToOrigin(behaviour, request);
  const answer = behaviour?.failover
    ? failedOver(behaviour, method, await answeredOrRefused(options, request, limit, buckets))
    : await originAnswer(options, request, limit, buckets);
  response.writeHead(answer.status, answer.headers);
  response.end(answer.body);
  return answer.route;
}

/** The origin's answer, its refusals and failures included as the answers they become: a cache or an origin group judges it. */
function answeredOrRefused(
  options: GatewayOptions,
  request: IncomingMessage,
  limit: InFlight,
  buckets: TokenBuckets,
): Promise<{ route: string } & OriginAnswer> {
  return originAnswer(options, request, limit, buckets).catch((error: unknown) => ({
    route: 'unmatched',
    ...errorAnswer(options, error),
  }));
}

/** What API Gateway and the function answer (its own refusals thrown as GatewayError), not yet sent. */
async function originAnswer(
  options: GatewayOptions,
  request: IncomingMessage,
  limit: InFlight,
  buckets: TokenBuckets,
): Promise<{ route: string; status: number; headers: Record<string, string>; body: Buffer }> {
  const rawUrl = request.url ?? '/';
  // Like API Gateway, route on the path as sent: no dot-segment normalisation.
  const url = new URL(rawUrl, 'http://gateway.local');
  const rawPath = rawUrl.split('?')[0] ?? '/';
  const match = matchRoute(options.routes, request.method ?? 'GET', rawPath);
  const routeKey = `${match.route.method} ${match.route.path}`;
  if (match.route.access === 'admin' && !hasKey(request.headers['x-api-key'], options.adminKey)) {
    throw new GatewayError(
      403,
      'FORBIDDEN',
      'A valid x-api-key header is required',
      {},
      'INVALID_API_KEY',
      'Forbidden',
    );
  }
  const rules = options.rules;
  // API Gateway's order: the API key, then its usage plan's and the method's throttles, then the validator.
  if (rules) {
    const admitted =
      (match.route.access !== 'admin' || buckets.take('api-key', rules.throttles.apiKey)) &&
      buckets.take(routeKey, rules.throttles.methods.get(routeKey));
    if (!admitted) {
      request.resume();
      throw new GatewayError(429, 'THROTTLED', 'Too many requests', {}, 'THROTTLED', 'Too Many Requests');
    }
  }
  const handler = options.handlers.get(match.route.handler);
  if (!handler) throw new GatewayError(502, 'BAD_GATEWAY', 'No function is deployed for this route');

  const counted = match.route.access === 'shopper';
  if (counted && !limit.enter(match.route.handler)) {
    request.resume();
    throw new GatewayError(
      429,
      'THROTTLED',
      'Too many requests right now; retry after a second',
      { 'retry-after': '1' },
      'THROTTLED',
      'Too Many Requests',
    );
  }
  let result: APIGatewayProxyResult;
  try {
    const body = await readBody(request);
    const validation = rules?.requests.get(routeKey);
    if (validation) validate(validation, request, url.searchParams, body);
    const event = toProxyEvent(request, rawPath, url.searchParams, match, body, options.stage ?? 'local');
    result = await invoke(handler, event, match.route.handler);
  } finally {
    if (counted) limit.leave(match.route.handler);
  }
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(result.headers ?? {})) headers[name] = String(value);
  // API Gateway takes a proxy result without a body (a 204) as an empty one.
  const body = Buffer.from(result.body ?? '', result.isBase64Encoded ? 'base64' : 'utf8');
  return { route: routeKey, status: result.statusCode, headers, body };
}

/** The answer to a refusal or failure: the template's gateway response, else the contract's error shape. */
function errorAnswer(
  options: GatewayOptions,
  error: unknown,
): { status: number; headers: Record<string, string>; body: Buffer } {
  const known =
    error instanceof GatewayError
      ? error
      : new GatewayError(502, 'BAD_GATEWAY', 'The function failed', {}, 'INTEGRATION_FAILURE', 'Internal server error');
  const answer = options.rules
    ? gatewayResponse(options.rules.responses, known)
    : { status: known.status, headers: known.headers, body: { error: { code: known.code, message: known.message } } };
  return {
    status: answer.status,
    headers: { 'content-type': 'application/json', 'cache-control': 'no-store', ...answer.headers },
    body: Buffer.from(JSON.stringify(answer.body)),
  };
}

export function matchRoute(routes: readonly GatewayRoute[], method: string, pathname: string): Match {
  const segments = pathname.split('/').slice(1);
  let pathMatched = false;
  for (const route of routes) {
    const template = route.path.split('/').slice(1);
    if (template.length !== segments.length) continue;
    const pathParameters: Record<string, string> = {};
    const fits = template.every((part, index) => {
      const segment = segments[index] ?? '';
      if (!part.startsWith('{')) return part === segment;
      if (segment === '') return false;
      pathParameters[part.slice(1, -1)] = decodeSegment(segment);
      return true;
    });
    if (!fits) continue;
    pathMatched = true;
    if (route.method === method) return { route, pathParameters };
  }
  // API Gateway answers both as MISSING_AUTHENTICATION_TOKEN (403 "Missing Authentication Token" by default).
  const missing = [{}, 'MISSING_AUTHENTICATION_TOKEN', 'Missing Authentication Token'] as const;
  if (pathMatched) {
    throw new GatewayError(405, 'METHOD_NOT_ALLOWED', 'This route does not accept that method', ...missing);
  }
  throw new GatewayError(404, 'ROUTE_NOT_FOUND', 'No such route', ...missing);
}

function decodeSegment(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    throw new GatewayError(400, 'VALIDATION_ERROR', 'Malformed percent-encoding in the path');
  }
}

/**
 * Compares digests, not the keys: both are 32 bytes whatever was sent, so the
 * time taken tells nothing about the key's length or its leading characters.
 * A gateway given no key admits no one.
 */
function hasKey(given: string | string[] | undefined, expected: string): boolean {
  if (typeof given !== 'string' || expected.length === 0) return false;
  return timingSafeEqual(sha256(given), sha256(expected));
}

const sha256 = (value: string) => createHash('sha256').update(value).digest();

async function readBody(request: IncomingMessage): Promise<Buffer> {
  const declared = Number(request.headers['content-length'] ?? 0);
  if (declared > GATEWAY_MAX_BODY_BYTES) {
    request.resume();
    throw new GatewayError(413, 'PAYLOAD_TOO_LARGE', 'Request body too large', {}, 'REQUEST_TOO_LARGE');
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request) {
    size += (chunk as Buffer).length;
    if (size > GATEWAY_MAX_BODY_BYTES) {
      request.resume();
      throw new GatewayError(413, 'PAYLOAD_TOO_LARGE', 'Request body too large', {}, 'REQUEST_TOO_LARGE');
    }
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

function toProxyEvent(
  request: IncomingMessage,
  path: string,
  searchParams: URLSearchParams,
  { route, pathParameters }: Match,
  body: Buffer,
  stage: string,
): APIGatewayProxyEvent {
  const headers: Record<string, string> = {};
  const multiValueHeaders: Record<string, string[]> = {};
  // The headers as the edge left them (its function's changes, the origin request policy's selection), not
  // as the viewer sent them: `headersDistinct` is read off the raw request. A header left as sent keeps its
  // separate values.
  const sent = request.headersDistinct;
  for (const [name, value] of Object.entries(request.headers)) {
    if (value === undefined) continue;
    const given = Array.isArray(value) ? value : [value];
    const values = sent[name]?.join(', ') === given.join(', ') ? (sent[name] as string[]) : given;
    headers[name] = values.at(-1) ?? '';
    multiValueHeaders[name] = values;
  }
  const query: Record<string, string> = {};
  const multiValueQuery: Record<string, string[]> = {};
  for (const [name, value] of searchParams) {
    query[name] = value;
    multiValueQuery[name] = [...(multiValueQuery[name] ?? []), value];
  }
  const isText = TEXT_TYPES.test(String(request.headers['content-type'] ?? 'application/json'));
  const hasBody = body.length > 0;
  const now = Date.now();
  const requestId = randomUUID();
  return {
    resource: route.path,
    path,
    httpMethod: route.method,
    headers,
    multiValueHeaders,
    queryStringParameters: Object.keys(query).length > 0 ? query : null,
    multiValueQueryStringParameters: Object.keys(query).length > 0 ? multiValueQuery : null,
    pathParameters: Object.keys(pathParameters).length > 0 ? pathParameters : null,
    stageVariables: null,
    body: hasBody ? (isText ? body.toString('utf8') : body.toString('base64')) : null,
    isBase64Encoded: hasBody && !isText,
    requestContext: {
      accountId: '000000000000',
      apiId: 'local',
      authorizer: null,
      domainName: String(request.headers.host ?? 'localhost'),
      domainPrefix: 'local',
      extendedRequestId: requestId,
      httpMethod: route.method,
      identity: {
        accessKey: null,
        accountId: null,
        apiKey: null,
        apiKeyId: null,
        caller: null,
        clientCert: null,
        cognitoAuthenticationProvider: null,
        cognitoAuthenticationType: null,
        cognitoIdentityId: null,
        cognitoIdentityPoolId: null,
        principalOrgId: null,
        sourceIp: request.socket.remoteAddress?.replace(/^::ffff:/, '') ?? '127.0.0.1',
        user: null,
        userAgent: String(request.headers['user-agent'] ?? ''),
        userArn: null,
      },
      path: `/${stage}${path}`,
      protocol: `HTTP/${request.httpVersion}`,
      requestId,
      requestTime: new Date(now).toUTCString(),
      requestTimeEpoch: now,
      resourceId: route.path,
      resourcePath: route.path,
      stage,
    },
  };
}

async function invoke(
  handler: ProxyHandler,
  event: APIGatewayProxyEvent,
  name: string,
): Promise<APIGatewayProxyResult> {
  const context = lambdaContext(name, HANDLER_TIMEOUT_MS, event.requestContext.requestId);
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () =>
        reject(
          new GatewayError(
            504,
            'GATEWAY_TIMEOUT',
            'The function timed out',
            {},
            'INTEGRATION_TIMEOUT',
            'Endpoint request timed out',
          ),
        ),
      HANDLER_TIMEOUT_MS,
    );
  });
  try {
    const result = await Promise.race([handler(event, context), timeout]);
    if (!result || typeof result.statusCode !== 'number') {
      throw new GatewayError(
        502,
        'BAD_GATEWAY',
        'The function returned a malformed response',
        {},
        'INTEGRATION_FAILURE',
        'Internal server error',
      );
    }
    return result;
  } finally {
    clearTimeout(timer);
  }
}

/**
 * The request validator's checks ("Request validation for REST APIs in API Gateway",
 * https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-method-request-validation.html):
 * required headers and query strings, then a JSON body (no Content-Type is taken as application/json)
 * against the method's model.
 */
function validate(rules: RequestRules, request: IncomingMessage, query: URLSearchParams, body: Buffer): void {
  const missing = [
    // "Included and non-blank", as API Gateway requires them.
    ...rules.headers.filter((name) => String(request.headers[name.toLowerCase()] ?? '').trim() === ''),
    ...rules.query.filter((name) => (query.get(name) ?? '').trim() === ''),
  ];
  if (missing.length > 0) {
    const message = `Missing required request parameters: [${missing.join(', ')}]`;
    throw new GatewayError(400, 'VALIDATION_ERROR', message, {}, 'BAD_REQUEST_PARAMETERS');
  }
  const mediaType = String(request.headers['content-type'] ?? 'application/json')
    .split(';')[0]
    ?.trim()
    .toLowerCase();
  if (!rules.body || mediaType !== 'application/json') return;
  let value: unknown;
  try {
    value = JSON.parse(body.toString('utf8'));
  } catch {
    value = undefined;
  }
  const error = value === undefined ? 'not JSON' : rules.body(value);
  if (error !== undefined) {
    throw new GatewayError(
      400,
      'VALIDATION_ERROR',
      `Invalid request body: ${error}`,
      {},
      'BAD_REQUEST_BODY',
      'Invalid request body',
    );
  }
}

/** Per key, a token bucket of `burst` tokens refilled at `rate` a second (API Gateway's throttling model). */
class TokenBuckets {
  private readonly buckets = new Map<string, { tokens: number; at: number }>();

  take(key: string, throttle: Throttle | undefined): boolean {
    if (!throttle) return true;
    const now = performance.now();
    const bucket = this.buckets.get(key) ?? { tokens: throttle.burst, at: now };
    bucket.tokens = Math.min(throttle.burst, bucket.tokens + ((now - bucket.at) / 1000) * throttle.rate);
    bucket.at = now;
    this.buckets.set(key, bucket);
    if (bucket.tokens < 1) return false;
    bucket.tokens -= 1;
    return true;
  }
}

/**
 * The gateway response API Gateway gives for an error of its own: the template's response for its type,
 * else DEFAULT_4XX or DEFAULT_5XX, else API Gateway's built-in `{"message": …}`.
 */
export function gatewayResponse(
  responses: ReadonlyMap<string, GatewayResponseSpec>,
  error: { readonly status: number; readonly type: string; readonly apiMessage: string },
  requestId: string = randomUUID(),
): { status: number; headers: Record<string, string>; body: unknown } {
  const spec = responses.get(error.type) ?? responses.get(error.status >= 500 ? 'DEFAULT_5XX' : 'DEFAULT_4XX');
  const status = spec?.status ?? error.status;
  if (!spec?.template) return { status, headers: { ...spec?.headers }, body: { message: error.apiMessage } };
  const text = spec.template
    .replaceAll('$context.error.messageString', JSON.stringify(error.apiMessage))
    .replaceAll('$context.error.message', error.apiMessage)
    .replaceAll('$context.requestId', requestId);
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    body = text;
  }
  return { status, headers: { ...spec.headers }, body };
}

const patterns = new WeakMap<EdgeFunctionAssociation, RegExp>();

/**
 * Runs the viewer-request function of the first behaviour whose pattern matches (CloudFront picks one
 * behaviour per request, in order): true when it answered. A request it let through goes on with the
 * headers it left.
 */
function behaviourOf(edge: readonly EdgeFunctionAssociation[], rawPath: string): EdgeFunctionAssociation | undefined {
  return edge.find((candidate) => {
    const pattern = patterns.get(candidate) ?? pathPatternRegExp(candidate.pathPattern);
    patterns.set(candidate, pattern);
    return pattern.test(rawPath);
  });
}

async function answeredAtEdge(
  association: EdgeFunctionAssociation,
  request: IncomingMessage,
  response: ServerResponse,
): Promise<boolean> {
  const rawPath = (request.url ?? '/').split('?')[0] ?? '/';
  if (!association.fn) return false;
  const result = await association.fn.run(
    viewerRequestEvent({
      method: request.method ?? 'GET',
      url: request.url ?? '/',
      // Each value as sent: CloudFront lists a repeated header's values (`multiValue`), where Node's
      // `headers` joins them (and keeps the first of some, `authorization` among them).
      headers: request.headersDistinct,
      ip: request.socket.remoteAddress ?? '127.0.0.1',
    }),
  );
  if (result.kind === 'response') {
    request.resume();
    // CloudFront logs a function's failure (its 503 tells the viewer nothing): so does the local edge.
    if (result.failure) console.error(`[edge] ${rawPath}: ${result.failure.type}: ${result.failure.message}`);
    writeEdgeResponse(response, result.response);
    return true;
  }
  request.headers = Object.fromEntries(
    Object.entries(result.request.headers).map(([name, header]) => [
      name,
      header.multiValue ? header.multiValue.map((one) => one.value) : header.value,
    ]),
  );
  return false;
}
