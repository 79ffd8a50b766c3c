import type { S3ServiceException } from '@aws-sdk/client-s3';
import { explainTimeout } from '../aws/clients';
import { UserError } from '../util/errors';

/** One line that says which bucket, key and operation failed, and what to do about it. */
export function explainS3Error(
  error: unknown,
  operation: string,
  bucket: string,
  what: string,
  region?: string,
): Error {
  if (error instanceof UserError) return error;
  const e = error as S3ServiceException & { code?: string; $response?: { headers?: Record<string, string> } };
  const name = e.name ?? 'Error';
  const status = e.$metadata?.httpStatusCode;
  const where = `s3:${operation} on ${what.startsWith('s3://') ? what : `s3://${bucket}/${what}`}`;
  const timedOut = explainTimeout(error, where, 'S3', region);
  if (timedOut) return new UserError(timedOut);
  if (name === 'NoSuchBucket' || (status === 404 && operation === 'ListObjectsV2')) {
    return new UserError(`Bucket "${bucket}" does not exist (${where}). Create it, or fix the "bucket" option.`);
  }
  if (name === 'AccessDenied' || name === 'Forbidden' || status === 403) {
    return new UserError(
      `Access denied: ${where}. Allow ${operation === 'ListObjectsV2' ? 's3:ListBucket' : `s3:${operation.replace('MultipartUpload', 'PutObject')}`} on the bucket for the role this runs as (check AWS_PROFILE or the CodeBuild service role).`,
    );
  }
  if (name === 'PermanentRedirect' || name === 'AuthorizationHeaderMalformed' || status === 301) {
    const region = e.$response?.headers?.['x-amz-bucket-region'];
    return new UserError(
      `Bucket "${bucket}" is in another region${region ? ` (${region})` : ''} (${where}). Set the "region" option${region ? ` to ${region}` : ''} or AWS_REGION.`,
    );
  }
  if (name === 'SlowDown' || name === 'ThrottlingException' || name === 'Throttling' || status === 503) {
    return new UserError(
      `S3 kept throttling after retries (${where}). Run the deploy again, or lower the "concurrency" option.`,
    );
  }
  if (
    name === 'CredentialsProviderError' ||
    name === 'ExpiredToken' ||
    name === 'InvalidAccessKeyId' ||
    name === 'ExpiredTokenException'
  ) {
    return new UserError(
      `No valid AWS credentials (${where}): ${e.message}. Log in (aws sso login), set AWS_PROFILE, or run where a role is attached.`,
    );
  }
  return new UserError(`${where} failed: ${name}${status ? ` (HTTP ${status})` : ''}: ${e.message}`);
}
