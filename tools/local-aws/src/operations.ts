import type { IncomingHttpHeaders } from 'node:http';
import { signingScope } from './sigv4';

export type Service = 's3' | 'cloudfront' | 'cloudfront-keyvaluestore' | 'codepipeline' | 'sts';

/** Which API operation a request is, told from its request line and headers alone (before its body is read). */
export interface RequestOperation {
  service: Service;
  /** The API's own name, e.g. `PutObject`, `CreateInvalidation`, `PutJobSuccessResult`; `Unknown` when none fits. */
  operation: string;
  /** Identifiers taken from the path: S3 `[bucket, key?]`, CloudFront `[distribution or function, invalidation?]`. */
  params: string[];
}

/** The CloudFront API version: its path prefix and its XML namespace. */
export const CLOUDFRONT_API = '/2020-05-31';
export const CLOUDFRONT_NS = 'http://cloudfront.amazonaws.com/doc/2020-05-31/';
/** STS's XML namespace (API version 2011-06-15). */
export const STS_NS = 'https://sts.amazonaws.com/doc/2011-06-15/';

/**
 * The one naming of operations: the local AWS routes by it, counts and logs it, matches injected faults against it,
 * and the fault proxy reports it.
 */
export function describeRequest(method: string, url: URL, headers: IncomingHttpHeaders): RequestOperation {
  const target = String(headers['x-amz-target'] ?? '');
  const scopeService = signingScope(headers, url).service;
  // The signing scope names the service; unsigned requests are told by their target header or API path.
  const service: Service =
    scopeService === 's3' || scopeService === 'cloudfront' || scopeService === 'codepipeline'
      ? scopeService
      : target.startsWith('CodePipeline_')
        ? 'codepipeline'
        : url.pathname.startsWith(`${CLOUDFRONT_API}/`)
          ? 'cloudfront'
          : 's3';
  // STS names its operation in the form body (Query protocol): StsService reads it.
  if (scopeService === 'sts') return { service: 'sts', operation: 'Unknown', params: [] };
  if (scopeService === 'cloudfront-keyvaluestore' || url.pathname.startsWith('/key-value-stores/'))
    return { service: 'cloudfront-keyvaluestore', ...keyValueStoreOperation(method, url.pathname) };
  if (service === 'codepipeline') return { service, operation: target.split('.')[1] || 'Unknown', params: [] };
  if (service === 'cloudfront') return { service, ...cloudFrontOperation(method, url.pathname) };
  return { service: 's3', ...s3Operation(method, url, headers) };
}

function cloudFrontOperation(method: string, pathname: string): { operation: string; params: string[] } {
  const path = pathname.startsWith(CLOUDFRONT_API) ? pathname.slice(CLOUDFRONT_API.length) : '';
  const routes: [string, RegExp, string][] = [
    ['POST', /^\/distribution$/, 'CreateDistribution'],
    ['GET', /^\/distribution$/, 'ListDistributions'],
    ['GET', /^\/distribution\/([^/]+)$/, 'GetDistribution'],
    ['GET', /^\/distribution\/([^/]+)\/config$/, 'GetDistributionConfig'],
    ['POST', /^\/distribution\/([^/]+)\/invalidation$/, 'CreateInvalidation'],
    ['GET', /^\/distribution\/([^/]+)\/invalidation$/, 'ListInvalidations'],
    ['GET', /^\/distribution\/([^/]+)\/invalidation\/([^/]+)$/, 'GetInvalidation'],
    ['POST', /^\/function$/, 'CreateFunction'],
    ['POST', /^\/function\/([^/]+)\/publish$/, 'PublishFunction'],
    ['PUT', /^\/function\/([^/]+)$/, 'UpdateFunction'],
    ['GET', /^\/function\/([^/]+)\/describe$/, 'DescribeFunction'],
    ['POST', /^\/key-value-store$/, 'CreateKeyValueStore'],
    ['GET', /^\/key-value-store$/, 'ListKeyValueStores'],
    ['GET', /^\/key-value-store\/([^/]+)$/, 'DescribeKeyValueStore'],
    ['DELETE', /^\/key-value-store\/([^/]+)$/, 'DeleteKeyValueStore'],
  ];
  for (const [routeMethod, pattern, operation] of routes) {
    const match = routeMethod === method ? pattern.exec(path) : null;
    if (match) return { operation, params: match.slice(1).map(decodeURIComponent) };
  }
  return { operation: 'Unknown', params: [] };
}

/** The KeyValueStore data plane: `/key-value-stores/<store ARN>[/keys[/<key>]]`, each label URI-encoded. */
function keyValueStoreOperation(method: string, pathname: string): { operation: string; params: string[] } {
  const [, , arn, keys, key, ...rest] = pathname.split('/').map(decodeURIComponent);
  const params = key === undefined ? [arn] : [arn, key];
  if (rest.length || (keys !== undefined && keys !== 'keys')) return { operation: 'Unknown', params };
  const operation =
    keys === undefined
      ? { GET: 'DescribeKeyValueStore' }[method]
      : key === undefined
        ? { GET: 'ListKeys', POST: 'UpdateKeys' }[method]
        : { GET: 'GetKey', PUT: 'PutKey', DELETE: 'DeleteKey' }[method];
  return { operation: operation ?? 'Unknown', params };
}

function s3Operation(method: string, url: URL, headers: IncomingHttpHeaders): { operation: string; params: string[] } {
  const path = url.pathname.slice(1);
  const slash = path.indexOf('/');
  const bucket = decodeURIComponent(slash < 0 ? path : path.slice(0, slash));
  // `/bucket/` addresses the bucket, as `/bucket` does.
  const key = slash < 0 || slash === path.length - 1 ? undefined : decodeURIComponent(path.slice(slash + 1));
  const q = url.searchParams;
  const named = (operation: string | undefined) => ({
    operation: operation ?? 'Unknown',
    params: key === undefined ? [bucket] : [bucket, key],
  });
  if (!bucket) return { operation: 'ListBuckets', params: [] };
  if (key === undefined) {
    if (q.has('policy'))
      return named({ PUT: 'PutBucketPolicy', GET: 'GetBucketPolicy', DELETE: 'DeleteBucketPolicy' }[method]);
    if (q.has('versioning')) return named({ PUT: 'PutBucketVersioning', GET: 'GetBucketVersioning' }[method]);
    if (method === 'POST') return named(q.has('delete') ? 'DeleteObjects' : undefined);
    if (method === 'GET') {
      if (q.has('location')) return named('GetBucketLocation');
      if (q.has('uploads')) return named('ListMultipartUploads');
      if (q.has('versions')) return named('ListObjectVersions');
      return named(q.get('list-type') === '2' ? 'ListObjectsV2' : 'ListObjects');
    }
    return named({ PUT: 'CreateBucket', DELETE: 'DeleteBucket', HEAD: 'HeadBucket' }[method]);
  }
  if (method === 'PUT') {
    if (q.has('uploadId')) return named('UploadPart');
    return named(headers['x-amz-copy-source'] ? 'CopyObject' : 'PutObject');
  }
  if (method === 'POST') {
    if (q.has('uploads')) return named('CreateMultipartUpload');
    return named(q.has('uploadId') ? 'CompleteMultipartUpload' : undefined);
  }
  if (method === 'DELETE') return named(q.has('uploadId') ? 'AbortMultipartUpload' : 'DeleteObject');
  return named({ GET: 'GetObject', HEAD: 'HeadObject' }[method]);
}
