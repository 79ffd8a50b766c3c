import { explainS3Error, iamGrantFor } from './s3-errors';

describe('iamGrantFor: the IAM action a refused S3 call needs, named as IAM names it', () => {
  it.each([
    ['ListObjectsV2', 's3://site/app/', ['s3:ListBucket'], 'arn:aws:s3:::site'],
    ['ListObjectVersions', 's3://site/', ['s3:ListBucketVersions'], 'arn:aws:s3:::site'],
    ['HeadObject', 'index.html', ['s3:GetObject', 's3:GetObjectVersion'], 'arn:aws:s3:::site/index.html'],
    [
      'GetObject',
      '.nx-aws-deploy/lease.json',
      ['s3:GetObject', 's3:GetObjectVersion'],
      'arn:aws:s3:::site/.nx-aws-deploy/lease.json',
    ],
    ['PutObject', 'a.js', ['s3:PutObject'], 'arn:aws:s3:::site/a.js'],
    ['MultipartUpload', 'v.mp4', ['s3:PutObject'], 'arn:aws:s3:::site/v.mp4'],
    [
      'CopyObject',
      'index.html',
      ['s3:PutObject', 's3:GetObject', 's3:GetObjectVersion'],
      'arn:aws:s3:::site/index.html',
    ],
    ['DeleteObjects', '3 keys', ['s3:DeleteObject'], 'arn:aws:s3:::site/*'],
  ])('%s on %s', (operation, what, actions, resource) => {
    expect(iamGrantFor(operation, 'site', what)).toMatchObject({ actions, resource });
  });

  it("names the caller S3 names, and the generated template's statement", () => {
    const denied = Object.assign(
      new Error(
        'User: arn:aws:sts::123456789012:assumed-role/web-prod-BuildRole-1A2B/ci is not authorized to perform: s3:ListBucket on resource: "arn:aws:s3:::site" because no identity-based policy allows the s3:ListBucket action',
      ),
      { name: 'AccessDenied', $metadata: { httpStatusCode: 403 } },
    );
    expect(explainS3Error(denied, 'ListObjectsV2', 'site', 's3://site/').message).toBe(
      'Access denied: s3:ListObjectsV2 on s3://site/. Allow s3:ListBucket on arn:aws:s3:::site for arn:aws:sts::123456789012:assumed-role/web-prod-BuildRole-1A2B/ci; in a stack of `nx g nx-aws-deploy:pipeline`, the ListSiteBucket statement of its role grants it.',
    );
  });
});
