import { S3Client } from '@aws-sdk/client-s3';
import { transport, type ClientOptions } from './clients';

/**
 * An S3 client on the SDK's default provider chain (CodeBuild role, AWS_PROFILE/SSO, web identity) and its
 * standard endpoint settings (`AWS_ENDPOINT_URL`, `AWS_ENDPOINT_URL_S3`): no keys or endpoints of our own.
 */
export function createS3Client(options: ClientOptions = {}): S3Client {
  return new S3Client({
    region: options.region ?? process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION ?? 'us-east-1',
    ...transport(options),
    // Every upload carries the Content-MD5 of its bytes, which S3 verifies; a CRC32 on top costs CPU per byte.
    requestChecksumCalculation: 'WHEN_REQUIRED',
  });
}
