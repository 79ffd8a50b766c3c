import { createHash } from 'node:crypto';
import {
  CopyObjectCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  HeadObjectCommand,
  PutObjectCommand,
  ListObjectsV2Command,
  ListObjectVersionsCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { NEVER_STOPPED } from '../aws/clients';
import { createS3Client } from '../aws/s3-client';
import { UserError } from '../util/errors';
import { Interrupted } from '../util/interrupt';
import { readWhole } from '../util/files';
import { MultipartLedger, PART_SIZE, uploadInParts } from './multipart';
import { explainS3Error } from './s3-errors';
import type {
  BucketStore,
  CopySource,
  LeaseRecord,
  LeaseStore,
  ListOptions,
  ObjectHeaders,
  RemoteObject,
  RequestCounts,
  Written,
  WriteJsonOptions,
} from './store';
import { listAll, PAGE_SIZE } from './listing';

/** Opens the bucket on S3 for one deploy or rollback, bound to its stop signal (see deployTo). */
export function openS3Store(options: {
  bucket: string;
  region?: string;
  concurrency: number;
  requestTimeout?: number;
}): (signal?: AbortSignal) => S3Target {
  return (signal) =>
    new S3Target(
      createS3Client({
        region: options.region,
        maxSockets: options.concurrency,
        requestTimeoutSeconds: options.requestTimeout,
        stopSignal: signal,
      }),
      options.bucket,
      signal,
      options.region,
    );
}

/** The bucket on S3: thin wrappers over S3 calls that turn failures into one actionable line. */
export class S3Target implements BucketStore {
  readonly requests: RequestCounts = {};
  private readonly multipart?: MultipartLedger;

  /** `signal` stops requests in flight (a deploy being interrupted); see abortOpenUploads. `region`: for messages. */
  constructor(
    private readonly s3: S3Client,
    readonly bucket: string,
    private readonly signal?: AbortSignal,
    private readonly region?: string,
  ) {
    if (signal) this.multipart = new MultipartLedger(s3, bucket, signal);
  }

  /** After an interruption: aborts the multipart uploads this target left open; answers how many were aborted. */
  async abortOpenUploads(): Promise<number> {
    return (await this.multipart?.abortOpen()) ?? 0;
  }

  async list(prefix: string, options: ListOptions = {}): Promise<RemoteObject[]> {
    return this.call(
      'ListObjectsV2',
      `s3://${this.bucket}/${prefix}`,
      () =>
        // By hand rather than with the SDK's paginator: it takes no abort signal, and lists one page after the other.
        listAll(
          async ({ startAfter, token }) => {
            const page = await this.s3.send(
              new ListObjectsV2Command({
                Bucket: this.bucket,
                Prefix: prefix,
                MaxKeys: options.pageSize ?? PAGE_SIZE,
                StartAfter: startAfter,
                ContinuationToken: token,
              }),
            );
            this.count('ListObjectsV2');
            return {
              objects: (page.Contents ?? []).map((o) => ({ key: o.Key!, size: o.Size ?? 0, etag: o.ETag ?? '' })),
              next: page.IsTruncated ? page.NextContinuationToken : undefined,
            };
          },
          { ...options, signal: this.signal },
        ),
      false,
    );
  }

  async headers(key: string): Promise<ObjectHeaders> {
    const head = await this.call('HeadObject', key, () =>
      this.s3.send(new HeadObjectCommand({ Bucket: this.bucket, Key: key })),
    );
    return {
      'Content-Type': head.ContentType ?? 'binary/octet-stream',
      'Cache-Control': head.CacheControl,
      'Content-Encoding': head.ContentEncoding,
      'Content-Disposition': head.ContentDisposition,
      'Content-Language': head.ContentLanguage,
      Expires: head.ExpiresString,
      metadata: head.Metadata && Object.keys(head.Metadata).length ? head.Metadata : undefined,
    };
  }

  /** Reads a small JSON object, or undefined when it does not exist. */
  async readJson<T>(key: string): Promise<T | undefined> {
    return (await this.getJson<T>(key))?.value;
  }

  /** A small JSON object and its ETag, or undefined when it does not exist. */
  private async getJson<T>(key: string): Promise<{ value: T; etag: string } | undefined> {
    try {
      const got = await this.call(
        'GetObject',
        key,
        () => this.s3.send(new GetObjectCommand({ Bucket: this.bucket, Key: key })),
        true,
        ['NoSuchKey'],
      );
      return { value: JSON.parse(await got.Body!.transformToString()) as T, etag: got.ETag ?? '' };
    } catch (error) {
      if ((error as Error).name === 'NoSuchKey') return undefined;
      throw error;
    }
  }

  /**
   * Writes a small JSON object and answers its ETag. `condition`: S3's conditional write; failures named in
   * `passThrough` are thrown as they are. `abortable: false` lets the write finish after a stop signal.
   */
  async writeJson(
    key: string,
    value: unknown,
    { condition, abortable = true, passThrough = [] }: WriteJsonOptions = {},
  ): Promise<string | undefined> {
    const put = await this.call(
      'PutObject',
      key,
      () =>
        this.s3.send(
          new PutObjectCommand({
            Bucket: this.bucket,
            Key: key,
            Body: JSON.stringify(value),
            ContentType: 'application/json',
            CacheControl: 'no-store',
            ...condition,
          }),
          abortable ? undefined : { abortSignal: NEVER_STOPPED },
        ),
      true,
      passThrough,
    );
    return put.ETag;
  }

  /**
   * The deploy lease's conditional writes (see lease.ts). Not cut short by the stop signal: a stopped deploy
   * still releases its lease. A write whose condition no longer holds (412, 404 for If-Match on a missing key,
   * 409 for a concurrent conditional write) answers undefined.
   */
  leaseStore(): LeaseStore {
    const lost = ['PreconditionFailed', 'NoSuchKey', 'ConditionalRequestConflict'];
    const put = async (key: string, value: LeaseRecord, condition: WriteJsonOptions['condition']) => {
      try {
        return await this.writeJson(key, value, { condition, abortable: false, passThrough: lost });
      } catch (error) {
        const status = (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
        if (lost.includes((error as Error).name) || status === 412 || status === 409) return undefined;
        throw error;
      }
    };
    return {
      read: (key) => this.getJson<LeaseRecord>(key),
      createIfAbsent: (key, value) => put(key, value, { IfNoneMatch: '*' }),
      replaceIfMatch: (key, value, etag) => put(key, value, { IfMatch: etag }),
    };
  }

  /**
   * Uploads a file; files above one part go up in parts through lib-storage. `md5`: the hash the plan compared,
   * which the stored bytes must have; without one (a file the bucket did not have, read only now) the MD5 of the
   * bytes read guards the transfer. Files above one part always come with one. Returns the ETag S3 answered.
   */
  async upload(
    key: string,
    file: string,
    size: number,
    md5: string | undefined,
    headers: ObjectHeaders,
    onBytes?: (n: number) => void,
  ): Promise<Written & { md5: string }> {
    const params = { Bucket: this.bucket, Key: key, ...sdkHeaders(headers) };
    const changed = () =>
      new UserError(
        `${file} changed on disk during the deploy: its bytes are no longer those planned, and nothing of it was stored (s3://${this.bucket}/${key} is as it was). Run the deploy again once the build is finished.`,
      );
    if (size <= PART_SIZE) {
      // Content-MD5 of the bytes the plan was made from: S3 refuses anything else (BadDigest).
      let sent = md5;
      const put = await this.call(
        'PutObject',
        key,
        async () => {
          const body = await readWhole(file, size);
          sent = md5 ?? createHash('md5').update(body).digest('hex');
          return this.s3.send(
            new PutObjectCommand({ ...params, Body: body, ContentMD5: Buffer.from(sent, 'hex').toString('base64') }),
          );
        },
        true,
        ['BadDigest'],
      ).catch((error: Error) => {
        throw error.name === 'BadDigest' ? changed() : error;
      });
      onBytes?.(size);
      return { etag: put.ETag ?? '', versionId: put.VersionId, md5: sent! };
    }
    const result = await this.call(
      'MultipartUpload',
      key,
      () => uploadInParts(this.s3, params, { path: file, md5: md5!, changed }, this.signal, onBytes),
      false,
    );
    this.count('CreateMultipartUpload');
    this.count('UploadPart', Math.ceil(size / PART_SIZE));
    this.count('CompleteMultipartUpload');
    return { etag: result.ETag ?? '', versionId: result.VersionId, md5: md5! };
  }

  /** Replaces an object's headers without re-sending its bytes (CopyObject onto itself). */
  updateHeaders(key: string, headers: ObjectHeaders): Promise<Written> {
    return this.copyObject(key, key, { MetadataDirective: 'REPLACE', ...sdkHeaders(headers) });
  }

  async copy(from: string, to: string, source: CopySource = {}): Promise<Written> {
    const fromBucket = source.fromBucket ?? this.bucket;
    try {
      return await this.copyObject(
        from,
        to,
        { MetadataDirective: 'COPY', CopySourceIfMatch: source.ifMatch },
        fromBucket,
        source.versionId,
      );
    } catch (error) {
      if ((error as Error).name !== 'PreconditionFailed') throw error;
      throw new UserError(
        `s3://${fromBucket}/${from} changed while it was being copied (it no longer has ETag ${source.ifMatch}): another deploy wrote it. Nothing more was copied; run this again.`,
      );
    }
  }

  async hasVersion(key: string, versionId: string): Promise<boolean> {
    const head = () => this.s3.send(new HeadObjectCommand({ Bucket: this.bucket, Key: key, VersionId: versionId }));
    // Gone (404), a delete marker (405) or an id S3 cannot read (400): not there to copy back.
    const gone = ['NotFound', 'NoSuchVersion', 'MethodNotAllowed', 'BadRequest', 'InvalidArgument', '405', '400'];
    return this.call('HeadObject', key, head, true, gone).then(
      () => true,
      (error: Error) => {
        if (gone.includes(error.name)) return false;
        throw error;
      },
    );
  }

  async listVersions(prefix: string): Promise<{ key: string; versionId: string }[]> {
    const versions: { key: string; versionId: string }[] = [];
    await this.call(
      'ListObjectVersions',
      `s3://${this.bucket}/${prefix}`,
      async () => {
        let KeyMarker: string | undefined;
        let VersionIdMarker: string | undefined;
        do {
          const page = await this.s3.send(
            new ListObjectVersionsCommand({ Bucket: this.bucket, Prefix: prefix, KeyMarker, VersionIdMarker }),
          );
          this.count('ListObjectVersions');
          for (const v of page.Versions ?? []) versions.push({ key: v.Key!, versionId: v.VersionId! });
          [KeyMarker, VersionIdMarker] = page.IsTruncated ? [page.NextKeyMarker, page.NextVersionIdMarker] : [];
        } while (KeyMarker);
      },
      false,
    );
    return versions;
  }

  private async copyObject(
    from: string,
    to: string,
    headers: Omit<ConstructorParameters<typeof CopyObjectCommand>[0], 'Bucket' | 'Key' | 'CopySource'>,
    fromBucket = this.bucket,
    versionId?: string,
  ): Promise<Written> {
    const source = `${fromBucket}/${from.split('/').map(encodeURIComponent).join('/')}`;
    const copied = await this.call(
      'CopyObject',
      to,
      () =>
        this.s3.send(
          new CopyObjectCommand({
            Bucket: this.bucket,
            Key: to,
            CopySource: versionId ? `${source}?versionId=${encodeURIComponent(versionId)}` : source,
            ...headers,
          }),
        ),
      true,
      ['PreconditionFailed'],
    );
    // A copy is a single-part write: a multipart object comes back with the plain MD5 as its new ETag.
    return { etag: copied.CopyObjectResult?.ETag ?? '', versionId: copied.VersionId };
  }

  /** Deletes in batches of 1 000 (the DeleteObjects limit); any key S3 refuses fails the deploy. */
  async delete(keys: string[], onDeleted?: (n: number) => void): Promise<void> {
    for (let i = 0; i < keys.length; i += 1000) {
      const batch = keys.slice(i, i + 1000);
      const result = await this.call('DeleteObjects', `${batch.length} keys`, () =>
        this.s3.send(
          new DeleteObjectsCommand({
            Bucket: this.bucket,
            Delete: { Objects: batch.map((Key) => ({ Key })), Quiet: true },
          }),
        ),
      );
      const failed = result.Errors ?? [];
      if (failed.length) {
        throw new UserError(
          `S3 refused to delete ${failed.length} objects in bucket "${this.bucket}", e.g. ${failed[0].Key}: ${failed[0].Code} ${failed[0].Message}.`,
        );
      }
      onDeleted?.(batch.length);
    }
  }

  private count(operation: string, n = 1): void {
    this.requests[operation] = (this.requests[operation] ?? 0) + n;
  }

  private async call<T>(
    operation: string,
    what: string,
    run: () => Promise<T>,
    counted = true,
    passThrough: string[] = [],
  ): Promise<T> {
    if (counted) this.count(operation);
    try {
      return await run();
    } catch (error) {
      if (this.signal?.aborted)
        throw new Interrupted(
          this.signal.reason,
          `Interrupted by ${this.signal.reason} before any change: the bucket is as it was.`,
        );
      if (passThrough.includes((error as Error).name)) throw error;
      throw explainS3Error(error, operation, this.bucket, what, this.region);
    }
  }
}

function sdkHeaders(h: ObjectHeaders) {
  return {
    ContentType: h['Content-Type'],
    CacheControl: h['Cache-Control'],
    ContentEncoding: h['Content-Encoding'],
    ContentDisposition: h['Content-Disposition'],
    ContentLanguage: h['Content-Language'],
    Expires: h.Expires ? new Date(h.Expires) : undefined,
    Metadata: h.metadata,
  };
}
