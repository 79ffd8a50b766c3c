import { CloudFrontClient } from '@aws-sdk/client-cloudfront';
import { CodePipelineClient } from '@aws-sdk/client-codepipeline';
import { S3Client } from '@aws-sdk/client-s3';

export interface ClientOptions {
  region?: string;
  /** Sockets kept alive per host; match the number of requests in flight. */
  maxSockets?: number;
}

/**
 * An S3 client on the SDK's default provider chain (CodeBuild role, AWS_PROFILE/SSO, web identity) and its
 * standard endpoint settings (`AWS_ENDPOINT_URL`, `AWS_ENDPOINT_URL_S3`): no keys or endpoints of our own.
 */
export function createS3Client({ region, maxSockets = 16 }: ClientOptions = {}): S3Client {
  return new S3Client({
    region: region ?? process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION ?? 'us-east-1',
    retryMode: 'adaptive',
    maxAttempts: 6,
    requestHandler: {
      httpAgent: { keepAlive: true, maxSockets },
      httpsAgent: { keepAlive: true, maxSockets },
      connectionTimeout: 10_000,
      requestTimeout: 120_000,
    },
  });
}

/** CloudFront is a global service signed in us-east-1; same provider chain and endpoint variables as S3. */
export function createCloudFrontClient(): CloudFrontClient {
  return new CloudFrontClient({ region: 'us-east-1', retryMode: 'adaptive', maxAttempts: 6 });
}

/** CodePipeline: reading execution history (set-shas) and reporting job results (the Lambda) ride out throttling too. */
export function createCodePipelineClient(): CodePipelineClient {
  return new CodePipelineClient({ retryMode: 'adaptive', maxAttempts: 6 });
}
