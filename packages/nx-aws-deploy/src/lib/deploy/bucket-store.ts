import type { ObjectHeaders } from './headers';
import type { LeaseStore } from './lease';
import type { RemoteObject } from './plan';

/**
 * Requests in flight at once to a bucket: deploy, rollback and promote. On S3 each small PUT is a round trip of
 * tens of milliseconds, so a first deploy of many small files is bound by how many are in flight: with 30 ms added
 * per request, 2 000 files took 5.4–6.1 s at 16, 4.1 s at 32, 3.8–4.0 s at 64; on the local S3 (no delay) 16 and
 * 32 ran alike, and 64 ran a 20 000-file deploy slower on 2 cores.
 */
export const DEFAULT_CONCURRENCY = 32;
/** More deletes than this refuse a deploy or promote, changing nothing. */
export const DEFAULT_MAX_DELETES = 256;

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
}

/** What a write left at its key: the object's ETag, and in a versioned bucket the id of the version it made. */
export interface Written {
  etag: string;
  versionId?: string;
}

/**
 * The bucket as a deploy sees it: what deploy.ts orchestrates (order, guards, interruption) against, and the
 * only place its bucket I/O goes through. S3Target is the implementation on S3; the tests have one in memory.
 */
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
