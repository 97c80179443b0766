/**
 * A local CloudFront Functions runtime: runs a function's source (JavaScript runtime 2.0) in a `node:vm`
 * context that holds what that runtime holds, under its limits, so a test, a bench or the local stack
 * sees what CloudFront would answer. What it models, and where CloudFront says so:
 *
 * - Code: at most 10,240 bytes as uploaded ("Quotas", CloudFront Functions); `import <name> from 'cloudfront'` and
 *   `import <name> from 'crypto'` are the only imports, there are no exports, and the function is the
 *   top-level `handler`. https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/cloudfront-limits.html
 * - Runtime: ECMAScript built-ins, `console.log`, `Buffer` (runtime 2.0 has "Buffer module methods"), the
 *   `crypto` subset (createHash, createHmac: md5, sha1, sha256) and `cloudfront` (`cf.kvs()`); no dynamic
 *   code (eval, new Function, WebAssembly), no network (fetch), no timers, no file system, no process or
 *   require. https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/functions-javascript-runtime-20.html,
 *   https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/functions-javascript-runtime-features.html,
 *   https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/cloudfront-function-restrictions.html
 * - Time: CloudFront's budget is compute utilization, the share of a maximum allowed time a run takes
 *   (about 1 ms; `TestFunction` reports it). Locally the handler's synchronous start (up to its first
 *   await) gets `timeoutMs` (100 ms by default): past it the run fails, stopped by V8's watchdog or, where
 *   the function runs on every request, timed and failed once the step ends (`overrun`). Continuations after a
 *   KeyValueStore read are not stopped: terminating code in a context's own microtask queue
 *   (`microtaskMode: 'afterEvaluate'`) aborts the whole Node.js process (nodejs/node#38503, open), so
 *   they run in the host's queue, and a loop there would hang the local gateway where CloudFront would
 *   end it.
 * - KeyValueStore: `kvs.get(key, { format })` is async and rejects when the key is missing; keys are at
 *   most 512 bytes and values 1 KB ("File format for key-value pairs").
 *   https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/functions-custom-methods.html,
 *   https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/kvs-with-functions-create-s3-kvp.html
 * - Failure: a function that throws, returns neither a request nor a response, never settles or runs out
 *   of time leaves the viewer with CloudFront's 503 ("HTTP 503 status code (Service Unavailable)": a
 *   CloudFront Function execution error); the result names which (`FunctionExecutionError`, or
 *   `FunctionThrottledError` for the time limit).
 *   https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/http-503-service-unavailable.html
 *
 * The event and the answers are CloudFront's shapes (version 1.0):
 * https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/functions-event-structure.html
 *
 * Not modelled: the syntax. `vm` parses all of modern JavaScript, runtime 2.0 lists less; the edge stack
 * checks the code it uploads (`lib/constructs/edge-runtime-syntax.ts`) as it is synthesized, and the local runtime runs the
 * assembly's code.
 *
 * This is a fidelity sandbox, not a security boundary: `node:vm` is not one, and the host objects it lends
 * (Buffer, crypto) lead back to the host. It keeps honest code honest.
 */
import { createHash, createHmac, randomFillSync } from 'node:crypto';
import type { IncomingHttpHeaders, ServerResponse } from 'node:http';
import { basename } from 'node:path';
import vm from 'node:vm';
import { type EdgeBuild, edgeFunctionCode } from '../../edge/build';

/** CloudFront Functions' maximum function size. */
export const MAX_FUNCTION_BYTES = 10_240;
/** Local stand-in for the compute budget, per synchronous step of a run. */
export const LOCAL_TIMEOUT_MS = 100;
const KVS_MAX_KEY_BYTES = 512;
const KVS_MAX_VALUE_BYTES = 1024;
const CRYPTO_ALGORITHMS = ['md5', 'sha1', 'sha256'];

export interface CloudFrontValue {
  value: string;
  /** Present when the name repeats: every value, the first included. */
  multiValue?: { value: string }[];
}
export interface CloudFrontCookie {
  value: string;
  /** Response cookies only: `Secure; Path=/; ...`. */
  attributes?: string;
  multiValue?: { value: string; attributes?: string }[];
}
export type CloudFrontValues = Record<string, CloudFrontValue>;
export type CloudFrontCookies = Record<string, CloudFrontCookie>;

export interface CloudFrontFunctionRequest {
  method: string;
  /** The path as the viewer sent it, without the query string. */
  uri: string;
  /** Names and values as the viewer spelled them (not percent-decoded). */
  querystring: CloudFrontValues;
  /** Lower-case names; the `cookie` header is parsed into `cookies` instead. */
  headers: CloudFrontValues;
  cookies: CloudFrontCookies;
}

/** Runtime 2.0 takes the body as `{ encoding, data }`; a string is text. */
export type CloudFrontBody = string | { encoding: 'text' | 'base64'; data: string };

export interface CloudFrontFunctionResponse {
  statusCode: number;
  statusDescription?: string;
  headers?: CloudFrontValues;
  cookies?: CloudFrontCookies;
  body?: CloudFrontBody;
}

export interface CloudFrontFunctionEvent {
  version: '1.0';
  context: {
    distributionDomainName?: string;
    distributionId: string;
    eventType: 'viewer-request' | 'viewer-response';
    requestId: string;
  };
  viewer: { ip: string };
  request: CloudFrontFunctionRequest;
  /** Viewer-response events only. */
  response?: CloudFrontFunctionResponse;
}

/** Why CloudFront answered 503 instead of the function. */
export interface FunctionFailure {
  readonly type: 'FunctionExecutionError' | 'FunctionThrottledError';
  readonly message: string;
}

/** What a run leads to: the request goes on to the cache and origin, or the viewer gets this response. */
export type EdgeResult =
  | { readonly kind: 'request'; readonly request: CloudFrontFunctionRequest }
  | { readonly kind: 'response'; readonly response: CloudFrontFunctionResponse; readonly failure?: FunctionFailure };

/** Reads the KeyValueStore associated with the function: `undefined` for a missing key. */
export interface KeyValueStoreReader {
  get(key: string): string | undefined | Promise<string | undefined>;
}

export interface CloudFrontFunctionOptions {
  /** The associated KeyValueStore; without one, every key is missing. */
  readonly kvs?: KeyValueStoreReader;
  /** Names the function in errors; by default its file name. */
  readonly name?: string;
  /** @default LOCAL_TIMEOUT_MS */
  readonly timeoutMs?: number;
  /**
   * How a step that runs past `timeoutMs` ends. `'stop'` runs each step under V8's watchdog, which ends
   * even a loop that never would, at the price of a thread started per step: about 0.12 ms on an idle
   * core, 0.5 ms on a busy one, many times what the function costs. `'measure'` times the step's CPU on
   * this thread instead and fails the run when it took longer, as CloudFront fails a function over its
   * compute budget (CPU, not the wall clock: a busy host that preempts the step does not fail it): the same
   * answer for every step that ends, while a step that never ends hangs its caller. The local gateway measures (it
   * runs the function on every request); a test of a runaway function stops it.
   * @default 'stop'
   */
  readonly overrun?: 'stop' | 'measure';
  /** Where `console.log` lines go; by default nowhere. */
  readonly onLog?: (line: string) => void;
  /** How `fromFile` builds the source, as the stack builds it for upload; by default without shopper identity. */
  readonly build?: EdgeBuild;
}

/** The source cannot run on CloudFront Functions at all: CloudFront would refuse to publish it. */
export class CloudFrontFunctionError extends Error {
  override readonly name = 'CloudFrontFunctionError';
}

/** A pending KeyValueStore read, made in the function's context: settling it queues the continuation there. */
interface ContextDeferred {
  resolve(value: unknown): void;
  fail(message: string): void;
}

interface ContextBridge {
  read(key: string, format: string, pending: ContextDeferred): void;
  log(line: string): void;
}

/** Globals the sandbox uses while it loads and calls the function; none stays visible to it. */
const MODULES = '__cloudfrontFunctionModules';
const HANDLER = '__cloudfrontFunctionHandler';
const CALL = '__cloudfrontFunctionCall';

/** Runs in the context, so that the module objects, promises and errors the function sees are its own. */
const PRELUDE = `(function (bridge) {
  'use strict';
  delete globalThis.WebAssembly;
  function deferred() {
    let resolve;
    let reject;
    const promise = new Promise(function (ok, ko) { resolve = ok; reject = ko; });
    return { promise: promise, resolve: resolve, fail: function (message) { reject(new Error(message)); } };
  }
  function text(value) {
    return typeof value === 'object' && value !== null ? JSON.stringify(value) : String(value);
  }
  function log() {
    bridge.log(Array.prototype.map.call(arguments, text).join(' '));
  }
  const handle = {
    get: function (key, options) {
      const format = (options && options.format) || 'string';
      const pending = deferred();
      bridge.read(String(key), format, pending);
      return pending.promise.then(function (value) { return format === 'json' ? JSON.parse(value) : value; });
    },
  };
  globalThis.console = { log: log, info: log, warn: log, error: log, debug: log };
  return { cloudfront: { kvs: function () { return handle; } } };
})`;

/**
 * Calls the handler in the context: a synchronous throw becomes a rejection, as for an async handler. The
 * reactions are the context's own functions, so they run in its microtask queue, within the step.
 */
const INVOKE = `(function () {
  const call = globalThis.${CALL};
  delete globalThis.${CALL};
  new Promise(function (resolve) { resolve(call.handler(call.event)); }).then(
    function (value) { call.done(value); },
    function (error) { call.fail(error); }
  );
})();`;

/** Whitespace, comments and semicolons before and between the leading imports. */
const GAP = /^(?:\s+|;|\/\/[^\n]*|\/\*[\s\S]*?\*\/)*/;
/** `import <name> from 'cloudfront'|'crypto'`, as written or minified (`import cf from"cloudfront"`). */
const MODULE_IMPORT = /^import[ \t]+([A-Za-z_$][\w$]*)[ \t]+from[ \t]*(['"])(cloudfront|crypto)\2/;
const STATIC_IMPORT = /^\s*import\b(?!\s*\()/;
const EXPORT = /^\s*export\b/;

export class CloudFrontFunction {
  private readonly context: vm.Context;
  private readonly invoke = new vm.Script(INVOKE, { filename: 'cloudfront-functions-runtime' });
  private readonly timeoutMs: number;
  private readonly watchdog: { timeout: number } | undefined;
  private handler: unknown;
  /** Runs one at a time: a continuation's timeout belongs to the run in progress. */
  private queue: Promise<unknown> = Promise.resolve();
  private current: { readonly fail: (error: unknown) => void; pendingReads: number; settled: boolean } | undefined;

  /** The function in a source file, as the stack uploads it: its comments and whitespace left out. */
  static fromFile(path: string, options: CloudFrontFunctionOptions = {}): CloudFrontFunction {
    return CloudFrontFunction.fromSource(edgeFunctionCode(path, options.build ?? { identity: false }), {
      ...options,
      name: options.name ?? basename(path),
    });
  }

  static fromSource(source: string, options: CloudFrontFunctionOptions = {}): CloudFrontFunction {
    const name = options.name ?? 'function';
    return new CloudFrontFunction(name, script(source, name), options);
  }

  private constructor(
    readonly name: string,
    code: vm.Script,
    private readonly options: CloudFrontFunctionOptions,
  ) {
    this.timeoutMs = options.timeoutMs ?? LOCAL_TIMEOUT_MS;
    this.watchdog = options.overrun === 'measure' ? undefined : { timeout: this.timeoutMs };
    this.context = vm.createContext({}, { name, codeGeneration: { strings: false, wasm: false } });
    const bridge: ContextBridge = {
      read: (key, format, pending) => this.read(key, format, pending),
      log: (line) => this.options.onLog?.(line),
    };
    const install = new vm.Script(PRELUDE).runInContext(this.context) as (bridge: ContextBridge) => {
      cloudfront: unknown;
    };
    const { cloudfront } = install(bridge);
    this.context.Buffer = Buffer;
    this.context[MODULES] = { cloudfront, crypto: cryptoSubset() };
    try {
      code.runInContext(this.context, { timeout: this.timeoutMs });
    } catch (error) {
      throw new CloudFrontFunctionError(`${name} fails as it loads: ${messageOf(error)}`);
    } finally {
      delete this.context[MODULES];
    }
    this.handler = this.context[HANDLER];
    delete this.context[HANDLER];
    if (typeof this.handler !== 'function') throw new CloudFrontFunctionError(`${name} defines no function handler`);
  }

  /** Runs the function on one event, as CloudFront does for a viewer request or response. */
  run(event: CloudFrontFunctionEvent): Promise<EdgeResult> {
    const turn = this.queue.then(() => this.call(event));
    this.queue = turn.catch(() => undefined);
    return turn;
  }

  private call(event: CloudFrontFunctionEvent): Promise<EdgeResult> {
    return new Promise((resolve) => {
      const finish = (result: EdgeResult) => {
        if (run.settled) return;
        run.settled = true;
        this.current = undefined;
        resolve(result);
      };
      const run = { fail: (error: unknown) => finish(failed(error)), pendingReads: 0, settled: false };
      this.current = run;
      this.context[CALL] = {
        handler: this.handler,
        event,
        done: (value: unknown) => finish(resultOf(value)),
        fail: (error: unknown) => finish(failed(error)),
      };
      this.step(() => this.invoke.runInContext(this.context, this.watchdog));
    });
  }

  /**
   * One step of the run in progress. Once its continuations have run (they are microtasks, done before
   * the next macrotask), a run that waits on no read will never settle.
   */
  private step(work: () => void): void {
    const run = this.current;
    if (!run) return;
    // A step's CPU time is at most its wall time (one thread): the second CPU reading, a system call, is
    // needed only when the wall clock has run past the budget.
    const wallStarted = this.watchdog ? 0 : performance.now();
    const started = this.watchdog ? 0 : cpuMs();
    try {
      work();
    } catch (error) {
      run.fail(error);
      return;
    }
    if (!this.watchdog && performance.now() - wallStarted > this.timeoutMs && cpuMs() - started > this.timeoutMs) {
      // What the watchdog would have thrown, had it been running.
      run.fail(
        Object.assign(new Error(`Script execution timed out after ${this.timeoutMs}ms`), {
          code: 'ERR_SCRIPT_EXECUTION_TIMEOUT',
        }),
      );
      return;
    }
    setImmediate(() => {
      if (this.current === run && !run.settled && run.pendingReads === 0) {
        run.fail(new Error('the handler returned a promise that never settles'));
      }
    });
  }

  /**
   * A KeyValueStore read. A reader that answers at once settles the read's promise in the step that made
   * it (its continuation still runs after the handler yields, as on CloudFront); one that answers later
   * settles it in a step of its own.
   */
  private read(key: string, format: string, pending: ContextDeferred): void {
    let value: ReturnType<KeyValueStoreReader['get']>;
    try {
      value = this.options.kvs?.get(key);
    } catch (error) {
      pending.fail(messageOf(error));
      return;
    }
    if (typeof (value as PromiseLike<unknown> | undefined)?.then !== 'function') {
      deliver(key, format, value as string | undefined, pending);
      return;
    }
    const run = this.current;
    if (!run) return;
    run.pendingReads += 1;
    const settle = (apply: () => void) => {
      if (this.current !== run) return;
      run.pendingReads -= 1;
      this.step(apply);
    };
    Promise.resolve(value).then(
      (answer) => settle(() => deliver(key, format, answer, pending)),
      (error: unknown) => settle(() => pending.fail(messageOf(error))),
    );
  }
}

/** CPU time this thread has used, in ms: what a step costs, whether or not the host was descheduled meanwhile. */
function cpuMs(): number {
  const { user, system } = process.threadCpuUsage();
  return (user + system) / 1000;
}

/** Settles a read as CloudFront's helper would: the value, or an error for a missing key or one over the limits. */
function deliver(key: string, format: string, value: string | undefined, pending: ContextDeferred): void {
  if (Buffer.byteLength(key) > KVS_MAX_KEY_BYTES) pending.fail(`key longer than ${KVS_MAX_KEY_BYTES} bytes`);
  else if (value === undefined) pending.fail(`Key not found: ${key}`);
  else if (Buffer.byteLength(value) > KVS_MAX_VALUE_BYTES) {
    pending.fail(`value of ${key} is longer than ${KVS_MAX_VALUE_BYTES} bytes: no KeyValueStore holds it`);
  } else pending.resolve(format === 'bytes' ? Buffer.from(value) : value);
}

/** The source as CloudFront would take it, its two allowed imports bound to the sandbox's modules. */
function script(source: string, name: string): vm.Script {
  const bytes = Buffer.byteLength(source, 'utf8');
  if (bytes > MAX_FUNCTION_BYTES) {
    throw new CloudFrontFunctionError(
      `${name} is ${bytes} bytes; CloudFront Functions take at most ${MAX_FUNCTION_BYTES}`,
    );
  }
  const lines = bindImports(source)
    .split('\n')
    .map((line, index) => {
      if (STATIC_IMPORT.test(line)) {
        throw new CloudFrontFunctionError(
          `${name}:${index + 1} imports what CloudFront Functions lack; only \`import <name> from 'cloudfront'\` and 'crypto' exist`,
        );
      }
      if (EXPORT.test(line))
        throw new CloudFrontFunctionError(`${name}:${index + 1} exports; CloudFront calls handler`);
      return line;
    });
  lines.push(`;globalThis.${HANDLER} = typeof handler === 'function' ? handler : undefined;`);
  try {
    // Runtime 2.0 runs functions in strict mode.
    return new vm.Script(`'use strict';${lines.join('\n')}`, { filename: name });
  } catch (error) {
    throw new CloudFrontFunctionError(`${name} does not compile: ${messageOf(error)}`);
  }
}

/**
 * The source with its leading imports of CloudFront's modules bound to the sandbox's, in place (no line
 * moves). Only the leading run is read, so nothing in a string or a function body is taken for an import;
 * an import anywhere else is left for the per-line check or the compiler to refuse.
 */
function bindImports(source: string): string {
  let bound = '';
  let rest = source;
  for (;;) {
    const gap = GAP.exec(rest)?.[0] ?? '';
    const found = MODULE_IMPORT.exec(rest.slice(gap.length));
    if (!found) return bound + rest;
    bound += `${gap}const ${found[1]} = globalThis.${MODULES}.${found[3]}`;
    rest = rest.slice(gap.length + found[0].length);
  }
}

/** CloudFront's `crypto` module: hashes and HMACs, with the algorithms it lists. */
function cryptoSubset() {
  const algorithm = (name: string) => {
    if (!CRYPTO_ALGORITHMS.includes(name)) throw new Error(`crypto: unsupported algorithm ${name}`);
    return name;
  };
  return {
    createHash: (name: string) => createHash(algorithm(name)),
    createHmac: (name: string, key: string | Buffer) => createHmac(algorithm(name), key),
  };
}

/** What CloudFront does with what the handler resolved to: a response has a status, a request a URI. */
function resultOf(value: unknown): EdgeResult {
  if (typeof value === 'object' && value !== null) {
    const copy = JSON.parse(JSON.stringify(value));
    if (Number.isInteger(copy.statusCode)) return { kind: 'response', response: copy };
    if (typeof copy.uri === 'string' && typeof copy.method === 'string') return { kind: 'request', request: copy };
  }
  return failed(new Error('the handler returned neither a request nor a response'));
}

/** The viewer's answer when the function fails: CloudFront's 503 (the text of the page is ours). */
function failed(error: unknown): EdgeResult {
  const throttled = (error as { code?: unknown } | null)?.code === 'ERR_SCRIPT_EXECUTION_TIMEOUT';
  const failure: FunctionFailure = {
    type: throttled ? 'FunctionThrottledError' : 'FunctionExecutionError',
    message: messageOf(error),
  };
  return {
    kind: 'response',
    response: {
      statusCode: 503,
      statusDescription: 'Service Unavailable',
      headers: {
        'content-type': { value: 'text/plain; charset=utf-8' },
        'x-cache': { value: 'Error from cloudfront' },
      },
      body: { encoding: 'text', data: `503 ERROR: the CloudFront function could not run (${failure.type})\n` },
    },
    failure,
  };
}

function messageOf(error: unknown): string {
  const message = (error as { message?: unknown } | null)?.message;
  return typeof message === 'string' ? message : String(error);
}

export interface ViewerRequestInput {
  readonly method: string;
  /** As `IncomingMessage.url` has it: path and query string. */
  readonly url: string;
  /** As `IncomingMessage.headers` (a repeated header's values joined) or `headersDistinct` (each value). */
  readonly headers: IncomingHttpHeaders | NodeJS.Dict<string[]>;
  readonly ip: string;
  readonly distributionDomainName?: string;
}

/** The event CloudFront passes a viewer-request function for this request. */
export function viewerRequestEvent(input: ViewerRequestInput): CloudFrontFunctionEvent {
  const target = input.url.replace(/^[a-z][a-z0-9+.-]*:\/\/[^/?#]*/i, '').replace(/#.*$/, '');
  const queryAt = target.indexOf('?');
  const uri = (queryAt === -1 ? target : target.slice(0, queryAt)) || '/';
  const query = queryAt === -1 ? '' : target.slice(queryAt + 1);

  const querystring: CloudFrontValues = {};
  for (const pair of query.split('&')) {
    if (pair === '') continue;
    const equals = pair.indexOf('=');
    add(querystring, equals === -1 ? pair : pair.slice(0, equals), equals === -1 ? '' : pair.slice(equals + 1));
  }
  const headers: CloudFrontValues = {};
  const cookies: CloudFrontCookies = {};
  for (const [name, value] of Object.entries(input.headers)) {
    if (value === undefined) continue;
    const lower = name.toLowerCase();
    for (const one of Array.isArray(value) ? value : [value]) {
      if (lower === 'cookie') for (const [cookie, text] of cookiePairs(one)) add(cookies, cookie, text);
      else add(headers, lower, one);
    }
  }
  return {
    version: '1.0',
    context: {
      ...(input.distributionDomainName ? { distributionDomainName: input.distributionDomainName } : {}),
      distributionId: 'EDROPLINELOCAL',
      eventType: 'viewer-request',
      requestId: newRequestId(),
    },
    viewer: { ip: input.ip },
    request: { method: input.method.toUpperCase(), uri, querystring, headers, cookies },
  };
}

/** Random bytes for request ids, filled a few hundred ids at a time: one call into the random source per id was a measurable share of the gateway's thread. */
const REQUEST_ID_BYTES = 21;
const requestIdPool = Buffer.alloc(REQUEST_ID_BYTES * 256);
let requestIdAt = requestIdPool.length;

/** A request id shaped as before (28 base64url characters), unique with overwhelming probability. */
function newRequestId(): string {
  if (requestIdAt + REQUEST_ID_BYTES > requestIdPool.length) {
    randomFillSync(requestIdPool);
    requestIdAt = 0;
  }
  const id = requestIdPool.toString('base64url', requestIdAt, requestIdAt + REQUEST_ID_BYTES);
  requestIdAt += REQUEST_ID_BYTES;
  return id;
}

function cookiePairs(header: string): [string, string][] {
  return header
    .split(';')
    .map((part) => part.trim())
    .filter((part) => part !== '')
    .map((part) => {
      const equals = part.indexOf('=');
      return equals === -1 ? [part, ''] : [part.slice(0, equals), part.slice(equals + 1)];
    });
}

/** Adds a value under a name, as CloudFront lists a repeated one: the first in `value`, all in `multiValue`. */
function add(into: Record<string, CloudFrontValue>, name: string, value: string): void {
  const existing = into[name];
  if (!existing) {
    into[name] = { value };
    return;
  }
  existing.multiValue ??= [{ value: existing.value }];
  existing.multiValue.push({ value });
}

/** Writes a function's response to the viewer: status, headers, cookies and body. */
export function writeEdgeResponse(res: ServerResponse, response: CloudFrontFunctionResponse): void {
  for (const [name, header] of Object.entries(response.headers ?? {})) {
    const values = header.multiValue?.map((one) => one.value) ?? [header.value];
    res.setHeader(name, values.length === 1 ? (values[0] as string) : values);
  }
  const setCookies = Object.entries(response.cookies ?? {}).flatMap(([name, cookie]) =>
    (cookie.multiValue ?? [cookie]).map((one) => `${name}=${one.value}${one.attributes ? `; ${one.attributes}` : ''}`),
  );
  if (setCookies.length > 0) res.setHeader('set-cookie', setCookies);
  if (response.statusDescription) res.statusMessage = response.statusDescription;
  res.statusCode = response.statusCode;
  res.end(bodyBytes(response.body));
}

function bodyBytes(body: CloudFrontBody | undefined): Buffer {
  if (body === undefined) return Buffer.alloc(0);
  if (typeof body === 'string') return Buffer.from(body, 'utf8');
  return Buffer.from(body.data, body.encoding === 'base64' ? 'base64' : 'utf8');
}
