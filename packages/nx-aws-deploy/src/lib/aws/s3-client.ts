import { S3Client } from '@aws-sdk/client-s3';
import { transport, type ClientOptions } from './clients';

/**
 * An S3 client on the SDK's default provider chain (CodeBuild role, AWS_PROFILE/SSO, web identity) and its
 * standard endpoint settings (`AWS_ENDPOINT_URL`, `AWS_ENDPOINT_URL_S3`): no keys or endpoints of our own.
 */
export function createS3Client(options: ClientOptions = {}): S3Client {
  const client = new S3Client({
    region: options.region ?? process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION ?? 'us-east-1',
    ...transport(options),
    // Every upload carries the Content-MD5 of its bytes, which S3 verifies; a CRC32 on top costs CPU per byte.
    requestChecksumCalculation: 'WHEN_REQUIRED',
  });
  // A request that carries the Content-MD5 of its body is signed without hashing the body again: Content-MD5 is
  // a signed header and S3 refuses bytes that do not match it, while a SHA-256 of every byte uploaded costs as
  // much CPU again as the MD5. (The SDK signs a streamed body so, and botocore an upload with a checksum over HTTPS.)
  client.middlewareStack.add(
    (next) => async (args) => {
      const { headers } = args.request as { headers?: Record<string, string> };
      if (headers?.['content-md5']) headers['x-amz-content-sha256'] = 'UNSIGNED-PAYLOAD';
      return next(args);
    },
    { step: 'build', name: 'unsignedPayloadWithContentMd5' },
  );
  return client;
}
