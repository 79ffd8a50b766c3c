import { createHash } from 'node:crypto';
import { mkdirSync, utimesSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import fc from 'fast-check';
import { tempDir } from 'test-support';
import { deployTo, type DeployOptions } from '../src/lib/deploy/deploy';
import { isContentHashed, isEntryFile } from '../src/lib/deploy/headers';
import { VERSIONS_CHECKED_BY_HEAD } from '../src/lib/releases/book';
import { promoteWith, type PromoteOptions } from '../src/lib/releases/promote';
import { rollbackWith, type RollbackOptions } from '../src/lib/releases/rollback';
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

/** A site of 2 501 files: more than two listing pages, so that a listing of it is split into ranges. */
function largeSite(index: string): Record<string, string> {
  const files: Record<string, string> = { 'index.html': index };
  for (let i = 0; i < 2500; i++) files[`assets/a${String(i).padStart(4, '0')}.js`] = `// ${i}`;
  return files;
}

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

  it('lists a bucket that mirrors a large site in ranges split at its files, as many pages as one after the other', async () => {
    const bucket = new MemoryBucket('orchestration-split');
    const files = largeSite('<h1>large</h1>');
    const dir = build(files);
    await deployFolder(bucket, dir);
    bucket.pagesAsked.length = 0;
    writeFileSync(join(dir, 'assets/a1234.js'), '// changed');
    const { summary } = await deployFolder(bucket, dir);
    expect(summary.uploaded.files).toBe(1);
    // 2 501 files and the bookkeeping: the first page, then two ranges at once, each one page.
    expect(bucket.pagesAsked).toEqual([{}, { startAfter: expect.any(String) }, { startAfter: expect.any(String) }]);
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

function rollbackBucket(bucket: MemoryBucket, extra: Partial<RollbackOptions> = {}) {
  return rollbackWith((signal) => bucket.store(signal), {
    bucket: bucket.name,
    leaseOwner: 'orchestration-test',
    log: () => undefined,
    ...extra,
  });
}

/** Version `v` of a site whose assets carry content hashes (kept by releases) and whose logo changes in place. */
function hashedSite(v: number, choice: { pages: string[]; assets: string[]; salt: string; logo: string }) {
  const assets = choice.assets.map((name) => {
    const body = `/* ${name} ${choice.salt} */`;
    return [`assets/${name}-${createHash('md5').update(body).digest('hex').slice(0, 8)}.js`, body] as const;
  });
  const tags = `${assets.map(([key]) => `<script src="/${key}"></script>`).join('')}<img src="/logo.png">`;
  return {
    'index.html': `<!doctype html><title>v${v}</title>${tags}`,
    ...Object.fromEntries(choice.pages.map((page) => [page, `<!doctype html><title>${page} v${v}</title>${tags}`])),
    'sw.js': `// service worker v${v}`,
    'logo.png': choice.logo,
    ...Object.fromEntries(assets),
  };
}

/** The bucket serves `files` exactly; what else is there is only content-hashed assets that no page of it names. */
function expectServes(bucket: MemoryBucket, files: Record<string, string>) {
  const served = bucket.siteFiles();
  for (const [key, body] of Object.entries(files)) expect([key, served[key]]).toEqual([key, body]);
  for (const key of Object.keys(served)) if (!(key in files)) expect([key, isContentHashed(key)]).toEqual([key, true]);
  expect(pagesReferenceOnlyExistingAssets(bucket)).toBe(true);
}

describe('releases (in memory)', () => {
  const choice = fc.record({
    pages: fc.subarray(['about/index.html', 'blog/index.html', 'docs/index.html']),
    assets: fc.subarray(['app', 'vendor', 'chart', 'map'], { minLength: 1 }),
    salt: fc.constantFrom('x', 'y', 'z'),
    logo: fc.constantFrom('red', 'blue'),
  });

  it('for any history of deploys, in a versioned bucket or not, and versioning turned on at any point: every kept release comes back exactly, and rolling forward again too', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(choice, { minLength: 2, maxLength: 5 }),
        fc.integer({ min: 2, max: 4 }),
        fc.nat(),
        fc.integer({ min: 0, max: 6 }),
        async (choices, keepReleases, pick, versionedFrom) => {
          const bucket = new MemoryBucket('releases-any');
          const sites = choices.map((c, i) => hashedSite(i + 1, c));
          for (const [i, files] of sites.entries()) {
            bucket.versioned = i >= versionedFrom;
            await deployFolder(bucket, build(files), { keepReleases });
          }
          // From the first versioned deploy on, what gets replaced is kept by S3 and never copied as a snapshot.
          if (versionedFrom === 0)
            expect([...bucket.objects.keys()].filter((k) => k.includes('releases/files/'))).toEqual([]);
          const live = sites.length;
          const kept = Array.from({ length: Math.min(keepReleases, live) - 1 }, (_, i) => live - 1 - i);
          const to = kept[pick % kept.length];
          const back = await rollbackBucket(bucket, { to, keepReleases });
          expect(back).toMatchObject({ to, release: live + 1 });
          expectServes(bucket, sites[to - 1]);
          await rollbackBucket(bucket, { to: live, keepReleases });
          expectServes(bucket, sites[live - 1]);
        },
      ),
      { numRuns: 40 },
    );
  });

  it('keeps the assets and snapshots of the kept releases only', async () => {
    const bucket = new MemoryBucket('releases-retention');
    const sites = [1, 2, 3].map((v) => hashedSite(v, { pages: [], assets: ['app'], salt: `s${v}`, logo: `logo ${v}` }));
    for (const files of sites) await deployFolder(bucket, build(files), { keepReleases: 2 });
    const keys = [...bucket.objects.keys()].sort();
    const [asset1, asset2, asset3] = sites.map((files) => Object.keys(files).find((k) => k.startsWith('assets/')));
    expect(keys).not.toContain(asset1);
    expect(keys).toEqual(expect.arrayContaining([asset2, asset3]));
    expect(keys.filter((k) => k.startsWith('.nx-aws-deploy/releases/'))).toEqual([
      expect.stringMatching(/^\.nx-aws-deploy\/releases\/2\.json$/),
      expect.stringMatching(/^\.nx-aws-deploy\/releases\/3\.json$/),
      expect.stringMatching(/^\.nx-aws-deploy\/releases\/files\/[0-9a-f]{32}\/index\.html$/),
      expect.stringMatching(/^\.nx-aws-deploy\/releases\/files\/[0-9a-f]{32}\/logo\.png$/),
      expect.stringMatching(/^\.nx-aws-deploy\/releases\/files\/[0-9a-f]{32}\/sw\.js$/),
      '.nx-aws-deploy/releases/index.json',
    ]);
    await expect(rollbackBucket(bucket, { to: 1 })).rejects.toThrow(/Release 1 .* is no longer kept/);
  });

  it('in a versioned bucket: no snapshots, a rollback copies the recorded versions back, one copy per changed file', async () => {
    const bucket = new MemoryBucket('releases-versioned', true);
    const sites = [1, 2, 3].map((v) =>
      hashedSite(v, { pages: ['about/index.html'], assets: ['app'], salt: `s${v}`, logo: `logo ${v}` }),
    );
    for (const files of sites) await deployFolder(bucket, build(files));
    expect([...bucket.objects.keys()].filter((k) => k.includes('releases/files/'))).toEqual([]);
    bucket.writes.length = 0;
    expect(await rollbackBucket(bucket, { to: 1 })).toMatchObject({ restored: 4, deleted: 0 });
    expectServes(bucket, sites[0]);
    // index.html, about/index.html, sw.js, logo.png: each copied once, from its version (no snapshot first).
    expect(siteWrites(bucket.writes).map((w) => w.op)).toEqual(Array(4).fill('copy'));
    await rollbackBucket(bucket, { to: 3 });
    expectServes(bucket, sites[2]);
  });

  it("a version the bucket's lifecycle expired: a snapshot serves if there is one, otherwise the rollback refuses, naming the file, and changes nothing", async () => {
    const sites = [1, 2, 3].map((v) => hashedSite(v, { pages: [], assets: ['app'], salt: `s${v}`, logo: `logo ${v}` }));
    // Versioning turned on after release 1: its files were snapshotted when release 2 replaced them.
    const upgraded = new MemoryBucket('releases-upgraded');
    await deployFolder(upgraded, build(sites[0]));
    upgraded.versioned = true;
    for (const files of sites.slice(1)) await deployFolder(upgraded, build(files));
    for (const id of [...upgraded.versions.keys()]) upgraded.versions.delete(id);
    await rollbackBucket(upgraded, { to: 1 });
    expectServes(upgraded, sites[0]);

    const expired = new MemoryBucket('releases-expired', true);
    for (const files of sites.slice(0, 2)) await deployFolder(expired, build(files));
    const first = [...expired.versions.values()].find((v) => v.key === 'index.html')!;
    expired.versions.delete(first.versionId!);
    expired.writes.length = 0;
    await expect(rollbackBucket(expired, { to: 1 })).rejects.toThrow(
      /1 of its files are gone from the bucket \(index\.html\), 1 of them as versions the bucket's lifecycle rule expired\. Nothing was changed/,
    );
    expect(expired.writes.filter((w) => !w.key.endsWith('lease.json'))).toEqual([]);
  });

  it(`more than ${VERSIONS_CHECKED_BY_HEAD} pages to restore: one listing of the versions checks them all, and finds one expired`, async () => {
    const pages = Array.from({ length: VERSIONS_CHECKED_BY_HEAD + 5 }, (_, i) => `page-${i}/index.html`);
    const sites = [1, 2].map((v) => hashedSite(v, { pages, assets: ['app'], salt: `s${v}`, logo: 'logo' }));
    const fresh = async () => {
      const bucket = new MemoryBucket('releases-many-pages', true);
      for (const files of sites) await deployFolder(bucket, build(files));
      return bucket;
    };
    const bucket = await fresh();
    const back = await rollbackBucket(bucket, { to: 1 });
    expect(back.requests).toMatchObject({ ListObjectVersions: 1, CopyObject: pages.length + 2 });
    expect(back.requests.HeadObject).toBeUndefined();
    expectServes(bucket, sites[0]);

    const expired = await fresh();
    const page = [...expired.versions.values()].find((v) => v.key === 'page-7/index.html')!;
    expired.versions.delete(page.versionId!);
    await expect(rollbackBucket(expired, { to: 1 })).rejects.toThrow(
      /1 of its files are gone from the bucket \(page-7\/index\.html\)/,
    );
  });

  it('a deploy that changes nothing records no release', async () => {
    const bucket = new MemoryBucket('releases-noop');
    const dir = build(hashedSite(1, { pages: [], assets: ['app'], salt: 'x', logo: 'l' }));
    const first = await deployFolder(bucket, dir);
    const again = await deployFolder(bucket, dir);
    expect([first.summary.release, again.summary.release]).toEqual([1, undefined]);
  });

  it('refuses a rollback whose assets were pruned, listing them, and changes nothing', async () => {
    const bucket = new MemoryBucket('releases-refuse');
    const sites = [1, 2].map((v) => hashedSite(v, { pages: [], assets: ['app'], salt: `s${v}`, logo: 'l' }));
    for (const files of sites) await deployFolder(bucket, build(files));
    const asset1 = Object.keys(sites[0]).find((k) => k.startsWith('assets/'))!;
    bucket.objects.delete(asset1);
    bucket.writes.length = 0;
    await expect(rollbackBucket(bucket)).rejects.toThrow(
      new RegExp(
        `Cannot roll back s3://releases-refuse/ to release 1: 1 of its files are gone .*${asset1.replace('.', '\\.')}.*Nothing was changed`,
      ),
    );
    expect(bucket.writes.filter((w) => !w.key.endsWith('lease.json'))).toEqual([]);
  });

  it('a stop at any write of a rollback leaves every page whole, and the same rollback run again finishes it', async () => {
    const sites = [1, 2, 3].map((v) =>
      hashedSite(v, {
        pages: ['about/index.html', v === 3 ? 'blog/index.html' : 'docs/index.html'],
        assets: ['app', 'map'],
        salt: `s${v}`,
        logo: `logo ${v}`,
      }),
    );
    const fresh = async () => {
      const bucket = new MemoryBucket('releases-stop');
      for (const files of sites) await deployFolder(bucket, build(files));
      bucket.writes.length = 0;
      return bucket;
    };
    const probe = await fresh();
    await rollbackBucket(probe, { to: 1 });
    const writes = probe.writes.filter((w) => !w.key.endsWith('lease.json')).length;
    expect(writes).toBeGreaterThan(5);
    for (let at = 0; at < writes; at++) {
      const bucket = await fresh();
      const stop = new AbortController();
      let seen = 0;
      bucket.beforeWrite = (w) => {
        if (!w.key.endsWith('lease.json') && seen++ === at) stop.abort('SIGTERM');
      };
      const stopped = await rollbackBucket(bucket, { to: 1, signal: stop.signal }).catch((error: Error) => error);
      if (stopped instanceof Error) {
        expect(stopped).toBeInstanceOf(Interrupted);
        expect(stopped.message).toMatch(/Run the same rollback again to finish it/);
      }
      expect(pagesReferenceOnlyExistingAssets(bucket)).toBe(true);
      bucket.beforeWrite = () => undefined;
      await rollbackBucket(bucket, { to: 1 }).catch((error: Error) => {
        // Stopped after the release was recorded: release 1 is live already.
        expect(error.message).toMatch(/serves already/);
      });
      expectServes(bucket, sites[0]);
    }
  });

  it("lists a bucket with a large live release in ranges split at that release's files", async () => {
    const bucket = new MemoryBucket('rollback-split');
    const files = largeSite('<h1>v1</h1>');
    const dir = build(files);
    await deployFolder(bucket, dir);
    writeFileSync(join(dir, 'index.html'), '<h1>v2</h1>');
    await deployFolder(bucket, dir);
    bucket.pagesAsked.length = 0;
    expect(await rollbackBucket(bucket)).toMatchObject({ to: 1, restored: 1 });
    expect(bucket.siteFiles()['index.html']).toBe('<h1>v1</h1>');
    expect(bucket.pagesAsked).toEqual([{}, { startAfter: expect.any(String) }, { startAfter: expect.any(String) }]);
  });
});

function promoteBetween(staging: MemoryBucket, prod: MemoryBucket, extra: Partial<PromoteOptions> = {}) {
  return promoteWith(
    { source: (signal) => staging.store(signal), target: (signal) => prod.store(signal) },
    { fromBucket: staging.name, bucket: prod.name, leaseOwner: 'orchestration-test', log: () => undefined, ...extra },
  );
}

describe('promote (in memory)', () => {
  const choice = { pages: ['about/index.html'], assets: ['app', 'map'], logo: 'logo' };

  it('ships a release of staging to prod with copies only (assets before entry files), and again changes nothing', async () => {
    const staging = new MemoryBucket('promote-staging');
    const prod = new MemoryBucket('promote-prod');
    const sites = [1, 2].map((v) => hashedSite(v, { ...choice, salt: `s${v}` }));
    for (const files of sites) await deployFolder(staging, build(files));

    const first = await promoteBetween(staging, prod);
    expect(first).toMatchObject({ promoted: 2, release: 1, copied: 6, deleted: 0 });
    expectServes(prod, sites[1]);
    const kinds = siteWrites(prod.writes).map((w) => `${w.op} ${isEntryFile(w.key) ? 'entry' : 'asset'}`);
    expect(kinds).toEqual([...Array(3).fill('copy asset'), ...Array(3).fill('copy entry')]);

    prod.writes.length = 0;
    expect(await promoteBetween(staging, prod)).toMatchObject({ copied: 0, deleted: 0, unchanged: 6 });
    expect(siteWrites(prod.writes)).toEqual([]);

    // An older kept release of staging: its pages come from staging's snapshots; prod keeps its own history.
    const older = await promoteBetween(staging, prod, { release: 1 });
    expect(older).toMatchObject({ promoted: 1, release: 3 });
    expectServes(prod, sites[0]);
    await rollbackBucket(prod, { to: 1 });
    expectServes(prod, sites[1]);
  });

  it('lists a prod that holds a large release in ranges split at its files', async () => {
    const staging = new MemoryBucket('promote-split-staging');
    const prod = new MemoryBucket('promote-split-prod');
    const files = largeSite('<h1>large</h1>');
    await deployFolder(staging, build(files));
    expect(await promoteBetween(staging, prod)).toMatchObject({ copied: 2501 });
    prod.pagesAsked.length = 0;
    staging.pagesAsked.length = 0;
    expect(await promoteBetween(staging, prod)).toMatchObject({ copied: 0, unchanged: 2501 });
    // Staging too, split at the promoted release's files.
    for (const bucket of [prod, staging])
      expect(bucket.pagesAsked).toEqual([{}, { startAfter: expect.any(String) }, { startAfter: expect.any(String) }]);
  });

  it("from a versioned staging: an older release's pages come from their versions; a version gone there refuses it", async () => {
    const staging = new MemoryBucket('promote-versioned-staging', true);
    const prod = new MemoryBucket('promote-versioned-prod', true);
    const sites = [1, 2].map((v) => hashedSite(v, { ...choice, salt: `s${v}` }));
    for (const files of sites) await deployFolder(staging, build(files));
    expect([...staging.objects.keys()].filter((k) => k.includes('releases/files/'))).toEqual([]);
    expect(await promoteBetween(staging, prod, { release: 1 })).toMatchObject({ promoted: 1, release: 1 });
    expectServes(prod, sites[0]);

    const page = [...staging.versions.values()].find((v) => v.key === 'about/index.html')!;
    staging.versions.delete(page.versionId!);
    await expect(promoteBetween(staging, new MemoryBucket('promote-versioned-prod-2'), { release: 1 })).rejects.toThrow(
      '1 of its files are gone (about/index.html)',
    );
  });

  it('refuses what it cannot do before any change', async () => {
    const staging = new MemoryBucket('promote-refuse-staging');
    const prod = new MemoryBucket('promote-refuse-prod');
    await expect(promoteBetween(staging, prod)).rejects.toThrow(
      /No releases are recorded in s3:\/\/promote-refuse-staging\//,
    );
    await deployFolder(staging, build(hashedSite(1, { ...choice, salt: 'x' })));
    await expect(promoteBetween(staging, prod, { release: 7 })).rejects.toThrow(
      /Release 7 of .* is not kept there \(kept: 1\)/,
    );
    await expect(promoteBetween(staging, staging)).rejects.toThrow(/is both the source and the target/);
    const asset = [...staging.objects.keys()].find((k) => k.startsWith('assets/'))!;
    staging.objects.delete(asset);
    await expect(promoteBetween(staging, prod)).rejects.toThrow(`1 of its files are gone (${asset})`);
    expect(prod.writes).toEqual([]);
  });

  it('a target it cannot read or list fails with that error, changes nothing and leaves no failure unhandled', async () => {
    const staging = new MemoryBucket('promote-unreadable-staging');
    const prod = new MemoryBucket('promote-unreadable-prod');
    await deployFolder(staging, build(hashedSite(1, { ...choice, salt: 'x', logo: 'logo' })));
    for (const v of [2, 3]) await deployFolder(prod, build(hashedSite(v, { ...choice, salt: `s${v}`, logo: 'logo' })));
    prod.writes.length = 0;
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown) => unhandled.push(reason);
    process.on('unhandledRejection', onUnhandled);
    try {
      // The history's read fails first, then the listing: both under the lease, read together.
      prod.failing = (operation) =>
        operation === 'GetObject'
          ? new Error('AccessDenied reading the history')
          : operation === 'ListObjectsV2'
            ? new Error('AccessDenied listing')
            : undefined;
      await expect(promoteBetween(staging, prod)).rejects.toThrow('AccessDenied reading the history');
      prod.failing = (operation) => (operation === 'ListObjectsV2' ? new Error('AccessDenied listing') : undefined);
      await expect(promoteBetween(staging, prod)).rejects.toThrow('AccessDenied listing');
      await expect(rollbackBucket(prod, { to: 1 })).rejects.toThrow('AccessDenied listing');
      await new Promise((resolve) => setImmediate(resolve));
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
    expect(unhandled).toEqual([]);
    expect(siteWrites(prod.writes)).toEqual([]);
  });

  it('a stop at any write leaves prod whole, and the same promote run again finishes it', async () => {
    const sites = [1, 2].map((v) => hashedSite(v, { ...choice, salt: `s${v}`, logo: `logo ${v}` }));
    const fresh = async () => {
      const staging = new MemoryBucket('promote-stop-staging');
      const prod = new MemoryBucket('promote-stop-prod');
      await deployFolder(staging, build(sites[1]));
      await deployFolder(prod, build(sites[0]));
      prod.writes.length = 0;
      return { staging, prod };
    };
    const probe = await fresh();
    await promoteBetween(probe.staging, probe.prod);
    const writes = probe.prod.writes.filter((w) => !w.key.endsWith('lease.json')).length;
    for (let at = 0; at < writes; at++) {
      const { staging, prod } = await fresh();
      const stop = new AbortController();
      let seen = 0;
      prod.beforeWrite = (w) => {
        if (!w.key.endsWith('lease.json') && seen++ === at) stop.abort('SIGTERM');
      };
      await promoteBetween(staging, prod, { signal: stop.signal }).catch((error: Error) => {
        expect(error).toBeInstanceOf(Interrupted);
      });
      expect(pagesReferenceOnlyExistingAssets(prod)).toBe(true);
      prod.beforeWrite = () => undefined;
      await promoteBetween(staging, prod);
      expectServes(prod, sites[1]);
    }
  });
});
