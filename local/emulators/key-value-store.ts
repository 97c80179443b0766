/**
 * A local CloudFront KeyValueStore: one in-memory store, read in-process by a
 * local CloudFront Function sandbox (`get`) and written over HTTP by the real
 * `@aws-sdk/client-cloudfront-keyvaluestore` client (`startKeyValueStoreServer`).
 *
 * What it keeps from AWS's data plane (API reference, "Amazon CloudFront KeyValueStore" actions):
 * - the ETag versions the whole store, not a key: every successful write (PutKey, DeleteKey) returns a
 *   new one, and a write whose `If-Match` is not the current ETag is refused with ConflictException (409);
 * - limits: a key of 1 to 512 UTF-8 bytes, a value of at most 1,024 bytes (ValidationException, 400) and
 *   5 MB for the whole store (ServiceQuotaExceededException, 402). The store's size is counted here as
 *   the UTF-8 bytes of its keys and values;
 * - a missing key (GetKey, DeleteKey) is ResourceNotFoundException (404).
 *
 * What it does not:
 * - signatures are not checked (the SDK signs this service with SigV4A; any credentials do);
 * - there is one store, and every KVS ARN (`arn:<partition>:cloudfront::<account>:key-value-store/<id>`,
 *   any account, any id) addresses it: the ARN a deployed function gets from CloudFormation cannot be
 *   known locally, and the local stack has one store. Anything else in the ARN's place is a
 *   ValidationException. DescribeKeyValueStore answers with the ARN it was asked about;
 * - UpdateKeys (the batch write) is not emulated: it is answered 501 `NotImplemented`.
 *
 * Reaching it with the SDK. The client's endpoint rules put the ARN's account in front of any custom
 * endpoint's host (`{scheme}://{accountId}.{authority}{path}`), so the standard
 * `AWS_ENDPOINT_URL_CLOUDFRONT_KEYVALUESTORE=http://127.0.0.1:PORT` alone makes an invalid URL
 * (`http://123456789012.127.0.0.1:PORT`) and `http://localhost:PORT` a host that does not resolve
 * (`123456789012.localhost`). A client meant to run here too keeps the endpoint as given:
 *
 *   import '@aws-sdk/signature-v4a'; // registers the pure-JS SigV4A signer; without it every call fails
 *   const local = process.env.AWS_ENDPOINT_URL_CLOUDFRONT_KEYVALUESTORE;
 *   const kvs = new CloudFrontKeyValueStoreClient(local ? { endpointProvider: () => ({ url: new URL(local) }) } : {});
 *
 * Without the variable (deployed) the client resolves `https://{accountId}.cloudfront-kvs.global.api.aws`.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export const KVS_MAX_KEY_BYTES = 512;
export const KVS_MAX_VALUE_BYTES = 1024;
export const KVS_MAX_TOTAL_BYTES = 5 * 1024 * 1024;

/** The error names the SDK's deserializer maps to its exception classes, with their HTTP status. */
const STATUS = {
  ValidationException: 400,
  ServiceQuotaExceededException: 402,
  ResourceNotFoundException: 404,
  ConflictException: 409,
} as const;

export type KeyValueStoreErrorName = keyof typeof STATUS;

/** A refused call, named as AWS names it; the server answers it with `status` and `x-amzn-errortype: name`. */
export class KeyValueStoreError extends Error {
  override readonly name: KeyValueStoreErrorName;
  readonly status: number;

  constructor(name: KeyValueStoreErrorName, message: string) {
    super(message);
    this.name = name;
    this.status = STATUS[name];
  }
}

export interface KeyValueStoreDescription {
  readonly arn: string;
  readonly etag: string;
  readonly itemCount: number;
  readonly totalSizeInBytes: number;
  readonly created: Date;
  readonly lastModified: Date;
  readonly status: 'READY';
}

export interface KeyValueStoreWrite {
  readonly etag: string;
  readonly itemCount: number;
  readonly totalSizeInBytes: number;
}

export interface KeyValueStorePage {
  readonly items: readonly { readonly key: string; readonly value: string }[];
  readonly nextToken?: string;
}

const bytes = (text: string) => Buffer.byteLength(text, 'utf8');

export class LocalKeyValueStore {
  /** The store's own ARN (informational: the server accepts any KVS ARN for it). */
  readonly arn: string;
  readonly #items = new Map<string, string>();
  readonly #etagPrefix = randomBytes(8).toString('hex').slice(0, 7).toUpperCase();
  readonly #created: Date;
  readonly #now: () => Date;
  #version = 0;
  #size = 0;
  #lastModified: Date;

  /** `entries` seed the store as CloudFormation's ImportSource would, under the same limits. */
  constructor(
    options: {
      arn?: string;
      entries?: Iterable<readonly [string, string]> | Record<string, string>;
      now?: () => Date;
    } = {},
  ) {
    this.arn = options.arn ?? `arn:aws:cloudfront::000000000000:key-value-store/${randomUUID()}`;
    this.#now = options.now ?? (() => new Date());
    this.#created = this.#now();
    this.#lastModified = this.#created;
    const entries = options.entries ?? [];
    for (const [key, value] of Symbol.iterator in entries ? entries : Object.entries(entries)) {
      checkKey(key);
      checkValue(value);
      this.#set(key, value);
    }
    if (this.#size > KVS_MAX_TOTAL_BYTES) throw tooLarge(this.#size);
  }

  /** The current version of the whole store: what the next write must send as `IfMatch`. */
  get etag(): string {
    return `E${this.#etagPrefix}${this.#version.toString(36).toUpperCase().padStart(5, '0')}`;
  }

  /** The value a CloudFront Function reading `key` sees now; `undefined` when the key is absent. */
  get(key: string): string | undefined {
    return this.#items.get(key);
  }

  /** GetKey: the value, or ResourceNotFoundException. */
  getKey(key: string): { key: string; value: string; itemCount: number; totalSizeInBytes: number } {
    checkKey(key);
    const value = this.#items.get(key);
    if (value === undefined) throw new KeyValueStoreError('ResourceNotFoundException', `Key not found: ${key}`);
    return { key, value, itemCount: this.#items.size, totalSizeInBytes: this.#size };
  }

  describe(arn: string = this.arn): KeyValueStoreDescription {
    return {
      arn,
      etag: this.etag,
      itemCount: this.#items.size,
      totalSizeInBytes: this.#size,
      created: this.#created,
      lastModified: this.#lastModified,
      status: 'READY',
    };
  }

  /** PutKey: creates or replaces `key` when `ifMatch` is the current ETag. */
  put(key: string, value: string, ifMatch: string | undefined): KeyValueStoreWrite {
    checkKey(key);
    checkValue(value);
    this.#checkIfMatch(ifMatch);
    const previous = this.#items.get(key);
    const size = this.#size - (previous === undefined ? 0 : bytes(key) + bytes(previous)) + bytes(key) + bytes(value);
    if (size > KVS_MAX_TOTAL_BYTES) throw tooLarge(size);
    this.#items.set(key, value);
    this.#size = size;
    return this.#written();
  }

  /** DeleteKey: removes `key` when `ifMatch` is the current ETag; a missing key is ResourceNotFoundException. */
  delete(key: string, ifMatch: string | undefined): KeyValueStoreWrite {
    checkKey(key);
    this.#checkIfMatch(ifMatch);
    const previous = this.#items.get(key);
    if (previous === undefined) throw new KeyValueStoreError('ResourceNotFoundException', `Key not found: ${key}`);
    this.#items.delete(key);
    this.#size -= bytes(key) + bytes(previous);
    return this.#written();
  }

  /** ListKeys, in key order; `nextToken` is the last key of the previous page. */
  list(options: { maxResults?: number; nextToken?: string } = {}): KeyValueStorePage {
    const { maxResults, nextToken } = options;
    if (maxResults !== undefined && !(Number.isInteger(maxResults) && maxResults >= 1))
      throw new KeyValueStoreError('ValidationException', `MaxResults must be a positive integer, got ${maxResults}`);
    const after = nextToken === undefined ? undefined : Buffer.from(nextToken, 'base64url').toString('utf8');
    const keys = [...this.#items.keys()].sort().filter((key) => after === undefined || key > after);
    const page = maxResults === undefined ? keys : keys.slice(0, maxResults);
    const last = page.at(-1);
    return {
      items: page.map((key) => ({ key, value: this.#items.get(key) as string })),
      ...(last !== undefined && page.length < keys.length
        ? { nextToken: Buffer.from(last, 'utf8').toString('base64url') }
        : {}),
    };
  }

  #set(key: string, value: string): void {
    this.#items.set(key, value);
    this.#size += bytes(key) + bytes(value);
  }

  #checkIfMatch(ifMatch: string | undefined): void {
    if (!ifMatch)
      throw new KeyValueStoreError('ValidationException', 'IfMatch (the ETag from DescribeKeyValueStore) is required');
    if (ifMatch !== this.etag)
      throw new KeyValueStoreError(
        'ConflictException',
        `IfMatch ${ifMatch} is not the store's current ETag ${this.etag}: describe the store again and retry`,
      );
  }

  #written(): KeyValueStoreWrite {
    this.#version += 1;
    this.#lastModified = this.#now();
    return { etag: this.etag, itemCount: this.#items.size, totalSizeInBytes: this.#size };
  }
}

function checkKey(key: string): void {
  if (typeof key !== 'string' || key.length === 0)
    throw new KeyValueStoreError('ValidationException', 'Key must be a non-empty string');
  if (bytes(key) > KVS_MAX_KEY_BYTES)
    throw new KeyValueStoreError(
      'ValidationException',
      `Key is ${bytes(key)} bytes; the limit is ${KVS_MAX_KEY_BYTES}`,
    );
}

function checkValue(value: string): void {
  if (typeof value !== 'string') throw new KeyValueStoreError('ValidationException', 'Value must be a string');
  if (bytes(value) > KVS_MAX_VALUE_BYTES)
    throw new KeyValueStoreError(
      'ValidationException',
      `Value is ${bytes(value)} bytes; the limit is ${KVS_MAX_VALUE_BYTES}`,
    );
}

const tooLarge = (size: number) =>
  new KeyValueStoreError(
    'ServiceQuotaExceededException',
    `The store would hold ${size} bytes; the limit is ${KVS_MAX_TOTAL_BYTES}`,
  );

const KVS_ARN = /^arn:[a-z-]+:cloudfront::[^:]*:key-value-store\/[^/]+$/;

/** Largest request body read: a PutKey body is `{"Value": ...}` of at most 1 KB, escaped. */
const MAX_BODY_BYTES = 64 * 1024;

export interface RunningKeyValueStoreServer {
  /** The endpoint: the value for `AWS_ENDPOINT_URL_CLOUDFRONT_KEYVALUESTORE`. */
  readonly url: string;
  stop(): Promise<void>;
}

/**
 * Serves `store` on `host:port` (127.0.0.1 and a free port by default) in the SDK's REST-JSON shapes:
 * DescribeKeyValueStore `GET /key-value-stores/{arn}`, ListKeys `GET …/keys`, and GetKey, PutKey,
 * DeleteKey `GET|PUT|DELETE …/keys/{key}` (labels URI-encoded, `If-Match` header, PutKey body
 * `{"Value": …}`); errors as status + `x-amzn-errortype` + `{"message": …}`.
 */
export async function startKeyValueStoreServer(
  store: LocalKeyValueStore,
  options: { host?: string; port?: number } = {},
): Promise<RunningKeyValueStoreServer> {
  const server = createServer((request, response) => {
    handle(store, request, response).catch((error: unknown) => {
      if (!response.headersSent) sendError(response, 500, 'InternalServerException', (error as Error).message);
      else response.destroy();
    });
  });
  const host = options.host ?? '127.0.0.1';
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  const urlHost = host.includes(':') ? `[${host}]` : host;
  return {
    url: `http://${urlHost}:${port}`,
    stop: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        // The SDK keeps connections alive; close() alone would wait for them.
        server.closeAllConnections();
      }),
  };
}

async function handle(store: LocalKeyValueStore, request: IncomingMessage, response: ServerResponse): Promise<void> {
  const body = await readBody(request);
  try {
    const url = new URL(request.url ?? '/', 'http://local');
    const segments = url.pathname.split('/').slice(1).map(decodeURIComponent);
    const [root, arn, keys, key, ...rest] = segments;
    if (root !== 'key-value-stores' || arn === undefined || rest.length > 0 || (keys !== undefined && keys !== 'keys'))
      return sendError(response, 404, 'UnknownOperationException', `No operation at ${request.method} ${url.pathname}`);
    if (!KVS_ARN.test(arn))
      throw new KeyValueStoreError('ValidationException', `KvsARN must be a key value store ARN, got ${arn}`);
    const ifMatch = header(request, 'if-match');
    const method = request.method ?? 'GET';

    if (keys === undefined && method === 'GET') {
      const d = store.describe(arn);
      return send(response, d.etag, {
        ItemCount: d.itemCount,
        TotalSizeInBytes: d.totalSizeInBytes,
        KvsARN: d.arn,
        Created: d.created.getTime() / 1000,
        LastModified: d.lastModified.getTime() / 1000,
        Status: d.status,
      });
    }
    if (keys !== undefined && key === undefined && method === 'GET') {
      const maxResults = url.searchParams.get('MaxResults');
      const nextToken = url.searchParams.get('NextToken');
      const page = store.list({
        ...(maxResults === null ? {} : { maxResults: Number(maxResults) }),
        ...(nextToken === null ? {} : { nextToken }),
      });
      return send(response, undefined, {
        Items: page.items.map((item) => ({ Key: item.key, Value: item.value })),
        ...(page.nextToken === undefined ? {} : { NextToken: page.nextToken }),
      });
    }
    if (keys !== undefined && key === undefined && method === 'POST')
      return sendError(response, 501, 'NotImplemented', 'UpdateKeys is not emulated by the local key value store');
    if (key !== undefined && method === 'GET') {
      const found = store.getKey(key);
      return send(response, undefined, {
        Key: found.key,
        Value: found.value,
        ItemCount: found.itemCount,
        TotalSizeInBytes: found.totalSizeInBytes,
      });
    }
    if (key !== undefined && method === 'PUT') {
      const value = parseValue(body);
      const written = store.put(key, value, ifMatch);
      return send(response, written.etag, { ItemCount: written.itemCount, TotalSizeInBytes: written.totalSizeInBytes });
    }
    if (key !== undefined && method === 'DELETE') {
      const written = store.delete(key, ifMatch);
      return send(response, written.etag, { ItemCount: written.itemCount, TotalSizeInBytes: written.totalSizeInBytes });
    }
    return sendError(response, 405, 'UnknownOperationException', `No operation at ${method} ${url.pathname}`);
  } catch (error) {
    if (error instanceof KeyValueStoreError) return sendError(response, error.status, error.name, error.message);
    if (error instanceof URIError) return sendError(response, 400, 'ValidationException', 'Malformed URI encoding');
    throw error;
  }
}

function parseValue(body: string): string {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body || '{}');
  } catch {
    throw new KeyValueStoreError('ValidationException', 'The request body is not JSON');
  }
  const value = (parsed as { Value?: unknown } | null)?.Value;
  if (typeof value !== 'string') throw new KeyValueStoreError('ValidationException', 'Value is required');
  return value;
}

function header(request: IncomingMessage, name: string): string | undefined {
  const value = request.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

function readBody(request: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let length = 0;
    request.on('data', (chunk: Buffer) => {
      length += chunk.length;
      if (length > MAX_BODY_BYTES) {
        request.destroy();
        reject(new Error(`request body over ${MAX_BODY_BYTES} bytes`));
      } else chunks.push(chunk);
    });
    request.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    request.on('error', reject);
  });
}

function send(response: ServerResponse, etag: string | undefined, body: unknown): void {
  const text = JSON.stringify(body);
  response.writeHead(200, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(text),
    'x-amzn-requestid': randomUUID(),
    ...(etag === undefined ? {} : { etag }),
  });
  response.end(text);
}

function sendError(response: ServerResponse, status: number, type: string, message: string): void {
  // The SDK reads the type from x-amzn-errortype, the message from `message` (or `Message`, the
  // modelled member it also copies onto the exception).
  const text = JSON.stringify({ message, Message: message });
  response.writeHead(status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(text),
    'x-amzn-errortype': type,
    'x-amzn-requestid': randomUUID(),
  });
  response.end(text);
}
