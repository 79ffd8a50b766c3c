import { createHash } from 'node:crypto';
import { crc32 } from 'node:zlib';
import { AwsError } from '../errors';
import { header, type LocalRequest, type LocalResponse } from '../http';
import { el, escapeXml, parseXml, xmlDocument } from '../xml';
import { checkPolicy } from './policy';
import { multipartEtag, newUploadId, type Bucket, type ObjectHeaders, type S3Store, type StoredObject } from './store';

const S3_NS = 'http://s3.amazonaws.com/doc/2006-03-01/';
const MAX_KEYS = 1000;
const MIN_PART_SIZE = 5 * 1024 * 1024;
const MAX_KEY_BYTES = 1024;

interface PendingUpload {
  bucket: string;
  key: string;
  headers: ObjectHeaders;
  initiated: string;
  parts: Map<number, { body: Buffer; md5: Buffer; etag: string }>;
}

/** A copy's source: `/bucket/key` or `bucket/key`, URL-encoded, with `?versionId=` for other than the current one. */
export function copySourceOf(ctx: LocalRequest): { bucket: string; key: string; versionId: string | null } {
  const [path, query = ''] = header(ctx.req, 'x-amz-copy-source')!.split('?');
  const source = decodeURIComponent(path).replace(/^\//, '');
  const slash = source.indexOf('/');
  return {
    bucket: source.slice(0, slash),
    key: source.slice(slash + 1),
    versionId: new URLSearchParams(query).get('versionId'),
  };
}

/** The objects a DeleteObjects request names. */
export function deletedObjectsOf(ctx: LocalRequest): { Key: unknown; VersionId?: unknown }[] {
  return parseXml(ctx.body.toString('utf8')).Delete?.Object ?? [];
}

export class S3Service {
  private readonly uploads = new Map<string, PendingUpload>();

  constructor(readonly store: S3Store) {}

  /** Answers a request whose operation and `[bucket, key]` params `describeRequest` named. */
  handle(ctx: LocalRequest): LocalResponse {
    const [bucketName = '', key = ''] = ctx.params;
    const handlers: Record<string, () => LocalResponse> = {
      ListBuckets: () => this.listBuckets(),
      PutBucketPolicy: () => this.putPolicy(ctx, bucketName),
      GetBucketPolicy: () => this.getPolicy(bucketName),
      DeleteBucketPolicy: () => this.deletePolicy(bucketName),
      PutBucketVersioning: () => this.putVersioning(ctx, bucketName),
      GetBucketVersioning: () => this.getVersioning(bucketName),
      ListObjectVersions: () => this.listVersions(ctx, bucketName),
      CreateBucket: () => this.createBucket(ctx, bucketName),
      DeleteBucket: () => this.deleteBucket(bucketName),
      HeadBucket: () => this.headBucket(bucketName),
      DeleteObjects: () => this.deleteObjects(ctx, bucketName),
      GetBucketLocation: () => this.bucketLocation(bucketName),
      ListMultipartUploads: () => this.listUploads(bucketName),
      ListObjectsV2: () => this.listObjects(ctx, bucketName, 2),
      ListObjects: () => this.listObjects(ctx, bucketName, 1),
      UploadPart: () => this.uploadPart(ctx, bucketName, key),
      CopyObject: () => this.copyObject(ctx, bucketName, key),
      PutObject: () => this.putObject(ctx, bucketName, key),
      GetObject: () => this.getObject(ctx, bucketName, key, false),
      HeadObject: () => this.getObject(ctx, bucketName, key, true),
      CreateMultipartUpload: () => this.createUpload(ctx, bucketName, key),
      CompleteMultipartUpload: () => this.completeUpload(ctx, bucketName, key),
      AbortMultipartUpload: () => this.abortUpload(ctx, bucketName),
      DeleteObject: () => this.deleteObject(ctx, bucketName, key),
    };
    const run = handlers[ctx.operation];
    if (!run)
      throw new AwsError(
        405,
        'MethodNotAllowed',
        `The specified method ${ctx.method} is not allowed against this resource.`,
      );
    return run();
  }

  /** Bucket of a request, with S3's error for a missing one and its redirect for the wrong region. */
  bucket(name: string, ctx?: LocalRequest): Bucket {
    const bucket = this.store.buckets.get(name);
    if (!bucket) throw new AwsError(404, 'NoSuchBucket', 'The specified bucket does not exist', { BucketName: name });
    const region = ctx?.scope.region;
    if (region && region !== bucket.region) {
      throw new AwsError(
        301,
        'PermanentRedirect',
        'The bucket you are attempting to access must be addressed using the specified endpoint. Please send all future requests to this endpoint.',
        { BucketName: name, Endpoint: `s3.${bucket.region}.amazonaws.com` },
        { 'x-amz-bucket-region': bucket.region },
      );
    }
    return bucket;
  }

  private listBuckets(): LocalResponse {
    const buckets = [...this.store.buckets.values()]
      .map(
        (b) =>
          `<Bucket>${el('Name', b.name)}${el('CreationDate', b.createdAt)}${el('BucketRegion', b.region)}</Bucket>`,
      )
      .join('');
    return xml(
      200,
      `<ListAllMyBucketsResult xmlns="${S3_NS}"><Owner><ID>local</ID><DisplayName>local</DisplayName></Owner><Buckets>${buckets}</Buckets></ListAllMyBucketsResult>`,
    );
  }

  private createBucket(ctx: LocalRequest, name: string): LocalResponse {
    if (!isValidBucketName(name)) {
      throw new AwsError(400, 'InvalidBucketName', 'The specified bucket is not valid.', { BucketName: name });
    }
    if (this.store.buckets.has(name)) {
      throw new AwsError(
        409,
        'BucketAlreadyOwnedByYou',
        'Your previous request to create the named bucket succeeded and you already own it.',
        { BucketName: name },
      );
    }
    const constraint = ctx.body.length
      ? String(parseXml(ctx.body.toString('utf8')).CreateBucketConfiguration?.LocationConstraint ?? '')
      : '';
    this.store.createBucket(name, constraint || ctx.scope.region || 'us-east-1');
    return { status: 200, headers: { Location: `/${name}` } };
  }

  private deleteBucket(name: string): LocalResponse {
    const bucket = this.bucket(name);
    if (bucket.objects.size || bucket.noncurrent.size)
      throw new AwsError(409, 'BucketNotEmpty', 'The bucket you tried to delete is not empty', { BucketName: name });
    this.store.deleteBucket(name);
    return { status: 204 };
  }

  private headBucket(name: string): LocalResponse {
    const bucket = this.bucket(name);
    return { status: 200, headers: { 'x-amz-bucket-region': bucket.region } };
  }

  private putPolicy(ctx: LocalRequest, name: string): LocalResponse {
    const bucket = this.bucket(name, ctx);
    const text = ctx.body.toString('utf8');
    checkPolicy(text);
    this.store.setPolicy(bucket, text);
    return { status: 204 };
  }

  private getPolicy(name: string): LocalResponse {
    const { policy } = this.bucket(name);
    if (policy === undefined)
      throw new AwsError(404, 'NoSuchBucketPolicy', 'The bucket policy does not exist', { BucketName: name });
    return { status: 200, headers: { 'Content-Type': 'application/json' }, body: policy };
  }

  private deletePolicy(name: string): LocalResponse {
    this.store.setPolicy(this.bucket(name), undefined);
    return { status: 204 };
  }

  private putVersioning(ctx: LocalRequest, name: string): LocalResponse {
    const bucket = this.bucket(name, ctx);
    const status = String(parseXml(ctx.body.toString('utf8')).VersioningConfiguration?.Status ?? '');
    if (status !== 'Enabled' && status !== 'Suspended')
      throw new AwsError(
        400,
        'MalformedXML',
        'The XML you provided was not well-formed or did not validate against our published schema',
      );
    this.store.setVersioning(bucket, status);
    return { status: 200 };
  }

  private getVersioning(name: string): LocalResponse {
    const { versioning } = this.bucket(name);
    return xml(200, `<VersioningConfiguration xmlns="${S3_NS}">${el('Status', versioning)}</VersioningConfiguration>`);
  }

  /** ListObjectVersions: every version and delete marker, by key, newest first; paged by key and version markers. */
  private listVersions(ctx: LocalRequest, name: string): LocalResponse {
    const bucket = this.bucket(name, ctx);
    const q = ctx.url.searchParams;
    const prefix = q.get('prefix') ?? '';
    const maxKeys = Math.min(Math.max(Number(q.get('max-keys') ?? MAX_KEYS), 0), MAX_KEYS);
    const keyMarker = q.get('key-marker') ?? '';
    const versionMarker = q.get('version-id-marker') ?? '';
    const keys = [...new Set([...bucket.objects.keys(), ...bucket.noncurrent.keys()])]
      .filter((k) => k.startsWith(prefix) && compareUtf8(k, keyMarker) >= 0)
      .sort(compareUtf8);
    const entries: StoredObject[] = [];
    let truncated = false;
    for (const key of keys) {
      let versions = this.store.versions(bucket, key);
      if (key === keyMarker) {
        // Without a version marker the key-marker key was listed whole; with one, resume after that version.
        const at = versions.findIndex((v) => (v.versionId ?? 'null') === versionMarker);
        versions = versionMarker && at >= 0 ? versions.slice(at + 1) : [];
      }
      for (const version of versions) {
        if (entries.length >= maxKeys) truncated = true;
        else entries.push(version);
      }
      if (truncated) break;
    }
    const last = entries[entries.length - 1];
    const items = entries
      .map((v) => {
        const common = `${el('Key', v.key)}${el('VersionId', v.versionId ?? 'null')}${el('IsLatest', this.store.versions(bucket, v.key)[0] === v)}${el('LastModified', v.lastModified)}`;
        return v.deleteMarker
          ? `<DeleteMarker>${common}</DeleteMarker>`
          : `<Version>${common}${el('ETag', v.etag)}${el('Size', v.size)}<StorageClass>STANDARD</StorageClass></Version>`;
      })
      .join('');
    const next = truncated
      ? `${el('NextKeyMarker', last.key)}${el('NextVersionIdMarker', last.versionId ?? 'null')}`
      : '';
    return xml(
      200,
      `<ListVersionsResult xmlns="${S3_NS}">${el('Name', name)}${el('Prefix', prefix)}${el('KeyMarker', keyMarker)}${el('VersionIdMarker', versionMarker)}${next}${el('MaxKeys', maxKeys)}${el('IsTruncated', truncated)}${items}</ListVersionsResult>`,
    );
  }

  /** The version a request names with ?versionId (S3's errors for an unknown one), or the current object. */
  private requestedVersion(bucket: Bucket, key: string, versionId: string | null): StoredObject {
    if (versionId === null) {
      const object = bucket.objects.get(key);
      if (!object) throw new AwsError(404, 'NoSuchKey', 'The specified key does not exist.', { Key: key });
      return object;
    }
    const version = this.store.version(bucket, key, versionId);
    if (!version) {
      if (versionId !== 'null' && !/^[A-Za-z0-9._-]{1,1024}$/.test(versionId))
        throw new AwsError(400, 'InvalidArgument', 'Invalid version id specified', {
          ArgumentName: 'versionId',
          ArgumentValue: versionId,
        });
      throw new AwsError(404, 'NoSuchVersion', 'The specified version does not exist.', {
        Key: key,
        VersionId: versionId,
      });
    }
    if (version.deleteMarker)
      throw new AwsError(405, 'MethodNotAllowed', 'The specified method is not allowed against this resource.', {
        ResourceType: 'DeleteMarker',
      });
    return version;
  }

  private bucketLocation(name: string): LocalResponse {
    const region = this.bucket(name).region;
    return xml(
      200,
      `<LocationConstraint xmlns="${S3_NS}">${region === 'us-east-1' ? '' : escapeXml(region)}</LocationConstraint>`,
    );
  }

  private listObjects(ctx: LocalRequest, name: string, version: 1 | 2): LocalResponse {
    const bucket = this.bucket(name, ctx);
    const q = ctx.url.searchParams;
    const prefix = q.get('prefix') ?? '';
    const delimiter = q.get('delimiter') ?? '';
    const urlEncoded = q.get('encoding-type') === 'url';
    const maxKeys = Math.min(Math.max(Number(q.get('max-keys') ?? MAX_KEYS), 0), MAX_KEYS);
    if (!Number.isInteger(maxKeys))
      throw new AwsError(400, 'InvalidArgument', 'Provided max-keys not an integer or within integer range');
    const token = q.get('continuation-token');
    // The token names where the previous page stopped: after a key, or past a whole common prefix.
    let resume = { after: version === 2 ? (q.get('start-after') ?? '') : (q.get('marker') ?? ''), skipPrefix: '' };
    if (version === 2 && token) {
      try {
        resume = JSON.parse(Buffer.from(token, 'base64url').toString('utf8'));
      } catch {
        throw new AwsError(400, 'InvalidArgument', 'The continuation token provided is incorrect');
      }
    }
    if (version === 1 && delimiter && resume.after.endsWith(delimiter)) resume.skipPrefix = resume.after;
    const enc = (s: string) => (urlEncoded ? encodeURIComponent(s).replace(/%2F/g, '/') : s);

    const keys = [...bucket.objects.keys()]
      .filter(
        (k) =>
          k.startsWith(prefix) &&
          compareUtf8(k, resume.after) > 0 &&
          !(resume.skipPrefix && k.startsWith(resume.skipPrefix)),
      )
      .sort(compareUtf8);
    const contents: StoredObject[] = [];
    const commonPrefixes: string[] = [];
    let next = resume;
    let truncated = false;
    for (const key of keys) {
      const currentPrefix = commonPrefixes[commonPrefixes.length - 1];
      if (currentPrefix && key.startsWith(currentPrefix)) continue;
      if (contents.length + commonPrefixes.length >= maxKeys) {
        truncated = true;
        break;
      }
      const rest = key.slice(prefix.length);
      const cut = delimiter ? rest.indexOf(delimiter) : -1;
      if (cut >= 0) {
        const common = prefix + rest.slice(0, cut + delimiter.length);
        commonPrefixes.push(common);
        next = { after: key, skipPrefix: common };
      } else {
        contents.push(bucket.objects.get(key)!);
        next = { after: key, skipPrefix: '' };
      }
    }
    const nextToken = Buffer.from(JSON.stringify(next), 'utf8').toString('base64url');
    const nextMarker = next.skipPrefix || next.after;
    const items = contents
      .map(
        (o) =>
          `<Contents>${el('Key', enc(o.key))}${el('LastModified', o.lastModified)}${el('ETag', o.etag)}${el('Size', o.size)}<StorageClass>STANDARD</StorageClass></Contents>`,
      )
      .join('');
    const prefixes = commonPrefixes.map((p) => `<CommonPrefixes>${el('Prefix', enc(p))}</CommonPrefixes>`).join('');
    const paging =
      version === 2
        ? `${el('KeyCount', contents.length + commonPrefixes.length)}${el('ContinuationToken', token ?? undefined)}${el('StartAfter', q.get('start-after') ? enc(q.get('start-after')!) : undefined)}${truncated ? el('NextContinuationToken', nextToken) : ''}`
        : `${el('Marker', enc(q.get('marker') ?? ''))}${truncated && delimiter ? el('NextMarker', enc(nextMarker)) : ''}`;
    return xml(
      200,
      `<ListBucketResult xmlns="${S3_NS}">${el('Name', name)}${el('Prefix', enc(prefix))}${paging}${el('MaxKeys', maxKeys)}${delimiter ? el('Delimiter', enc(delimiter)) : ''}${urlEncoded ? el('EncodingType', 'url') : ''}${el('IsTruncated', truncated)}${items}${prefixes}</ListBucketResult>`,
    );
  }

  private putObject(ctx: LocalRequest, name: string, key: string): LocalResponse {
    const bucket = this.bucket(name, ctx);
    checkKey(key);
    const md5 = verifiedMd5(ctx);
    const existing = bucket.objects.get(key);
    if (header(ctx.req, 'if-none-match') === '*' && existing) {
      throw new AwsError(412, 'PreconditionFailed', 'At least one of the pre-conditions you specified did not hold', {
        Condition: 'If-None-Match',
      });
    }
    const ifMatch = header(ctx.req, 'if-match');
    if (ifMatch && (!existing || existing.etag !== ifMatch)) {
      throw new AwsError(
        existing ? 412 : 404,
        existing ? 'PreconditionFailed' : 'NoSuchKey',
        'At least one of the pre-conditions you specified did not hold',
        { Condition: 'If-Match' },
      );
    }
    const object = this.store.putObject(bucket, key, ctx.body, headersFrom(ctx), `"${md5.toString('hex')}"`);
    return { status: 200, headers: { ETag: object.etag, ...versionHeader(object) } };
  }

  private copyObject(ctx: LocalRequest, name: string, key: string): LocalResponse {
    const bucket = this.bucket(name, ctx);
    checkKey(key);
    const source = copySourceOf(ctx);
    const sourceBucket = this.bucket(source.bucket);
    const sourceKey = source.key;
    const sourceObject = this.requestedVersion(sourceBucket, sourceKey, source.versionId);
    const sourceIfMatch = header(ctx.req, 'x-amz-copy-source-if-match');
    if (sourceIfMatch && !etagListIncludes(sourceIfMatch, sourceObject.etag))
      throw new AwsError(412, 'PreconditionFailed', 'At least one of the pre-conditions you specified did not hold', {
        Condition: 'x-amz-copy-source-If-Match',
      });
    const replace = (header(ctx.req, 'x-amz-metadata-directive') ?? 'COPY').toUpperCase() === 'REPLACE';
    const headers = replace ? headersFrom(ctx) : pickHeaders(sourceObject);
    // Copying an older version onto its key is how S3 restores it; only the current one onto itself is refused.
    if (sourceBucket === bucket && sourceKey === key && !replace && sourceObject === bucket.objects.get(key)) {
      throw new AwsError(
        400,
        'InvalidRequest',
        "This copy request is illegal because it is trying to copy an object to itself without changing the object's metadata, storage class, website redirect location or encryption attributes.",
      );
    }
    // A copy is a single-part write: its ETag is the MD5 of the bytes, even when the source was multipart.
    const body = this.store.body(sourceBucket, sourceObject);
    const object = this.store.putObject(bucket, key, body, headers);
    return xml(
      200,
      `<CopyObjectResult xmlns="${S3_NS}">${el('LastModified', object.lastModified)}${el('ETag', object.etag)}</CopyObjectResult>`,
      {
        ...versionHeader(object),
        ...(sourceObject.versionId ? { 'x-amz-copy-source-version-id': sourceObject.versionId } : {}),
      },
    );
  }

  private getObject(ctx: LocalRequest, name: string, key: string, headOnly: boolean): LocalResponse {
    const bucket = this.bucket(name, ctx);
    const object = this.requestedVersion(bucket, key, ctx.url.searchParams.get('versionId'));
    const headers = { ...objectResponseHeaders(object, ctx.url.searchParams), ...versionHeader(object) };
    const ifNoneMatch = header(ctx.req, 'if-none-match');
    const ifMatch = header(ctx.req, 'if-match');
    if (ifMatch && !etagListIncludes(ifMatch, object.etag)) {
      throw new AwsError(412, 'PreconditionFailed', 'At least one of the pre-conditions you specified did not hold', {
        Condition: 'If-Match',
      });
    }
    if (ifNoneMatch && etagListIncludes(ifNoneMatch, object.etag)) {
      return { status: 304, headers: { ETag: object.etag, 'Last-Modified': headers['Last-Modified'] } };
    }
    const range = header(ctx.req, 'range');
    if (range) {
      const [start, end] = parseRange(range, object.size);
      const body = headOnly ? undefined : this.store.body(bucket, object).subarray(start, end + 1);
      return {
        status: 206,
        headers: {
          ...headers,
          'Content-Length': end - start + 1,
          'Content-Range': `bytes ${start}-${end}/${object.size}`,
        },
        body,
      };
    }
    return { status: 200, headers, body: headOnly ? undefined : this.store.body(bucket, object) };
  }

  private deleteObject(ctx: LocalRequest, name: string, key: string): LocalResponse {
    const deleted = this.deleteOne(this.bucket(name, ctx), key, ctx.url.searchParams.get('versionId') ?? undefined);
    return {
      status: 204,
      headers: {
        ...(deleted?.versionId ? { 'x-amz-version-id': deleted.versionId } : {}),
        ...(deleted?.deleteMarker ? { 'x-amz-delete-marker': 'true' } : {}),
      },
    };
  }

  /** A version id deletes that version; none, in a versioned bucket, adds a delete marker (answered). */
  private deleteOne(bucket: Bucket, key: string, versionId: string | undefined): StoredObject | undefined {
    return versionId === undefined
      ? this.store.deleteObject(bucket, key)
      : this.store.deleteVersion(bucket, key, versionId);
  }

  private deleteObjects(ctx: LocalRequest, name: string): LocalResponse {
    const bucket = this.bucket(name, ctx);
    const request = parseXml(ctx.body.toString('utf8')).Delete;
    const objects: { Key: string; VersionId?: string }[] = request?.Object ?? [];
    if (!request || objects.length === 0 || objects.length > MAX_KEYS) {
      throw new AwsError(
        400,
        'MalformedXML',
        'The XML you provided was not well-formed or did not validate against our published schema',
      );
    }
    const quiet = String(request.Quiet) === 'true';
    const results = objects.map(({ Key, VersionId }) => {
      const versionId = VersionId === undefined ? undefined : String(VersionId);
      const deleted = this.deleteOne(bucket, String(Key), versionId);
      const marker = deleted?.deleteMarker
        ? `${el('DeleteMarker', true)}${el('DeleteMarkerVersionId', deleted.versionId)}`
        : '';
      return `<Deleted>${el('Key', String(Key))}${el('VersionId', versionId)}${marker}</Deleted>`;
    });
    const deleted = quiet ? '' : results.join('');
    return xml(200, `<DeleteResult xmlns="${S3_NS}">${deleted}</DeleteResult>`);
  }

  private createUpload(ctx: LocalRequest, name: string, key: string): LocalResponse {
    this.bucket(name, ctx);
    checkKey(key);
    const uploadId = newUploadId();
    this.uploads.set(uploadId, {
      bucket: name,
      key,
      headers: headersFrom(ctx),
      initiated: new Date().toISOString(),
      parts: new Map(),
    });
    return xml(
      200,
      `<InitiateMultipartUploadResult xmlns="${S3_NS}">${el('Bucket', name)}${el('Key', key)}${el('UploadId', uploadId)}</InitiateMultipartUploadResult>`,
    );
  }

  private upload(ctx: LocalRequest, name: string): PendingUpload {
    const uploadId = ctx.url.searchParams.get('uploadId')!;
    const upload = this.uploads.get(uploadId);
    if (!upload || upload.bucket !== name) {
      throw new AwsError(
        404,
        'NoSuchUpload',
        'The specified upload does not exist. The upload ID may be invalid, or the upload may have been aborted or completed.',
        { UploadId: uploadId },
      );
    }
    return upload;
  }

  private uploadPart(ctx: LocalRequest, name: string, key: string): LocalResponse {
    this.bucket(name, ctx);
    const upload = this.upload(ctx, name);
    const partNumber = Number(ctx.url.searchParams.get('partNumber'));
    if (!Number.isInteger(partNumber) || partNumber < 1 || partNumber > 10000 || upload.key !== key) {
      throw new AwsError(400, 'InvalidArgument', 'Part number must be an integer between 1 and 10000, inclusive');
    }
    const md5 = verifiedMd5(ctx);
    const etag = `"${md5.toString('hex')}"`;
    upload.parts.set(partNumber, { body: ctx.body, md5, etag });
    return { status: 200, headers: { ETag: etag } };
  }

  private completeUpload(ctx: LocalRequest, name: string, key: string): LocalResponse {
    const bucket = this.bucket(name, ctx);
    const upload = this.upload(ctx, name);
    const requested: { PartNumber: string; ETag: string }[] =
      parseXml(ctx.body.toString('utf8')).CompleteMultipartUpload?.Part ?? [];
    if (!requested.length)
      throw new AwsError(
        400,
        'MalformedXML',
        'The XML you provided was not well-formed or did not validate against our published schema',
      );
    const parts = requested.map((p, i) => {
      const number = Number(p.PartNumber);
      if (i > 0 && number <= Number(requested[i - 1].PartNumber)) {
        throw new AwsError(
          400,
          'InvalidPartOrder',
          'The list of parts was not in ascending order. Parts must be ordered by part number.',
        );
      }
      const part = upload.parts.get(number);
      if (!part || normalizeEtag(part.etag) !== normalizeEtag(String(p.ETag))) {
        throw new AwsError(
          400,
          'InvalidPart',
          "One or more of the specified parts could not be found. The part may not have been uploaded, or the specified entity tag may not have matched the part's entity tag.",
          { PartNumber: number },
        );
      }
      if (i < requested.length - 1 && part.body.length < MIN_PART_SIZE) {
        throw new AwsError(
          400,
          'EntityTooSmall',
          'Your proposed upload is smaller than the minimum allowed object size.',
          { PartNumber: number, ProposedSize: part.body.length, MinSizeAllowed: MIN_PART_SIZE },
        );
      }
      return part;
    });
    const object = this.store.putObject(
      bucket,
      key,
      Buffer.concat(parts.map((p) => p.body)),
      upload.headers,
      multipartEtag(parts.map((p) => p.md5)),
    );
    this.uploads.delete(ctx.url.searchParams.get('uploadId')!);
    return xml(
      200,
      `<CompleteMultipartUploadResult xmlns="${S3_NS}">${el('Location', `/${name}/${key}`)}${el('Bucket', name)}${el('Key', key)}${el('ETag', object.etag)}</CompleteMultipartUploadResult>`,
      versionHeader(object),
    );
  }

  private abortUpload(ctx: LocalRequest, name: string): LocalResponse {
    this.bucket(name, ctx);
    this.upload(ctx, name);
    this.uploads.delete(ctx.url.searchParams.get('uploadId')!);
    return { status: 204 };
  }

  private listUploads(name: string): LocalResponse {
    this.bucket(name);
    const uploads = [...this.uploads.entries()]
      .filter(([, u]) => u.bucket === name)
      .map(
        ([id, u]) =>
          `<Upload>${el('Key', u.key)}${el('UploadId', id)}${el('Initiated', u.initiated)}<StorageClass>STANDARD</StorageClass></Upload>`,
      )
      .join('');
    return xml(
      200,
      `<ListMultipartUploadsResult xmlns="${S3_NS}">${el('Bucket', name)}<IsTruncated>false</IsTruncated>${uploads}</ListMultipartUploadsResult>`,
    );
  }
}

/** `x-amz-version-id` of a write or read in a bucket that has had versioning. */
function versionHeader(object: StoredObject): Record<string, string> {
  return object.versionId ? { 'x-amz-version-id': object.versionId } : {};
}

function xml(status: number, body: string, headers: Record<string, string> = {}): LocalResponse {
  return { status, headers: { 'Content-Type': 'application/xml', ...headers }, body: xmlDocument(body) };
}

/** S3 orders keys by their UTF-8 bytes. */
function compareUtf8(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}

export function isValidBucketName(name: string): boolean {
  return /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(name) && !name.includes('..') && !/^\d+\.\d+\.\d+\.\d+$/.test(name);
}

function checkKey(key: string): void {
  if (Buffer.byteLength(key, 'utf8') > MAX_KEY_BYTES) {
    throw new AwsError(400, 'KeyTooLongError', 'Your key is too long', {
      MaxSizeAllowed: MAX_KEY_BYTES,
      Size: Buffer.byteLength(key, 'utf8'),
    });
  }
}

/** Checksums S3 verifies on a body: Content-MD5 and x-amz-checksum-* in a header or an aws-chunked trailer. */
const CHECKSUMS: Record<string, (body: Buffer) => string> = {
  crc32: (body) => {
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(crc32(body));
    return crc.toString('base64');
  },
  sha1: (body) => createHash('sha1').update(body).digest('base64'),
  sha256: (body) => createHash('sha256').update(body).digest('base64'),
};

/**
 * The body's MD5 (its ETag), once S3 would take the body: it refuses bytes that are not those its checksums
 * describe (crc32c and crc64nvme are not checked here). Hashed once, as the ETag and Content-MD5 need the same.
 */
function verifiedMd5(ctx: LocalRequest): Buffer {
  const md5 = createHash('md5').update(ctx.body).digest();
  const expected = header(ctx.req, 'content-md5');
  if (expected && md5.toString('base64') !== expected) {
    throw new AwsError(400, 'BadDigest', 'The Content-MD5 you specified did not match what we received.');
  }
  for (const [algorithm, compute] of Object.entries(CHECKSUMS)) {
    const given = header(ctx.req, `x-amz-checksum-${algorithm}`) ?? ctx.trailers[`x-amz-checksum-${algorithm}`];
    if (given !== undefined && compute(ctx.body) !== given) {
      throw new AwsError(
        400,
        'BadDigest',
        `The ${algorithm.toUpperCase()} you specified did not match the calculated checksum.`,
      );
    }
  }
  return md5;
}

function headersFrom(ctx: LocalRequest): ObjectHeaders {
  const metadata: Record<string, string> = {};
  for (const [name, value] of Object.entries(ctx.req.headers)) {
    if (name.startsWith('x-amz-meta-') && value !== undefined)
      metadata[name.slice('x-amz-meta-'.length)] = String(value);
  }
  const encoding = (header(ctx.req, 'content-encoding') ?? '')
    .split(',')
    .map((e) => e.trim())
    .filter((e) => e && e !== 'aws-chunked')
    .join(', ');
  return {
    contentType: header(ctx.req, 'content-type') ?? 'binary/octet-stream',
    cacheControl: header(ctx.req, 'cache-control'),
    contentEncoding: encoding || undefined,
    contentDisposition: header(ctx.req, 'content-disposition'),
    contentLanguage: header(ctx.req, 'content-language'),
    expires: header(ctx.req, 'expires'),
    metadata,
  };
}

function pickHeaders(o: StoredObject): ObjectHeaders {
  const { contentType, cacheControl, contentEncoding, contentDisposition, contentLanguage, expires, metadata } = o;
  return { contentType, cacheControl, contentEncoding, contentDisposition, contentLanguage, expires, metadata };
}

/** GET/HEAD headers of an object, with the `response-*` overrides presigned URLs may ask for. */
export function objectResponseHeaders(o: StoredObject, query?: URLSearchParams): Record<string, string | number> {
  const headers: Record<string, string | number> = {
    'Content-Type': o.contentType ?? 'binary/octet-stream',
    'Content-Length': o.size,
    ETag: o.etag,
    'Last-Modified': new Date(o.lastModified).toUTCString(),
    'Accept-Ranges': 'bytes',
  };
  const optional: [string, string | undefined][] = [
    ['Cache-Control', o.cacheControl],
    ['Content-Encoding', o.contentEncoding],
    ['Content-Disposition', o.contentDisposition],
    ['Content-Language', o.contentLanguage],
    ['Expires', o.expires],
  ];
  for (const [name, value] of optional) if (value) headers[name] = value;
  for (const [name, value] of Object.entries(o.metadata)) headers[`x-amz-meta-${name}`] = value;
  for (const name of [
    'Content-Type',
    'Cache-Control',
    'Content-Encoding',
    'Content-Disposition',
    'Content-Language',
    'Expires',
  ]) {
    const override = query?.get(`response-${name.toLowerCase()}`);
    if (override) headers[name] = override;
  }
  return headers;
}

function normalizeEtag(etag: string): string {
  return etag.replace(/"/g, '');
}

function etagListIncludes(list: string, etag: string): boolean {
  return list.split(',').some((e) => e.trim() === '*' || normalizeEtag(e.trim()) === normalizeEtag(etag));
}

/** Single byte range as S3 supports it: `bytes=a-b`, `bytes=a-`, `bytes=-n`. */
export function parseRange(range: string, size: number): [number, number] {
  const match = /^bytes=(\d*)-(\d*)$/.exec(range.trim());
  const invalid = () =>
    new AwsError(416, 'InvalidRange', 'The requested range is not satisfiable', {
      RangeRequested: range,
      ActualObjectSize: size,
    });
  if (!match || (match[1] === '' && match[2] === '')) throw invalid();
  if (match[1] === '') {
    const length = Math.min(Number(match[2]), size);
    if (length === 0) throw invalid();
    return [size - length, size - 1];
  }
  const start = Number(match[1]);
  const end = match[2] === '' ? size - 1 : Math.min(Number(match[2]), size - 1);
  if (start >= size || end < start) throw invalid();
  return [start, end];
}
