import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { motoInstalled, startLocalAws, startMoto } from 'local-aws';
import { openS3Store } from '../src/lib/bucket/s3-target';
import { forEachLimit } from '../src/lib/util/concurrency';
import { newBucket } from './bucket';

/**
 * A deploy's listing split into ranges at its own files (lib/bucket/listing.ts), over HTTP against both emulators:
 * exactly the keys, in the order, that the aws CLI lists page after page, with keys in several scripts, objects
 * the deploy does not expect, expected files the bucket lacks and a sibling prefix. Pages of 100 keys instead of
 * S3's 1 000 (MaxKeys): the same split over a tenth of the objects to write.
 */
const PAGE = 100;
const emulators = [
  ['local-aws', async () => startLocalAws()],
  ...(motoInstalled() ? [['moto', startMoto] as const] : []),
] as const;
if (!motoInstalled()) console.warn('moto_server is not installed: the split listing against moto is SKIPPED.');

describe.each(emulators)('a split listing against %s', (_, start) => {
  let emulator: Awaited<ReturnType<(typeof emulators)[number][1]>>;
  beforeAll(async () => {
    emulator = await start();
    Object.assign(process.env, emulator.env);
  }, 60_000);
  afterAll(() => emulator?.stop());

  it('lists what the aws CLI lists, in its order, in about as many pages', async () => {
    const bucket = await newBucket(emulator, 'split');
    const names = ['app', 'é', '\uFF21', '\u{1F600}', 'Z', 'a-b', 'a.b', 'a/b'];
    const site = Array.from({ length: 240 }, (_, i) => `site/${names[i % names.length]}/${String(i).padStart(5, '0')}`);
    // Older releases' assets and the deploy's bookkeeping: in the bucket, not among the files.
    const others = [
      ...Array.from({ length: 50 }, (_, i) => `site/app/old-${i}`),
      'site/.nx-aws-deploy/state.json',
      'sibling/index.html',
      'site',
    ];
    const s3 = new S3Client({ forcePathStyle: true });
    await forEachLimit([...site.slice(10), ...others], 32, async (Key) => {
      await s3.send(new PutObjectCommand({ Bucket: bucket, Key, Body: Key }));
    });
    s3.destroy();

    const target = openS3Store({ bucket, concurrency: 16 })();
    // The files in JavaScript's order, as the scan sorts them; the first 10 are not in the bucket yet.
    const listed = await target.list('site/', { likelyKeys: [...site].sort(), pageSize: PAGE });
    const { stdout } = await emulator.cli(['s3api', 'list-objects-v2', '--bucket', bucket, '--prefix', 'site/']);
    const expected = JSON.parse(stdout).Contents.map((o: { Key: string }) => o.Key);
    expect(expected).toHaveLength(230 + 51);
    expect(listed.map((o) => o.key)).toEqual(expected);
    expect(new Set(listed.map((o) => o.etag)).size).toBe(listed.length);
    expect(target.requests.ListObjectsV2).toBeGreaterThanOrEqual(3);
    expect(target.requests.ListObjectsV2).toBeLessThanOrEqual(3 + 3);
  }, 120_000);
});
