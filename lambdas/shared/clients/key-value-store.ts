/** The CloudFront KeyValueStore client and the store the edge function reads (`EDGE_STORE_ARN`). */
// The service signs with SigV4A ("*" region set); this registers the SDK's pure-JavaScript signer.
import '@aws-sdk/signature-v4a';
import { getStringFromEnv } from '@aws-lambda-powertools/commons/utils/env';
import { CloudFrontKeyValueStoreClient } from '@aws-sdk/client-cloudfront-keyvaluestore';
import { envVars } from '../../../contract/env-vars';
import { traced } from '../powertools/tracer';
import { requestSettings } from './request-settings';

export const edgeStoreArn = () => getStringFromEnv({ key: envVars.edgeStoreArn });

/**
 * A global service whose endpoint rules put the store's account in front of the host
 * (`<account>.cloudfront-kvs.global.api.aws`), a custom endpoint's too: an endpoint given in the standard
 * variable (the local emulator) is used as it is.
 */
const endpoint = process.env.AWS_ENDPOINT_URL_CLOUDFRONT_KEYVALUESTORE;
export const keyValueStore = traced(
  new CloudFrontKeyValueStoreClient({
    ...requestSettings,
    ...(endpoint ? { endpointProvider: () => ({ url: new URL(endpoint) }) } : {}),
  }),
);
