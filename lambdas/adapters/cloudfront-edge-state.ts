/**
 * The edge's KeyValueStore, as JSON values. Every write names the store's ETag as read (`IfMatch`): a write
 * that raced another (another key's, from another environment) is refused with a ConflictException and
 * retried on the new ETag ("PutKey", CloudFront KeyValueStore API Reference,
 * https://docs.aws.amazon.com/cloudfront/latest/APIReference/API_kvs_PutKey.html). Each key has one writer
 * (`drop:` the edge-state writer, `room:` and `admission-keys` the admission controller), so a conflict is
 * never a lost update of the same key. The ETag a write returns is the store's after it, so the next write
 * names it without reading it again: one call per write while no one else writes, a describe and a retry
 * after someone did.
 */
import {
  type CloudFrontKeyValueStoreClient,
  ConflictException,
  DescribeKeyValueStoreCommand,
  GetKeyCommand,
  ListKeysCommand,
  PutKeyCommand,
  ResourceNotFoundException,
} from '@aws-sdk/client-cloudfront-keyvaluestore';
import { EdgeDropState } from '../../contract/edge-values';
import type { EdgeKeyValues, EdgeStateStore } from '../domain/edge-state';

/** Writes racing each other on one store; each conflict costs one more read of its ETag. */
const MAX_WRITE_ATTEMPTS = 8;

export class KeyValueStoreJson implements EdgeKeyValues {
  /** The store's ETag as of this environment's last write, while no conflict has said otherwise. */
  private etag: string | undefined;

  constructor(
    private readonly client: CloudFrontKeyValueStoreClient,
    private readonly storeArn: () => string,
  ) {}

  async read(key: string): Promise<unknown> {
    try {
      const { Value } = await this.client.send(new GetKeyCommand({ KvsARN: this.storeArn(), Key: key }));
      return JSON.parse(Value ?? 'null');
    } catch (error) {
      if (error instanceof ResourceNotFoundException || error instanceof SyntaxError) return undefined;
      throw error;
    }
  }

  async write(key: string, value: unknown): Promise<void> {
    const KvsARN = this.storeArn();
    for (let attempt = 1; ; attempt++) {
      const ifMatch = this.etag ?? (await this.client.send(new DescribeKeyValueStoreCommand({ KvsARN }))).ETag;
      try {
        const written = await this.client.send(
          new PutKeyCommand({ KvsARN, Key: key, Value: JSON.stringify(value), IfMatch: ifMatch }),
        );
        this.etag = written.ETag;
        return;
      } catch (error) {
        this.etag = undefined;
        if (!(error instanceof ConflictException) || attempt >= MAX_WRITE_ATTEMPTS) throw error;
      }
    }
  }

  async keys(prefix: string): Promise<string[]> {
    const found: string[] = [];
    let NextToken: string | undefined;
    do {
      const page = await this.client.send(
        new ListKeysCommand({ KvsARN: this.storeArn(), MaxResults: 50, ...(NextToken ? { NextToken } : {}) }),
      );
      for (const item of page.Items ?? []) if (item.Key?.startsWith(prefix)) found.push(item.Key);
      NextToken = page.NextToken;
    } while (NextToken);
    return found;
  }
}

export class KeyValueStoreEdgeState implements EdgeStateStore {
  constructor(private readonly values: KeyValueStoreJson) {}

  async read(key: string): Promise<EdgeDropState | undefined> {
    const parsed = EdgeDropState.safeParse(await this.values.read(key));
    // A value this writer cannot read is rewritten from the news, as if it were missing.
    return parsed.success ? parsed.data : undefined;
  }

  write(key: string, value: EdgeDropState): Promise<void> {
    return this.values.write(key, value);
  }
}
