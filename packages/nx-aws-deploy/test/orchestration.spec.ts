import { mkdirSync, utimesSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import fc from 'fast-check';
import { tempDir } from 'test-support';
import { deployTo, type DeployOptions } from '../src/lib/deploy/deploy';
import { isEntryFile } from '../src/lib/deploy/headers';
import { Interrupted } from '../src/lib/util/interrupt';
import { MemoryBucket, type Write } from './memory-bucket';

/**
 * The deploy's orchestration (what goes first, what is refused, where it stops) against a bucket in memory: the
 * same deployTo that deploy() runs on S3, in milliseconds, so it can be tried on many sites and at every moment.
 */
const root = tempDir('orchestration-');
let sites = 0;

/** A build folder with these files (text by path). */
function build(files: Record<string, string>): string {
  const dir = join(root, `site-${++sites}`);
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    writeFileSync(join(dir, path), text);
  }
  return dir;
}

function deployFolder(bucket: MemoryBucket, sourceDir: string, extra: Partial<DeployOptions> = {}) {
  return deployTo((signal) => bucket.store(signal), {
    workspaceRoot: root,
    project: 'site',
    sourceDir,
    bucket: bucket.name,
    leaseOwner: 'orchestration-test',
    manifest: join(sourceDir, '..', `${sourceDir.split('/').pop()}-manifest.json`),
    log: () => undefined,
    ...extra,
  });
}

/** A Vite-like site: pages that name content-hashed assets, a service worker, a manifest. */
function site(version: string, assets: string[]): Record<string, string> {
  const tags = assets.map((a) => `<script src="/assets/${a}"></script>`).join('');
  return {
    'index.html': `<!doctype html><title>${version}</title>${tags}`,
    'about/index.html': `<!doctype html><title>about ${version}</title>${tags}`,
    'sw.js': `// service worker ${version}`,
    'manifest.webmanifest': `{"name":"${version}"}`,
    ...Object.fromEntries(assets.map((a) => [`assets/${a}`, `/* ${a} */`])),
  };
}

/** Every page in the bucket names only assets that are in it: what a visitor may see at any moment. */
function pagesReferenceOnlyExistingAssets(bucket: MemoryBucket): boolean {
  const files = bucket.siteFiles();
  return Object.entries(files)
    .filter(([key]) => key.endsWith('.html'))
    .every(([, html]) => [...html.matchAll(/src="\/([^"]+)"/g)].every(([, key]) => key in files));
}

const siteWrites = (writes: Write[]) => writes.filter((w) => !w.key.includes('.nx-aws-deploy/'));

describe('deploy orchestration (in memory)', () => {
  it('takes the lease first, uploads every asset before any entry file, prunes after both, releases last', async () => {
    const bucket = new MemoryBucket('orchestration-order');
    await deployFolder(bucket, build(site('v1', ['app-1111.js', 'old-2222.js'])));
    bucket.writes.length = 0;
    await deployFolder(bucket, build(site('v2', ['app-3333.js', 'vendor-4444.js'])));

    const { writes } = bucket;
    expect(writes[0]).toEqual({ op: 'put', key: '.nx-aws-deploy/lease.json' });
    expect(writes[writes.length - 1]).toEqual({ op: 'put', key: '.nx-aws-deploy/lease.json' });
    const kinds = siteWrites(writes).map((w) =>
      w.op === 'delete' ? 'delete' : isEntryFile(w.key) ? 'entry' : 'asset',
    );
    expect(kinds).toEqual(['asset', 'asset', 'entry', 'entry', 'entry', 'entry', 'delete', 'delete']);
    expect(bucket.siteFiles()).toEqual(site('v2', ['app-3333.js', 'vendor-4444.js']));
    const lease = JSON.parse(bucket.objects.get('.nx-aws-deploy/lease.json')!.body.toString());
    expect(lease).toMatchObject({ owner: 'orchestration-test', released: true });
  });

  it('writes no site file when the folder is deployed again, and nothing at all on a dry run', async () => {
    const bucket = new MemoryBucket('orchestration-again');
    const dir = build(site('v1', ['app-1111.js']));
    await deployFolder(bucket, dir);
    bucket.writes.length = 0;
    const { summary } = await deployFolder(bucket, dir);
    expect(siteWrites(bucket.writes)).toEqual([]);
    expect(summary.unchanged.files).toBe(5);

    bucket.writes.length = 0;
    await deployFolder(bucket, build(site('v2', ['app-2222.js'])), { dryRun: true });
    expect(bucket.writes).toEqual([]);
  });

  it('refuses to delete more than maxDeletes before any change, and a folder that is no site before any request', async () => {
    const bucket = new MemoryBucket('orchestration-guards');
    const many = Array.from({ length: 8 }, (_, i) => `chunk-${i}000.js`);
    await deployFolder(bucket, build(site('v1', many)));
    const before = bucket.siteFiles();
    bucket.writes.length = 0;

    await expect(deployFolder(bucket, build(site('v2', [])), { maxDeletes: 3 })).rejects.toThrow(
      /would delete 8 objects .* more than maxDeletes \(3\); nothing was changed/,
    );
    expect(siteWrites(bucket.writes)).toEqual([]);
    expect(bucket.siteFiles()).toEqual(before);

    expect(bucket.siteFiles()).toEqual(before);

    bucket.writes.length = 0;
    await expect(deployFolder(bucket, build({ 'app.js': 'no page' }))).rejects.toThrow(/has no index.html/);
    await expect(deployFolder(bucket, join(root, 'missing'))).rejects.toThrow(/does not exist/);
    expect(bucket.writes).toEqual([]);
  });

  it.each([
    [
      'assets',
      (w: Write) => w.op === 'put' && w.key.startsWith('assets/'),
      /while uploading assets.*still the previous deploy's/,
    ],
    [
      'entry files',
      (w: Write) => w.op === 'put' && w.key === 'about/index.html',
      /while uploading entry files.*names only assets that are in the bucket/,
    ],
    ['prune', (w: Write) => w.op === 'delete', /while pruning/],
  ])('a stop signal while %s ends it consistently, and the next run finishes the job', async (_, at, message) => {
    const bucket = new MemoryBucket('orchestration-stop');
    await deployFolder(bucket, build(site('v1', ['app-1111.js', 'gone-2222.js'])));
    const next = site('v2', ['app-3333.js', 'more-4444.js']);
    const dir = build(next);
    const stop = new AbortController();
    bucket.beforeWrite = (w) => {
      if (at(w)) stop.abort('SIGTERM');
    };
    const stopped = deployFolder(bucket, dir, { signal: stop.signal });
    await expect(stopped).rejects.toBeInstanceOf(Interrupted);
    await expect(stopped).rejects.toThrow(message);
    expect(pagesReferenceOnlyExistingAssets(bucket)).toBe(true);
    expect(JSON.parse(bucket.objects.get('.nx-aws-deploy/lease.json')!.body.toString()).released).toBe(true);

    bucket.beforeWrite = () => undefined;
    await deployFolder(bucket, dir);
    expect(bucket.siteFiles()).toEqual(next);
  });

  it('compares a folder deployed again from this workspace through its hash cache: a file is read again only when its size, mtime or inode changed', async () => {
    writeFileSync(join(root, 'nx.json'), '{}');
    const bucket = new MemoryBucket('orchestration-cache');
    const files = site('v1', ['app-1111.js']);
    const dir = build(files);
    const aMinuteAgo = new Date(Date.now() - 60_000);
    const age = (path: string, when = aMinuteAgo) => utimesSync(join(dir, path), when, when);
    Object.keys(files).forEach((path) => age(path));
    await deployFolder(bucket, dir); // into an empty bucket: each file read once as it goes up, its MD5 remembered
    await deployFolder(bucket, dir); // compared through the cache
    // Other bytes of the same length under the same mtime and inode: the cache answers, the file is not read.
    writeFileSync(join(dir, 'assets/app-1111.js'), '/* app-2222.js */');
    age('assets/app-1111.js');
    bucket.writes.length = 0;
    await deployFolder(bucket, dir);
    expect(siteWrites(bucket.writes)).toEqual([]);
    expect(bucket.siteFiles()['assets/app-1111.js']).toBe('/* app-1111.js */');
    // Touched (a build writes the file): read, found changed, uploaded.
    age('assets/app-1111.js', new Date(Date.now() - 30_000));
    await deployFolder(bucket, dir);
    expect(siteWrites(bucket.writes)).toEqual([{ op: 'put', key: 'assets/app-1111.js' }]);
    expect(bucket.siteFiles()['assets/app-1111.js']).toBe('/* app-2222.js */');
  });

  it('for any old and new site and any order uploads land in: the bucket ends as the new one, and no moment shows a page without its assets', async () => {
    const assetNames = fc.uniqueArray(fc.stringMatching(/^[a-z]{1,6}-[0-9a-f]{4}\.(js|css)$/), { maxLength: 6 });
    await fc.assert(
      fc.asyncProperty(assetNames, assetNames, fc.array(fc.nat(4)), async (oldAssets, newAssets, turns) => {
        const bucket = new MemoryBucket('orchestration-any');
        await deployFolder(bucket, build(site('old', oldAssets)));
        let upload = 0;
        bucket.uploadTurns = () => turns[upload++ % turns.length] ?? 0;
        let consistent = true;
        bucket.beforeWrite = () => {
          consistent &&= pagesReferenceOnlyExistingAssets(bucket);
        };
        await deployFolder(bucket, build(site('new', newAssets)));
        expect(consistent && pagesReferenceOnlyExistingAssets(bucket)).toBe(true);
        expect(bucket.siteFiles()).toEqual(site('new', newAssets));
      }),
      { numRuns: 60 },
    );
  });
});
