import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import {
  S3Client,
  CreateBucketCommand,
  HeadBucketCommand,
  PutObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  DeleteObjectCommand,
  DeleteObjectsCommand,
  CopyObjectCommand,
  paginateListObjectsV2,
  CreateMultipartUploadCommand,
  UploadPartCommand,
  AbortMultipartUploadCommand,
  ListMultipartUploadsCommand,
  CompleteMultipartUploadCommand,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { startLocalAws, type LocalAwsHarness } from '../src/testing';
import { tempDir } from 'test-support';

let local: LocalAwsHarness;
let s3: S3Client;
const bucket = 'conformance';

beforeAll(async () => {
  local = await startLocalAws();
  s3 = new S3Client({});
  await s3.send(new CreateBucketCommand({ Bucket: bucket }));
});
afterAll(async () => {
  s3.destroy();
  await local.stop();
});

const md5 = (b: Buffer) => createHash('md5').update(b).digest('hex');
const errorOf = async (p: Promise<unknown>) =>
  p.then(
    () => {
      throw new Error('expected the call to fail');
    },
    (e) => e,
  );

describe('buckets', () => {
  it('creates, heads and rejects invalid or unknown buckets with S3 error codes', async () => {
    await expect(s3.send(new HeadBucketCommand({ Bucket: bucket }))).resolves.toBeDefined();
    expect((await errorOf(s3.send(new HeadBucketCommand({ Bucket: 'nope-bucket' })))).$metadata.httpStatusCode).toBe(
      404,
    );
    expect((await errorOf(s3.send(new CreateBucketCommand({ Bucket: 'Bad_Name' })))).name).toBe('InvalidBucketName');
    expect((await errorOf(s3.send(new CreateBucketCommand({ Bucket: bucket })))).name).toBe('BucketAlreadyOwnedByYou');
    expect((await errorOf(s3.send(new GetObjectCommand({ Bucket: 'nope-bucket', Key: 'a' })))).name).toBe(
      'NoSuchBucket',
    );
  });

  it('answers PermanentRedirect for a bucket addressed in the wrong region', async () => {
    const other = new S3Client({ region: 'eu-west-1' });
    const error = await errorOf(other.send(new ListObjectsV2Command({ Bucket: bucket })));
    expect(error.name).toBe('PermanentRedirect');
    expect(error.$metadata.httpStatusCode).toBe(301);
    other.destroy();
  });
});

describe('objects', () => {
  it('round-trips every header we set, including x-amz-meta-*', async () => {
    const put = await s3.send(
      new PutObjectCommand({
        Bucket: bucket,
        Key: 'headers/app.js',
        Body: 'console.log(1)',
        ContentType: 'text/javascript; charset=utf-8',
        CacheControl: 'public, max-age=31536000, immutable',
        ContentEncoding: 'br',
        ContentDisposition: 'inline',
        Metadata: { 'content-sha256': 'abc', Deploy: '7' },
      }),
    );
    expect(put.ETag).toBe(`"${md5(Buffer.from('console.log(1)'))}"`);
    const head = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: 'headers/app.js' }));
    expect(head).toMatchObject({
      ContentType: 'text/javascript; charset=utf-8',
      CacheControl: 'public, max-age=31536000, immutable',
      ContentEncoding: 'br',
      ContentDisposition: 'inline',
      ContentLength: 14,
      ETag: put.ETag,
      Metadata: { 'content-sha256': 'abc', deploy: '7' },
    });
  });

  it('serves byte ranges and rejects unsatisfiable ones with InvalidRange', async () => {
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'range.txt', Body: '0123456789' }));
    const get = async (Range: string) =>
      (await s3.send(new GetObjectCommand({ Bucket: bucket, Key: 'range.txt', Range }))).Body!.transformToString();
    expect(await get('bytes=2-4')).toBe('234');
    expect(await get('bytes=7-')).toBe('789');
    expect(await get('bytes=-3')).toBe('789');
    const error = await errorOf(
      s3.send(new GetObjectCommand({ Bucket: bucket, Key: 'range.txt', Range: 'bytes=20-30' })),
    );
    expect(error.name).toBe('InvalidRange');
    expect(error.$metadata.httpStatusCode).toBe(416);
  });

  it('answers NoSuchKey for a missing key and 304 for a matching If-None-Match', async () => {
    expect((await errorOf(s3.send(new GetObjectCommand({ Bucket: bucket, Key: 'missing' })))).name).toBe('NoSuchKey');
    const put = await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'etag.txt', Body: 'x' }));
    const error = await errorOf(
      s3.send(new GetObjectCommand({ Bucket: bucket, Key: 'etag.txt', IfNoneMatch: put.ETag })),
    );
    expect(error.$metadata.httpStatusCode).toBe(304);
  });

  it.each(['with space/file name.html', 'unicode/ünïcødé-日本.txt', 'plus/a+b=c.js', 'odd/%41 &amp; <x>.txt'])(
    'stores and lists the key %s',
    async (key) => {
      await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: key }));
      expect(await (await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }))).Body!.transformToString()).toBe(
        key,
      );
      const listed = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: key.split('/')[0] + '/' }));
      expect(listed.Contents!.map((o) => o.Key)).toContain(key);
    },
  );

  it('deletes one object and batches of up to 1000, and rejects larger batches', async () => {
    const keys = Array.from({ length: 5 }, (_, i) => `del/${i}`);
    await Promise.all(keys.map((Key) => s3.send(new PutObjectCommand({ Bucket: bucket, Key, Body: Key }))));
    await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: 'del/0' }));
    const result = await s3.send(
      new DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects: keys.slice(1).map((Key) => ({ Key })) } }),
    );
    expect(result.Deleted!.map((d) => d.Key).sort()).toEqual(keys.slice(1));
    expect((await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: 'del/' }))).KeyCount).toBe(0);
    const tooMany = Array.from({ length: 1001 }, (_, i) => ({ Key: `x${i}` }));
    expect(
      (await errorOf(s3.send(new DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects: tooMany } })))).name,
    ).toBe('MalformedXML');
  });

  it('copies objects and replaces metadata in place with CopyObject onto itself', async () => {
    await s3.send(
      new PutObjectCommand({
        Bucket: bucket,
        Key: 'copy/src.css',
        Body: 'a{}',
        ContentType: 'text/css',
        CacheControl: 'no-cache',
      }),
    );
    const copied = await s3.send(
      new CopyObjectCommand({ Bucket: bucket, Key: 'copy/dst.css', CopySource: `${bucket}/copy/src.css` }),
    );
    expect((await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: 'copy/dst.css' }))).CacheControl).toBe(
      'no-cache',
    );
    expect(copied.CopyObjectResult!.ETag).toBe(`"${md5(Buffer.from('a{}'))}"`);
    const sameNoChange = await errorOf(
      s3.send(new CopyObjectCommand({ Bucket: bucket, Key: 'copy/src.css', CopySource: `${bucket}/copy/src.css` })),
    );
    expect(sameNoChange.name).toBe('InvalidRequest');
    await s3.send(
      new CopyObjectCommand({
        Bucket: bucket,
        Key: 'copy/src.css',
        CopySource: `${bucket}/copy/src.css`,
        MetadataDirective: 'REPLACE',
        ContentType: 'text/css; charset=utf-8',
        CacheControl: 'public, max-age=60',
      }),
    );
    const head = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: 'copy/src.css' }));
    expect(head).toMatchObject({
      ContentType: 'text/css; charset=utf-8',
      CacheControl: 'public, max-age=60',
      ContentLength: 3,
    });
  });
});

describe('listing', () => {
  const keys = Array.from({ length: 2500 }, (_, i) => `many/${String(i).padStart(4, '0')}.txt`);

  beforeAll(async () => {
    for (let i = 0; i < keys.length; i += 100) {
      await Promise.all(
        keys.slice(i, i + 100).map((Key) => s3.send(new PutObjectCommand({ Bucket: bucket, Key, Body: Key }))),
      );
    }
  });

  it('paginates 2 500 keys in pages of at most 1 000 with continuation tokens', async () => {
    const pages: number[] = [];
    const seen: string[] = [];
    for await (const page of paginateListObjectsV2({ client: s3 }, { Bucket: bucket, Prefix: 'many/' })) {
      pages.push(page.KeyCount!);
      seen.push(...page.Contents!.map((o) => o.Key!));
    }
    expect(pages).toEqual([1000, 1000, 500]);
    expect(seen).toEqual(keys);
  });

  it('groups common prefixes with a delimiter across pages', async () => {
    await Promise.all(
      ['tree/a/1', 'tree/a/2', 'tree/b/1', 'tree/c', 'tree/d/1'].map((Key) =>
        s3.send(new PutObjectCommand({ Bucket: bucket, Key, Body: Key })),
      ),
    );
    const prefixes: string[] = [];
    const contents: string[] = [];
    for await (const page of paginateListObjectsV2(
      { client: s3, pageSize: 2 },
      { Bucket: bucket, Prefix: 'tree/', Delimiter: '/' },
    )) {
      prefixes.push(...(page.CommonPrefixes ?? []).map((p) => p.Prefix!));
      contents.push(...(page.Contents ?? []).map((o) => o.Key!));
    }
    expect(prefixes).toEqual(['tree/a/', 'tree/b/', 'tree/d/']);
    expect(contents).toEqual(['tree/c']);
  });
});

describe('multipart uploads', () => {
  it('uploads 20 MB in parts through lib-storage with the ETag S3 computes (md5 of part md5s, -N)', async () => {
    const body = randomBytes(20 * 1024 * 1024);
    const partSize = 8 * 1024 * 1024;
    const result = await new Upload({
      client: s3,
      params: { Bucket: bucket, Key: 'big.bin', Body: body, ContentType: 'application/octet-stream' },
      partSize,
    }).done();
    const partMd5s = [];
    for (let i = 0; i < body.length; i += partSize)
      partMd5s.push(
        createHash('md5')
          .update(body.subarray(i, i + partSize))
          .digest(),
      );
    const expected = `"${createHash('md5').update(Buffer.concat(partMd5s)).digest('hex')}-3"`;
    expect(result.ETag).toBe(expected);
    const head = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: 'big.bin' }));
    expect(head.ETag).toBe(expected);
    expect(head.ContentLength).toBe(body.length);
    const downloaded = Buffer.from(
      await (await s3.send(new GetObjectCommand({ Bucket: bucket, Key: 'big.bin' }))).Body!.transformToByteArray(),
    );
    expect(md5(downloaded)).toBe(md5(body));

    // As S3 (and moto) do: a copy is a single-part write, so the copy's ETag is the MD5 of its bytes, even onto itself.
    const copied = await s3.send(
      new CopyObjectCommand({
        Bucket: bucket,
        Key: 'big.bin',
        CopySource: `${bucket}/big.bin`,
        MetadataDirective: 'REPLACE',
        ContentType: 'video/mp4',
      }),
    );
    expect(copied.CopyObjectResult!.ETag).toBe(`"${md5(body)}"`);
    expect((await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: 'big.bin' }))).ETag).toBe(`"${md5(body)}"`);
  });

  it('aborts uploads, rejects parts that are too small and unknown uploads', async () => {
    const { UploadId } = await s3.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: 'aborted.bin' }));
    const small = [
      await s3.send(new UploadPartCommand({ Bucket: bucket, Key: 'aborted.bin', UploadId, PartNumber: 1, Body: 'a' })),
      await s3.send(new UploadPartCommand({ Bucket: bucket, Key: 'aborted.bin', UploadId, PartNumber: 2, Body: 'b' })),
    ];
    const tooSmall = await errorOf(
      s3.send(
        new CompleteMultipartUploadCommand({
          Bucket: bucket,
          Key: 'aborted.bin',
          UploadId,
          MultipartUpload: { Parts: small.map((p, i) => ({ ETag: p.ETag, PartNumber: i + 1 })) },
        }),
      ),
    );
    expect(tooSmall.name).toBe('EntityTooSmall');
    expect(
      (await s3.send(new ListMultipartUploadsCommand({ Bucket: bucket }))).Uploads!.map((u) => u.UploadId),
    ).toContain(UploadId);
    await s3.send(new AbortMultipartUploadCommand({ Bucket: bucket, Key: 'aborted.bin', UploadId }));
    expect((await s3.send(new ListMultipartUploadsCommand({ Bucket: bucket }))).Uploads ?? []).toEqual([]);
    expect(
      (await errorOf(s3.send(new AbortMultipartUploadCommand({ Bucket: bucket, Key: 'aborted.bin', UploadId })))).name,
    ).toBe('NoSuchUpload');
  });
});

describe('the aws CLI as an independent client', () => {
  it('makes a bucket, syncs up and down byte-exactly and sees our headers with head-object', async () => {
    const root = tempDir('local-aws-cli-');
    const up = join(root, 'up');
    const files: Record<string, Buffer> = {
      'index.html': Buffer.from('<h1>hi</h1>'),
      'assets/app.abc123.js': randomBytes(70_000),
      'dir with space/ünï.txt': Buffer.from('unicode'),
      'big.bin': randomBytes(9 * 1024 * 1024),
    };
    for (const [name, data] of Object.entries(files)) {
      mkdirSync(join(up, name, '..'), { recursive: true });
      writeFileSync(join(up, name), data);
    }
    await local.cli(['s3', 'mb', 's3://cli-bucket']);
    await local.cli(['s3', 'sync', up, 's3://cli-bucket/site']);
    await local.cli(['s3', 'sync', 's3://cli-bucket/site', join(root, 'down')]);
    for (const [name, data] of Object.entries(files))
      expect(md5(readFileSync(join(root, 'down', name)))).toBe(md5(data));
    expect(readdirSync(join(root, 'down')).sort()).toEqual(readdirSync(up).sort());

    await s3.send(
      new PutObjectCommand({
        Bucket: 'cli-bucket',
        Key: 'h.css',
        Body: 'b{}',
        ContentType: 'text/css; charset=utf-8',
        CacheControl: 'no-cache',
        ContentEncoding: 'gzip',
        Metadata: { hash: 'h1' },
      }),
    );
    const head = JSON.parse(
      (await local.cli(['s3api', 'head-object', '--bucket', 'cli-bucket', '--key', 'h.css'])).stdout,
    );
    expect(head).toMatchObject({
      ContentType: 'text/css; charset=utf-8',
      CacheControl: 'no-cache',
      ContentEncoding: 'gzip',
      Metadata: { hash: 'h1' },
      ContentLength: 3,
    });
  });
});

describe('versioning', () => {
  it('keeps every version: reads, copies back and deletes by version id, pages ListObjectVersions, and keeps them across a restart', async () => {
    const dataDir = tempDir('local-aws-versions-');
    const first = await startLocalAws({ dataDir });
    const client = new S3Client({ endpoint: first.aws.url });
    const cli = (...args: string[]) =>
      first.cli(['s3api', ...args, '--bucket', 'versioned']).then((r) => (r.stdout ? JSON.parse(r.stdout) : {}));
    await client.send(new CreateBucketCommand({ Bucket: 'versioned' }));
    await client.send(new PutObjectCommand({ Bucket: 'versioned', Key: 'page.html', Body: 'before versioning' }));
    await cli('put-bucket-versioning', '--versioning-configuration', 'Status=Enabled');
    expect(await cli('get-bucket-versioning')).toEqual({ Status: 'Enabled' });
    const ids: string[] = [];
    for (const body of ['one', 'two', 'three'])
      ids.push(
        (await client.send(new PutObjectCommand({ Bucket: 'versioned', Key: 'page.html', Body: body }))).VersionId!,
      );
    expect(new Set(ids).size).toBe(3);
    // The aws CLI, an independent client, reads an older version and the one written before versioning ("null").
    const root = tempDir('local-aws-versions-out-');
    await cli('get-object', '--key', 'page.html', '--version-id', ids[0], join(root, 'one'));
    await cli('get-object', '--key', 'page.html', '--version-id', 'null', join(root, 'null'));
    expect([readFileSync(join(root, 'one'), 'utf8'), readFileSync(join(root, 'null'), 'utf8')]).toEqual([
      'one',
      'before versioning',
    ]);
    const restored = await client.send(
      new CopyObjectCommand({
        Bucket: 'versioned',
        Key: 'page.html',
        CopySource: `versioned/page.html?versionId=${ids[0]}`,
      }),
    );
    expect(restored.CopySourceVersionId).toBe(ids[0]);
    const deleted = await client.send(new DeleteObjectCommand({ Bucket: 'versioned', Key: 'page.html' }));
    expect(deleted.DeleteMarker).toBe(true);
    await expect(client.send(new HeadObjectCommand({ Bucket: 'versioned', Key: 'page.html' }))).rejects.toMatchObject({
      name: 'NotFound',
    });
    await cli('delete-object', '--key', 'page.html', '--version-id', ids[1]);
    const pages = await cli('list-object-versions', '--max-items', '100', '--page-size', '2');
    expect(pages.Versions.map((v: { VersionId: string }) => v.VersionId)).toEqual([
      restored.VersionId,
      ids[2],
      ids[0],
      'null',
    ]);
    expect(pages.DeleteMarkers).toEqual([expect.objectContaining({ IsLatest: true, VersionId: deleted.VersionId })]);
    await first.stop();
    // After a restart the same versions are there, and deleting the marker makes the newest version current again.
    const second = await startLocalAws({ dataDir, port: first.aws.port });
    await client.send(new DeleteObjectCommand({ Bucket: 'versioned', Key: 'page.html', VersionId: deleted.VersionId }));
    const current = await client.send(new GetObjectCommand({ Bucket: 'versioned', Key: 'page.html' }));
    expect([current.VersionId, await current.Body!.transformToString()]).toEqual([restored.VersionId, 'one']);
    await expect(
      client.send(new GetObjectCommand({ Bucket: 'versioned', Key: 'page.html', VersionId: ids[1] })),
    ).rejects.toMatchObject({ name: 'NoSuchVersion' });
    client.destroy();
    await second.stop();
    Object.assign(process.env, local.env);
  });
});

describe('persistence', () => {
  it('keeps buckets and objects in a data folder across restarts', async () => {
    const dataDir = tempDir('local-aws-data-');
    const first = await startLocalAws({ dataDir });
    const client = new S3Client({ endpoint: first.aws.url });
    await client.send(new CreateBucketCommand({ Bucket: 'kept' }));
    await client.send(new PutObjectCommand({ Bucket: 'kept', Key: 'a/b.txt', Body: 'kept', CacheControl: 'no-cache' }));
    await first.stop();
    const second = await startLocalAws({ dataDir, port: first.aws.port });
    const head = await client.send(new HeadObjectCommand({ Bucket: 'kept', Key: 'a/b.txt' }));
    expect(head.CacheControl).toBe('no-cache');
    expect(
      await (await client.send(new GetObjectCommand({ Bucket: 'kept', Key: 'a/b.txt' }))).Body!.transformToString(),
    ).toBe('kept');
    client.destroy();
    await second.stop();
    Object.assign(process.env, local.env);
  });
});

describe('request log', () => {
  it('counts requests by operation', async () => {
    await local.resetRequests();
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'count', Body: '1' }));
    await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: 'count' }));
    await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: 'count' }));
    expect(await local.requests()).toEqual({ 's3.HeadObject': 2, 's3.PutObject': 1 });
  });
});
