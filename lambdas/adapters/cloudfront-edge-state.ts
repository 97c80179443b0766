/**
 * The edge's drop states in a CloudFront KeyValueStore. Every write names the store's ETag as read
 * (`IfMatch`): a write that raced another (another SKU's, from another environment) is refused with a
 * ConflictException and retried on the new ETag ("PutKey", CloudFront KeyValueStore API Reference,
 * https://docs.aws.amazon.com/cloudfront/latest/APIReference/API_kvs_PutKey.html).
 */
import {
  type CloudFrontKeyValueStoreClient,
  ConflictException,
  DescribeKeyValueStoreCommand,
  GetKeyCommand,
  PutKeyCommand,
  ResourceNotFoundException,
} from '@aws-sdk/client-cloudfront-keyvaluestore';
import { EdgeDropState } from '../../contract/drops';
import type { EdgeStateStore } from '../domain/edge-state';

/** Writes racing each other on one store; each conflict costs one more read of its ETag. */
const MAX_WRITE_ATTEMPTS = 8;

export class KeyValueStoreEdgeState implements EdgeStateStore {
  constructor(
    private readonly client: CloudFrontKeyValueStoreClient,
    private readonly storeArn: () => string,
  ) {}

  async read(key: string): Promise<EdgeDropState | undefined> {
    try {
      const { Value } = await this.client.send(new GetKeyCommand({ KvsARN: this.storeArn(), Key: key }));
      const parsed = EdgeDropState.safeParse(JSON.parse(Value ?? 'null'));
      // A value this writer cannot read is rewritten from the news, as if it were missing.
      return parsed.success ? parsed.data : undefined;
    } catch (error) {
      if (error instanceof ResourceNotFoundException) return undefined;
      throw error;
    }
  }

  async write(key: string, value: EdgeDropState): Promise<void> {
    const KvsARN = this.storeArn();
    for (let attempt = 1; ; attempt++) {
      const { ETag } = await this.client.send(new DescribeKeyValueStoreCommand({ KvsARN }));
      try {
        await this.client.send(new PutKeyCommand({ KvsARN, Key: key, Value: JSON.stringify(value), IfMatch: ETag }));
        return;
      } catch (error) {
        if (!(error instanceof ConflictException) || attempt >= MAX_WRITE_ATTEMPTS) throw error;
      }
    }
  }
}
