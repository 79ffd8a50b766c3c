import { CloudFrontClient } from '@aws-sdk/client-cloudfront';
import { transport, type ClientOptions } from './clients';

/** CloudFront is a global service signed in us-east-1; same provider chain and endpoint variables as S3. */
export function createCloudFrontClient(options: ClientOptions = {}): CloudFrontClient {
  return new CloudFrontClient({ region: 'us-east-1', ...transport({ maxSockets: 4, ...options }) });
}
