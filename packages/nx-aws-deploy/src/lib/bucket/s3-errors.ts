import type { S3ServiceException } from '@aws-sdk/client-s3';
import { deniedCaller, explainTimeout } from '../aws/clients';
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
    const { actions, resource, statement } = iamGrantFor(operation, bucket, what);
    return new UserError(
      `Access denied: ${where}. Allow ${actions.join(' and ')} on ${resource} for ${deniedCaller(error).who}; in a stack of \`nx g nx-aws-deploy:pipeline\`, the ${statement} statement of its role grants it.`,
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

/**
 * The IAM actions an S3 call needs (IAM names them unlike the API: ListObjectsV2 is s3:ListBucket, a HEAD is
 * s3:GetObject), the resource they are needed on, and the statement of the generated roles that grants them.
 */
export function iamGrantFor(
  operation: string,
  bucket: string,
  what: string,
): { actions: string[]; resource: string; statement: string } {
  const bucketArn = `arn:aws:s3:::${bucket}`;
  const objectArn = what.startsWith('s3://') ? `${bucketArn}/*` : `${bucketArn}/${what}`;
  switch (operation) {
    case 'ListObjectsV2':
      return { actions: ['s3:ListBucket'], resource: bucketArn, statement: 'ListSiteBucket' };
    case 'ListObjectVersions':
      return { actions: ['s3:ListBucketVersions'], resource: bucketArn, statement: 'ListSiteBucket' };
    case 'HeadObject':
    case 'GetObject':
      return { actions: ['s3:GetObject', 's3:GetObjectVersion'], resource: objectArn, statement: 'SyncSiteObjects' };
    case 'CopyObject':
      // A copy reads its source (from a version, with GetObjectVersion) and writes its target.
      return {
        actions: ['s3:PutObject', 's3:GetObject', 's3:GetObjectVersion'],
        resource: objectArn,
        statement: 'SyncSiteObjects',
      };
    case 'DeleteObjects':
      return { actions: ['s3:DeleteObject'], resource: `${bucketArn}/*`, statement: 'SyncSiteObjects' };
    case 'AbortMultipartUpload':
      return { actions: ['s3:AbortMultipartUpload'], resource: objectArn, statement: 'SyncSiteObjects' };
    default:
      // PutObject, and the multipart upload's Create, UploadPart and Complete.
      return { actions: ['s3:PutObject'], resource: objectArn, statement: 'SyncSiteObjects' };
  }
}
