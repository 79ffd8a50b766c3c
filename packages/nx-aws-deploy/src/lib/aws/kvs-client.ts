import type { CloudFrontKeyValueStoreClient } from '@aws-sdk/client-cloudfront-keyvaluestore';
import { UserError } from '../util/errors';
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
  const endpoint = keyValueStoreEndpoint(process.env);
  return new Client({
    region: 'us-east-1',
    ...(endpoint ? { endpoint } : {}),
    ...transport({ maxSockets: 2, ...options }),
  });
}

/**
 * The API's endpoint puts the account first (`<account>.<host>`), which a host given as an address cannot take.
 * AWS_ENDPOINT_URL naming loopback by address (an emulator on 127.0.0.1) is taken as `localhost`, which the
 * clients resolve to loopback (see loopbackForLocalhost); any other address is one clear error. Otherwise: the
 * SDK's own choice (undefined), AWS_ENDPOINT_URL_CLOUDFRONT_KEYVALUESTORE first.
 */
export function keyValueStoreEndpoint(env: NodeJS.ProcessEnv): string | undefined {
  if (env.AWS_ENDPOINT_URL_CLOUDFRONT_KEYVALUESTORE || !env.AWS_ENDPOINT_URL) return undefined;
  const url = new URL(env.AWS_ENDPOINT_URL);
  if (url.hostname === '127.0.0.1' || url.hostname === '[::1]')
    return env.AWS_ENDPOINT_URL.replace(url.hostname, 'localhost');
  if (/^[\d.]+$|^\[/.test(url.hostname))
    throw new UserError(
      `AWS_ENDPOINT_URL (${env.AWS_ENDPOINT_URL}) names its host by address, and the CloudFront KeyValueStore API puts the account before the host (<account>.<host>): set AWS_ENDPOINT_URL_CLOUDFRONT_KEYVALUESTORE to the same endpoint by a host name.`,
    );
  return undefined;
}
