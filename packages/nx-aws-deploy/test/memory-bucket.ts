import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type {
  BucketStore,
  LeaseRecord,
  LeaseStore,
  ObjectHeaders,
  RemoteObject,
  RequestCounts,
  Written,
  WriteJsonOptions,
} from '../src/lib/bucket/store';
import { compareKeys, listAll, PAGE_SIZE, type PageLister } from '../src/lib/bucket/listing';

/**
 * ListObjectsV2's pages over `objects` as S3 serves them: in S3's order of keys, `pageSize` at a time, from the
 * start, after a key (StartAfter) or where a page stopped (its token); `onRequest` hears each page asked for.
 */
export function pagesOf(
  objects: readonly RemoteObject[],
  pageSize = PAGE_SIZE,
  onRequest: (from: Parameters<PageLister>[0]) => void = () => {},
): PageLister {
  const sorted = [...objects].sort((a, b) => compareKeys(a.key, b.key));
  return async ({ startAfter, token }) => {
    onRequest({ startAfter, token });
    const after = token ?? startAfter;
    const from = after === undefined ? 0 : sorted.findIndex((o) => compareKeys(o.key, after) > 0);
    const page = from < 0 ? [] : sorted.slice(from, from + pageSize);
    const more = from >= 0 && from + pageSize < sorted.length;
    return { objects: page, next: more ? page[page.length - 1].key : undefined };
  };
}

interface StoredObject {
  body: Buffer;
  etag: string;
  headers: ObjectHeaders;
  versionId?: string;
}

/** A change to the bucket, in the order it happened. */
export interface Write {
  op: 'put' | 'copy' | 'delete';
  key: string;
}

/**
 * A bucket in memory behind the deploy's BucketStore interface, for testing the orchestration (order, guards,
 * interruption) in milliseconds. Writes are logged in order; `beforeWrite` sees each one before it happens (a test
 * aborts the deploy there); once the deploy's signal is aborted every request fails as an aborted SDK call does.
 */
export class MemoryBucket {
  readonly objects = new Map<string, StoredObject>();
  readonly writes: Write[] = [];
  /** Every ListObjectsV2 page asked for: from the start, after a key, or with a token. */
  readonly pagesAsked: { startAfter?: string; token?: string }[] = [];
  beforeWrite: (write: Write) => void = () => undefined;
  /** The error a request of the deploy (not of its lease) fails with, by operation; none: it succeeds. */
  failing: (operation: string) => Error | undefined = () => undefined;
  /** How many turns of the event loop the next upload takes: uploads in flight then land in another order. */
  uploadTurns: () => number = () => 0;

  /** In a versioned bucket: every version ever written, by id (a test expires one by deleting it here). */
  readonly versions = new Map<string, StoredObject & { key: string }>();

  /** Every bucket made, by name: the source of a copy from another bucket. */
  static readonly named = new Map<string, MemoryBucket>();

  constructor(
    readonly name: string,
    /** Writes make versions from now on (a test may turn it on later, as on S3). */
    public versioned = false,
  ) {
    MemoryBucket.named.set(name, this);
  }

  /** The store one deploy uses, bound to that deploy's stop signal (deployTo's openStore). */
  store(signal: AbortSignal): BucketStore {
    const requests: RequestCounts = {};
    // As on S3 (S3Target), the lease's requests and unabortable writes go on after the stop signal; others fail.
    const request = (operation: string, abortable = true) => {
      if (abortable && signal.aborted) throw Object.assign(new Error('Request aborted'), { name: 'AbortError' });
      requests[operation] = (requests[operation] ?? 0) + 1;
      const error = abortable ? this.failing(operation) : undefined;
      if (error) throw error;
    };
    const write = (w: Write, abortable = true) => {
      this.beforeWrite(w);
      request(w.op === 'put' ? 'PutObject' : w.op === 'copy' ? 'CopyObject' : 'DeleteObjects', abortable);
      this.writes.push(w);
    };
    const putJson = (key: string, value: unknown, abortable = true): string => {
      write({ op: 'put', key }, abortable);
      return this.put(key, Buffer.from(JSON.stringify(value)), { 'Content-Type': 'application/json' }).etag;
    };
    const conditional = (key: string, value: LeaseRecord, matches: (current?: StoredObject) => boolean) => {
      if (!matches(this.objects.get(key))) return undefined;
      return putJson(key, value, false);
    };
    const lease: LeaseStore = {
      read: async (key) => {
        request('GetObject', false);
        const found = this.objects.get(key);
        return found && { value: JSON.parse(found.body.toString()) as LeaseRecord, etag: found.etag };
      },
      createIfAbsent: async (key, value) => conditional(key, value, (current) => !current),
      replaceIfMatch: async (key, value, etag) => conditional(key, value, (current) => current?.etag === etag),
    };
    return {
      bucket: this.name,
      requests,
      list: (prefix, options) => {
        const objects = [...this.objects]
          .filter(([key]) => key.startsWith(prefix))
          .map(([key, o]) => ({ key, size: o.body.length, etag: o.etag }));
        return listAll(
          pagesOf(objects, options?.pageSize ?? PAGE_SIZE, (from) => {
            request('ListObjectsV2');
            this.pagesAsked.push(from);
          }),
          options,
        );
      },
      headers: async (key) => {
        request('HeadObject');
        return this.objects.get(key)!.headers;
      },
      readJson: async <T>(key: string) => {
        request('GetObject');
        const found = this.objects.get(key);
        return found && (JSON.parse(found.body.toString()) as T);
      },
      writeJson: async (key: string, value: unknown, options?: WriteJsonOptions) => {
        const current = this.objects.get(key);
        const condition = options?.condition;
        if (condition && ('IfNoneMatch' in condition ? current : current?.etag !== condition.IfMatch))
          throw Object.assign(new Error('At least one of the pre-conditions you specified did not hold'), {
            name: 'PreconditionFailed',
          });
        return putJson(key, value, options?.abortable ?? true);
      },
      leaseStore: () => lease,
      upload: async (key, file, _size, md5, headers, onBytes) => {
        write({ op: 'put', key });
        for (let turns = this.uploadTurns(); turns > 0; turns--) await new Promise((resolve) => setImmediate(resolve));
        const body = readFileSync(file);
        const sent = createHash('md5').update(body).digest('hex');
        if (md5 && sent !== md5)
          throw Object.assign(new Error('The Content-MD5 you specified did not match what we received.'), {
            name: 'BadDigest',
          });
        onBytes?.(body.length);
        return { ...this.put(key, body, headers), md5: sent };
      },
      updateHeaders: async (key, headers) => {
        write({ op: 'copy', key });
        const found = this.objects.get(key)!;
        return this.put(key, found.body, headers);
      },
      copy: async (from, to, source = {}) => {
        write({ op: 'copy', key: to });
        const bucket = source.fromBucket ? MemoryBucket.named.get(source.fromBucket)! : this;
        const found = source.versionId ? bucket.versions.get(source.versionId) : bucket.objects.get(from);
        if (!found || (source.versionId && bucket.versions.get(source.versionId)?.key !== from))
          throw Object.assign(new Error(`No ${from} ${source.versionId ?? ''}`), { name: 'NoSuchVersion' });
        if (source.ifMatch && found.etag !== source.ifMatch)
          throw new Error(`s3://${source.fromBucket}/${from} changed while it was being copied`);
        return this.put(to, found.body, found.headers);
      },
      hasVersion: async (key, versionId) => {
        request('HeadObject');
        return this.versions.get(versionId)?.key === key;
      },
      listVersions: async (prefix) => {
        request('ListObjectVersions');
        return [...this.versions.values()]
          .filter((v) => v.key.startsWith(prefix))
          .map((v) => ({ key: v.key, versionId: v.versionId! }));
      },
      delete: async (keys, onDeleted) => {
        for (const key of keys) {
          write({ op: 'delete', key });
          this.objects.delete(key);
          onDeleted?.(1);
        }
      },
      abortOpenUploads: async () => 0,
    };
  }

  /** As S3 does, a versioned bucket keeps what a write replaces (and what a delete removes) as a version. */
  private put(key: string, body: Buffer, headers: ObjectHeaders): Written {
    const etag = `"${createHash('md5').update(body).digest('hex')}"`;
    const versionId = this.versioned ? `v${this.versions.size + 1}` : undefined;
    this.objects.set(key, { body, etag, headers, versionId });
    if (versionId) this.versions.set(versionId, { key, body, etag, headers, versionId });
    return { etag, versionId };
  }

  /** The site's objects (the deploy's bookkeeping left out) as text, by key. */
  siteFiles(): Record<string, string> {
    return Object.fromEntries(
      [...this.objects]
        .filter(([key]) => !key.includes('.nx-aws-deploy/'))
        .map(([key, o]) => [key, o.body.toString()])
        .sort(([a], [b]) => (a < b ? -1 : 1)),
    );
  }
}
