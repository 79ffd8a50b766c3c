/**
 * The bucket as deploys, rollbacks and promotes see it: the one interface their bucket I/O goes through, and the
 * shapes it speaks in. S3Target (s3-target.ts) implements it on S3; the tests have one in memory.
 */

/** An object as a listing gives it. */
export interface RemoteObject {
  key: string;
  size: number;
  etag: string;
}

/** Headers S3 stores with an object; names as S3 and CloudFront answer them. */
export interface ObjectHeaders {
  'Content-Type': string;
  'Cache-Control'?: string;
  'Content-Encoding'?: string;
  'Content-Disposition'?: string;
  'Content-Language'?: string;
  Expires?: string;
  /** `x-amz-meta-*` values by lower-case name without the prefix. */
  metadata?: Record<string, string>;
}

/**
 * Requests in flight at once to a bucket: deploy, rollback and promote. On S3 each small PUT is a round trip of
 * tens of milliseconds, so a first deploy of many small files is bound by how many are in flight: with 30 ms added
 * per request, 2 000 files took 5.4–6.1 s at 16, 4.1 s at 32, 3.8–4.0 s at 64; on the local S3 (no delay) 16 and
 * 32 ran alike, and 64 ran a 20 000-file deploy slower on 2 cores.
 */
export const DEFAULT_CONCURRENCY = 32;

/** Requests made, by operation, for the summary. */
export type RequestCounts = Record<string, number>;

export interface CopySource {
  fromBucket?: string;
  versionId?: string;
  ifMatch?: string;
}

export interface WriteJsonOptions {
  /** S3's conditional write: create only, or replace only that version. */
  condition?: { IfNoneMatch: '*' } | { IfMatch: string };
  /** false: the write finishes even after the stop signal (the lease's release). */
  abortable?: boolean;
  /** Failures (by error name) thrown as they are rather than explained. */
  passThrough?: string[];
}

export interface ListOptions {
  /** Hears the first page, and whether more follow. */
  onFirstPage?: (objects: RemoteObject[], more: boolean) => void;
  /**
   * Keys the bucket most likely has (a deploy's files, the live release's), in about S3's order, maybe still
   * coming: a long listing is split at some of them (see listAll).
   */
  likelyKeys?: Iterable<string> | Promise<Iterable<string>>;
  /** Keys per page, S3's most (PAGE_SIZE) unless given: smaller pages split a listing of fewer keys. */
  pageSize?: number;
}

/** What a write left at its key: the object's ETag, and in a versioned bucket the id of the version it made. */
export interface Written {
  etag: string;
  versionId?: string;
}

/** The deploy lease's record (see lease.ts). */
export interface LeaseRecord {
  /** Who deploys: the CodeBuild build ARN, or user@host:pid. */
  owner: string;
  /** This holding of the lease (an owner may deploy twice). */
  id: string;
  acquiredAt: string;
  expiresAt: string;
  released?: boolean;
}

/** The conditional writes the lease needs (S3: PutObject with If-None-Match / If-Match). */
export interface LeaseStore {
  read(key: string): Promise<{ value: LeaseRecord; etag: string } | undefined>;
  /** Writes only if nothing is there; the new ETag, or undefined when something is. */
  createIfAbsent(key: string, value: LeaseRecord): Promise<string | undefined>;
  /** Writes only over that ETag; the new ETag, or undefined when the object moved on (or is gone). */
  replaceIfMatch(key: string, value: LeaseRecord, etag: string): Promise<string | undefined>;
}

/** The bucket's operations: the phases of a deploy, rollbacks and promotes run against it (order, guards, stops). */
export interface BucketStore {
  readonly bucket: string;
  readonly requests: RequestCounts;
  /** Every object below `prefix`, with size and ETag, in S3's order of keys. */
  list(prefix: string, options?: ListOptions): Promise<RemoteObject[]>;
  headers(key: string): Promise<ObjectHeaders>;
  /** A small JSON object, or undefined when there is none. */
  readJson<T>(key: string): Promise<T | undefined>;
  /** Writes a small JSON object; answers its ETag. */
  writeJson(key: string, value: unknown, options?: WriteJsonOptions): Promise<string | undefined>;
  leaseStore(): LeaseStore;
  /**
   * Stores a file under `key`. `md5`: the hash the plan compared, which the stored bytes must have (required above
   * one part); without it the MD5 of the bytes read guards the transfer. Answers what it wrote and the MD5 sent.
   */
  upload(
    key: string,
    file: string,
    size: number,
    md5: string | undefined,
    headers: ObjectHeaders,
    onBytes?: (n: number) => void,
  ): Promise<Written & { md5: string }>;
  /** New headers on the same bytes, without sending them again. */
  updateHeaders(key: string, headers: ObjectHeaders): Promise<Written>;
  /**
   * A server-side copy, bytes and headers, from this bucket or `fromBucket`, of the current object or of the
   * version `versionId`. With `ifMatch` the copy is refused (one clear error) unless the source still has that ETag.
   */
  copy(from: string, to: string, source?: CopySource): Promise<Written>;
  /** Whether this version of `key` is still there (a lifecycle rule may have expired it). */
  hasVersion(key: string, versionId: string): Promise<boolean>;
  /** Every version (delete markers aside) of every key below `prefix`, in a versioned bucket. */
  listVersions(prefix: string): Promise<{ key: string; versionId: string }[]>;
  delete(keys: string[], onDeleted?: (n: number) => void): Promise<void>;
  /** After an interruption: aborts the multipart uploads left open; answers how many were aborted. */
  abortOpenUploads(): Promise<number>;
}
