import { ACCOUNT } from '../errors';
import type { LocalRequest } from '../http';
import type { Service } from '../operations';
import { copySourceOf, deletedObjectsOf } from '../s3/handler';

/** One authorization AWS makes for a request: an IAM action on a resource, with the request's condition keys. */
export interface IamCheck {
  action: string;
  resource: string;
  context: Record<string, string | string[]>;
}

/**
 * The authorizations AWS makes for a request, as IAM names them (not always the API's name: ListObjectsV2 is
 * s3:ListBucket, a HEAD s3:GetObject, a multipart upload's parts s3:PutObject); a copy is authorized twice, to
 * write its target and to read its source. The local endpoints are plain HTTP on loopback but stand for AWS's,
 * which are TLS: aws:SecureTransport is true.
 */
export function iamChecks(service: Service, ctx: LocalRequest, region: string): IamCheck[] {
  const transport = { 'aws:SecureTransport': 'true' };
  if (service === 's3') return s3Checks(ctx).map((c) => ({ ...c, context: { ...transport, ...c.context } }));
  if (service === 'cloudfront') {
    const [id] = ctx.params;
    const kind = /Function/.test(ctx.operation)
      ? 'function'
      : /KeyValueStore/.test(ctx.operation)
        ? 'key-value-store'
        : 'distribution';
    const resource = id ? `arn:aws:cloudfront::${ACCOUNT}:${kind}/${id}` : '*';
    return [{ action: `cloudfront:${ctx.operation}`, resource, context: transport }];
  }
  if (service === 'cloudfront-keyvaluestore') {
    // The data plane names the store by its ARN, the resource IAM decides on.
    return [
      { action: `cloudfront-keyvaluestore:${ctx.operation}`, resource: ctx.params[0] || '*', context: transport },
    ];
  }
  if (service === 'codepipeline') {
    const pipeline = pipelineNamed(ctx.body);
    const resource = typeof pipeline === 'string' ? `arn:aws:codepipeline:${region}:${ACCOUNT}:${pipeline}` : '*';
    return [{ action: `codepipeline:${ctx.operation}`, resource, context: transport }];
  }
  return [];
}

function s3Checks(ctx: LocalRequest): (Omit<IamCheck, 'context'> & { context?: IamCheck['context'] })[] {
  const [bucket, key] = ctx.params;
  const q = ctx.url.searchParams;
  const bucketArn = `arn:aws:s3:::${bucket}`;
  const objectArn = `${bucketArn}/${key}`;
  const versioned = (action: string) => (q.has('versionId') ? `${action}Version` : action);
  // S3 gives s3:prefix as "" to a listing without one (its policy examples allow the root with "").
  const listing = (action: string) => ({
    action,
    resource: bucketArn,
    context: { 's3:prefix': q.get('prefix') ?? '' },
  });
  switch (ctx.operation) {
    case 'ListObjectsV2':
    case 'ListObjects':
    case 'HeadBucket':
      return [listing('s3:ListBucket')];
    case 'ListObjectVersions':
      return [listing('s3:ListBucketVersions')];
    case 'ListMultipartUploads':
      return [{ action: 's3:ListBucketMultipartUploads', resource: bucketArn }];
    case 'GetObject':
    case 'HeadObject':
      return [{ action: versioned('s3:GetObject'), resource: objectArn }];
    case 'PutObject':
    case 'CompleteMultipartUpload':
      // A conditional write's condition, which a policy may require (s3:if-none-match, s3:if-match).
      return [{ action: 's3:PutObject', resource: objectArn, context: conditionalWrite(ctx) }];
    case 'CreateMultipartUpload':
    case 'UploadPart':
      return [{ action: 's3:PutObject', resource: objectArn }];
    case 'CopyObject': {
      const source = copySourceOf(ctx);
      return [
        { action: 's3:PutObject', resource: objectArn },
        {
          action: source.versionId ? 's3:GetObjectVersion' : 's3:GetObject',
          resource: `arn:aws:s3:::${source.bucket}/${source.key}`,
        },
      ];
    }
    case 'AbortMultipartUpload':
      return [{ action: 's3:AbortMultipartUpload', resource: objectArn }];
    case 'DeleteObject':
      return [{ action: versioned('s3:DeleteObject'), resource: objectArn }];
    case 'DeleteObjects':
      return deletedObjectsOf(ctx).map(({ Key, VersionId }) => ({
        action: VersionId === undefined ? 's3:DeleteObject' : 's3:DeleteObjectVersion',
        resource: `${bucketArn}/${String(Key)}`,
      }));
    default:
      // GetBucketVersioning → s3:GetBucketVersioning, PutBucketPolicy → s3:PutBucketPolicy, CreateBucket, ...
      return [{ action: `s3:${ctx.operation}`, resource: bucketArn }];
  }
}

function conditionalWrite(ctx: LocalRequest): Record<string, string> {
  const condition: Record<string, string> = {};
  const ifNoneMatch = ctx.req.headers['if-none-match'];
  const ifMatch = ctx.req.headers['if-match'];
  if (typeof ifNoneMatch === 'string') condition['s3:if-none-match'] = ifNoneMatch;
  if (typeof ifMatch === 'string') condition['s3:if-match'] = ifMatch;
  return condition;
}

/** The pipeline a CodePipeline request names; undefined for a body that is not JSON (the service answers that). */
function pipelineNamed(body: Buffer): unknown {
  try {
    const input = JSON.parse(body.toString('utf8') || '{}') as Record<string, unknown>;
    return input.pipelineName ?? input.name;
  } catch {
    return undefined;
  }
}
