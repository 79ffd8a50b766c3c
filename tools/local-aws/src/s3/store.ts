import { createHash, randomUUID } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';

/** The headers S3 stores with an object and answers on GET/HEAD. */
export interface ObjectHeaders {
  contentType?: string;
  cacheControl?: string;
  contentEncoding?: string;
  contentDisposition?: string;
  contentLanguage?: string;
  expires?: string;
  /** `x-amz-meta-*` without the prefix, names lower-cased as S3 does. */
  metadata: Record<string, string>;
}

export interface StoredObject extends ObjectHeaders {
  key: string;
  size: number;
  /** With quotes, as S3 answers it. */
  etag: string;
  lastModified: string;
  /** In a bucket that has had versioning: the version's id ("null" for one written while suspended). */
  versionId?: string;
  /** A delete marker: a version without bytes that hides the older ones. */
  deleteMarker?: boolean;
  /** Write order, which orders a key's versions across a restart. */
  seq?: number;
}

export type Versioning = 'Enabled' | 'Suspended';

export interface Bucket {
  name: string;
  region: string;
  createdAt: string;
  /** The bucket policy document, as PutBucketPolicy was given it. */
  policy?: string;
  /** Unset until PutBucketVersioning; once enabled, a bucket can only be suspended, as on S3. */
  versioning?: Versioning;
  /** The current version of each key (what GET, HEAD and listings see). */
  objects: Map<string, StoredObject>;
  /** Older versions and delete markers of each key, newest first (versioned buckets only). */
  noncurrent: Map<string, StoredObject[]>;
}

/**
 * Buckets and objects. Metadata lives in memory; bodies too, unless a data folder is given, where each
 * object is a body file plus a JSON sidecar so that a restart finds everything again.
 */
export class S3Store {
  readonly buckets = new Map<string, Bucket>();
  private readonly bodies = new Map<string, Buffer>();
  private seq = 0;

  constructor(private readonly dataDir?: string) {
    if (dataDir) this.load();
  }

  createBucket(name: string, region: string): Bucket {
    const bucket: Bucket = {
      name,
      region,
      createdAt: new Date().toISOString(),
      objects: new Map(),
      noncurrent: new Map(),
    };
    this.buckets.set(name, bucket);
    if (this.dataDir) {
      mkdirSync(this.objectDir(name), { recursive: true });
      this.saveBucket(bucket);
    }
    return bucket;
  }

  setPolicy(bucket: Bucket, policy: string | undefined): void {
    bucket.policy = policy;
    if (this.dataDir) this.saveBucket(bucket);
  }

  setVersioning(bucket: Bucket, status: Versioning): void {
    bucket.versioning = status;
    if (this.dataDir) this.saveBucket(bucket);
  }

  private saveBucket({ name, region, createdAt, policy, versioning }: Bucket): void {
    writeFileSync(
      join(this.bucketDir(name), 'bucket.json'),
      JSON.stringify({ name, region, createdAt, policy, versioning }),
    );
  }

  deleteBucket(name: string): void {
    this.buckets.delete(name);
    if (this.dataDir) rmSync(this.bucketDir(name), { recursive: true, force: true });
  }

  /** Stores a new current version of `key` (replacing it in a bucket that never had versioning). */
  putObject(bucket: Bucket, key: string, body: Buffer, headers: ObjectHeaders, etag = md5Etag(body)): StoredObject {
    const object: StoredObject = {
      key,
      size: body.length,
      etag,
      lastModified: new Date().toISOString(),
      ...headers,
      ...this.newVersion(bucket),
    };
    this.addVersion(bucket, object, body);
    return object;
  }

  /** DELETE without a version id: a versioned bucket gets a delete marker (answered), others lose the object. */
  deleteObject(bucket: Bucket, key: string): StoredObject | undefined {
    if (!bucket.versioning) {
      const existing = bucket.objects.get(key);
      if (existing) this.removeVersion(bucket, existing);
      return undefined;
    }
    const marker: StoredObject = {
      key,
      size: 0,
      etag: '',
      lastModified: new Date().toISOString(),
      metadata: {},
      deleteMarker: true,
      ...this.newVersion(bucket),
    };
    this.addVersion(bucket, marker);
    return marker;
  }

  /** Every version of `key`, newest first: the current one (if any), then the older ones and the markers. */
  versions(bucket: Bucket, key: string): StoredObject[] {
    const current = bucket.objects.get(key);
    return [...(current ? [current] : []), ...(bucket.noncurrent.get(key) ?? [])];
  }

  /** Objects written before versioning was enabled are the "null" version, as on S3. */
  version(bucket: Bucket, key: string, versionId: string): StoredObject | undefined {
    return this.versions(bucket, key).find((v) => (v.versionId ?? 'null') === versionId);
  }

  /** DELETE with a version id: that version is gone for good; the newest remaining one becomes current. */
  deleteVersion(bucket: Bucket, key: string, versionId: string): StoredObject | undefined {
    const version = this.version(bucket, key, versionId);
    if (version) this.removeVersion(bucket, version);
    return version;
  }

  /** The bytes of an object (any version of it). */
  body(bucket: Bucket, object: StoredObject): Buffer {
    const id = this.objectId(bucket.name, object.key, object.versionId);
    return this.dataDir ? readFileSync(join(this.objectDir(bucket.name), `${id}.body`)) : this.bodies.get(id)!;
  }

  private newVersion(bucket: Bucket): Pick<StoredObject, 'versionId' | 'seq'> {
    const seq = ++this.seq;
    if (!bucket.versioning) return { seq };
    return { seq, versionId: bucket.versioning === 'Enabled' ? newVersionId() : 'null' };
  }

  private addVersion(bucket: Bucket, object: StoredObject, body?: Buffer): void {
    // A write replaces the version of the same id: the only one in an unversioned bucket, "null" when suspended.
    const same = this.version(bucket, object.key, object.versionId ?? 'null');
    if (same) this.removeVersion(bucket, same);
    this.arrange(bucket, object.key, [object, ...this.versions(bucket, object.key)]);
    const id = this.objectId(bucket.name, object.key, object.versionId);
    if (this.dataDir) {
      if (body) writeFileSync(join(this.objectDir(bucket.name), `${id}.body`), body);
      writeFileSync(join(this.objectDir(bucket.name), `${id}.json`), JSON.stringify(object));
    } else if (body) {
      this.bodies.set(id, body);
    }
  }

  private removeVersion(bucket: Bucket, version: StoredObject): void {
    this.arrange(
      bucket,
      version.key,
      this.versions(bucket, version.key).filter((v) => v !== version),
    );
    const id = this.objectId(bucket.name, version.key, version.versionId);
    if (this.dataDir) {
      rmSync(join(this.objectDir(bucket.name), `${id}.body`), { force: true });
      rmSync(join(this.objectDir(bucket.name), `${id}.json`), { force: true });
    } else {
      this.bodies.delete(id);
    }
  }

  /** A key's versions, newest first: the newest is current unless it is a delete marker. */
  private arrange(bucket: Bucket, key: string, versions: StoredObject[]): void {
    const [newest, ...older] = versions;
    if (newest && !newest.deleteMarker) bucket.objects.set(key, newest);
    else bucket.objects.delete(key);
    const noncurrent = newest && !newest.deleteMarker ? older : versions;
    if (noncurrent.length) bucket.noncurrent.set(key, noncurrent);
    else bucket.noncurrent.delete(key);
  }

  private objectId(bucket: string, key: string, versionId?: string): string {
    return createHash('sha256')
      .update(`${bucket}\0${key}${versionId === undefined ? '' : `\0${versionId}`}`)
      .digest('hex');
  }

  private bucketDir(name: string): string {
    return join(this.dataDir!, 's3', name);
  }

  private objectDir(name: string): string {
    return join(this.bucketDir(name), 'objects');
  }

  private load(): void {
    const root = join(this.dataDir!, 's3');
    if (!existsSync(root)) return;
    for (const name of readdirSync(root)) {
      const info = JSON.parse(readFileSync(join(root, name, 'bucket.json'), 'utf8')) as Omit<Bucket, 'objects'>;
      const bucket: Bucket = { ...info, objects: new Map(), noncurrent: new Map() };
      const byKey = new Map<string, StoredObject[]>();
      for (const file of readdirSync(this.objectDir(name)).filter((f) => f.endsWith('.json'))) {
        const object = JSON.parse(readFileSync(join(this.objectDir(name), file), 'utf8')) as StoredObject;
        byKey.set(object.key, [...(byKey.get(object.key) ?? []), object]);
        this.seq = Math.max(this.seq, object.seq ?? 0);
      }
      for (const [key, versions] of byKey)
        this.arrange(
          bucket,
          key,
          versions.sort((a, b) => (b.seq ?? 0) - (a.seq ?? 0)),
        );
      this.buckets.set(name, bucket);
    }
  }
}

export function md5Etag(body: Buffer): string {
  return `"${createHash('md5').update(body).digest('hex')}"`;
}

/** S3's multipart ETag: MD5 of the concatenated binary part MD5s, then `-<part count>`. */
export function multipartEtag(partMd5s: Buffer[]): string {
  return `"${createHash('md5').update(Buffer.concat(partMd5s)).digest('hex')}-${partMd5s.length}"`;
}

/** S3's version ids are opaque, URL-safe and 32 characters long. */
function newVersionId(): string {
  return randomUUID().replace(/-/g, '');
}

export function newUploadId(): string {
  return randomUUID().replace(/-/g, '') + randomUUID().replace(/-/g, '');
}
