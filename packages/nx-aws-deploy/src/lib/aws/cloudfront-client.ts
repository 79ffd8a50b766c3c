import type { CloudFrontClient } from '@aws-sdk/client-cloudfront';
import { transport, type ClientOptions } from './clients';

/**
 * The CloudFront SDK, loaded when first used rather than when a module that may invalidate is: the deploy-s3,
 * rollback and promote executors invalidate only when asked, and loading it costs ~70 ms of every `nx run`.
 * A package's require, not our own modules': Nx removes its TypeScript loader once an executor is loaded.
 */
export function cloudFrontSdk(): typeof import('@aws-sdk/client-cloudfront') {
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- loaded on first use, see above
  return require('@aws-sdk/client-cloudfront');
}

/** CloudFront is a global service signed in us-east-1; same provider chain and endpoint variables as S3. */
export function createCloudFrontClient(options: ClientOptions = {}): CloudFrontClient {
  return new (cloudFrontSdk().CloudFrontClient)({ region: 'us-east-1', ...transport({ maxSockets: 4, ...options }) });
}
