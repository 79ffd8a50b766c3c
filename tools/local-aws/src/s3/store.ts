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
}

export interface Bucket {
  name: string;
  region: string;
  createdAt: string;
  /** The bucket policy document, as PutBucketPolicy was given it. */
  policy?: string;
  objects: Map<string, StoredObject>;
}

/**
 * Buckets and objects. Metadata lives in memory; bodies too, unless a data folder is given, where each
 * object is a body file plus a JSON sidecar so that a restart finds everything again.
 */
export class S3Store {
  readonly buckets = new Map<string, Bucket>();
  private readonly bodies = new Map<string, Buffer>();

  constructor(private readonly dataDir?: string) {
    if (dataDir) this.load();
  }

  createBucket(name: string, region: string): Bucket {
    const bucket: Bucket = { name, region, createdAt: new Date().toISOString(), objects: new Map() };
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

  private saveBucket({ name, region, createdAt, policy }: Bucket): void {
    writeFileSync(join(this.bucketDir(name), 'bucket.json'), JSON.stringify({ name, region, createdAt, policy }));
  }

  deleteBucket(name: string): void {
    this.buckets.delete(name);
    if (this.dataDir) rmSync(this.bucketDir(name), { recursive: true, force: true });
  }

  putObject(bucket: Bucket, key: string, body: Buffer, headers: ObjectHeaders, etag = md5Etag(body)): StoredObject {
    const object: StoredObject = { key, size: body.length, etag, lastModified: new Date().toISOString(), ...headers };
    bucket.objects.set(key, object);
    const id = this.objectId(bucket.name, key);
    if (this.dataDir) {
      writeFileSync(join(this.objectDir(bucket.name), `${id}.body`), body);
      writeFileSync(join(this.objectDir(bucket.name), `${id}.json`), JSON.stringify(object));
    } else {
      this.bodies.set(id, body);
    }
    return object;
  }

  /** Replaces headers only (CopyObject onto itself with REPLACE). */
  body(bucket: Bucket, key: string): Buffer {
    const id = this.objectId(bucket.name, key);
    return this.dataDir ? readFileSync(join(this.objectDir(bucket.name), `${id}.body`)) : this.bodies.get(id)!;
  }

  deleteObject(bucket: Bucket, key: string): void {
    if (!bucket.objects.delete(key)) return;
    const id = this.objectId(bucket.name, key);
    if (this.dataDir) {
      rmSync(join(this.objectDir(bucket.name), `${id}.body`), { force: true });
      rmSync(join(this.objectDir(bucket.name), `${id}.json`), { force: true });
    } else {
      this.bodies.delete(id);
    }
  }

  private objectId(bucket: string, key: string): string {
    return createHash('sha256').update(`${bucket}\0${key}`).digest('hex');
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
      const bucket: Bucket = { ...info, objects: new Map() };
      for (const file of readdirSync(this.objectDir(name)).filter((f) => f.endsWith('.json'))) {
        const object = JSON.parse(readFileSync(join(this.objectDir(name), file), 'utf8')) as StoredObject;
        bucket.objects.set(object.key, object);
      }
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

export function newUploadId(): string {
  return randomUUID().replace(/-/g, '') + randomUUID().replace(/-/g, '');
}
