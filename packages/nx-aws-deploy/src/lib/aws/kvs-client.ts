import type { CloudFrontKeyValueStoreClient } from '@aws-sdk/client-cloudfront-keyvaluestore';
import { transport, type ClientOptions } from './clients';

/**
 * A CloudFront KeyValueStore client: the store's API is global and signed with SigV4A, for which the pure-JS
 * signer is registered (not the native CRT). Loaded on first use, as the CloudFront SDK is (see cloudfront-client).
 */
export function createKeyValueStoreClient(options: ClientOptions = {}): CloudFrontKeyValueStoreClient {
  /* eslint-disable @typescript-eslint/no-require-imports -- loaded on first use, see above */
  require('@aws-sdk/signature-v4a');
  const { CloudFrontKeyValueStoreClient: Client } =
    require('@aws-sdk/client-cloudfront-keyvaluestore') as typeof import('@aws-sdk/client-cloudfront-keyvaluestore');
  /* eslint-enable @typescript-eslint/no-require-imports */
  return new Client({ region: 'us-east-1', ...transport({ maxSockets: 2, ...options }) });
}
