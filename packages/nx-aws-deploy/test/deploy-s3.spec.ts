import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { createServer } from 'node:net';
import { readFileSync, rmSync, symlinkSync, writeFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { S3Client } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { startLocalAws, type LocalAwsHarness } from 'local-aws';
import {
  expectBucketMatches as expectBucketContents,
  listKeys as listBucketKeys,
  newBucket as createBucket,
} from './bucket';
import { deployCommand, SITE, siteWorkspace } from './site';
import type { TestWorkspace } from './workspace';
import { tempDir } from 'test-support';

let local: LocalAwsHarness;

beforeAll(async () => {
  local = await startLocalAws();
});
afterAll(() => local.stop());

const newBucket = () => createBucket(local);
const listKeys = (bucket: string) => listBucketKeys(local, bucket);
const expectBucketMatches = (bucket: string, files: Record<string, string | Buffer>, prefix = '') =>
  expectBucketContents(local, bucket, files, prefix);

/** `nx run site:deploy`: the executor, with its options from project.json. */
async function deployThroughNx(ws: TestWorkspace, ...args: string[]) {
  const result = await ws.nx(['run', 'site:deploy', ...args], local.env);
  return { ...result, output: result.stdout + result.stderr };
}

/** The same deploy as the `nx-aws-deploy deploy` command (see deployCommand), for what is not about Nx. */
const deploy = (ws: TestWorkspace, ...args: string[]) => deployCommand(ws, local.env, ...args);

async function head(bucket: string, key: string) {
  return JSON.parse((await local.cli(['s3api', 'head-object', '--bucket', bucket, '--key', key])).stdout);
}

/** Writes of site objects since the last reset: PUTs, parts, copies; the deploy's own bookkeeping (state, lease) left out. */
async function sitePuts(): Promise<number> {
  return (await local.requestLog()).filter(
    (r) => /^s3\.(PutObject|UploadPart|CopyObject)$/.test(r.operation) && !r.path.includes('/.nx-aws-deploy/'),
  ).length;
}

/** PUTs of the deploy state object since the last reset. */
async function statePuts(): Promise<number> {
  return (await local.requestLog()).filter(
    (r) => r.operation === 's3.PutObject' && r.path.endsWith('/.nx-aws-deploy/state.json'),
  ).length;
}

describe('deploy-s3', () => {
  it('through nx run: ships a first deploy byte-exact with headers per file type, and never the .env', async () => {
    const bucket = await newBucket();
    const ws = siteWorkspace(
      { bucket, sourceDir: 'dist/site' },
      { ...SITE, '.env': 'API_SECRET=sentinel-do-not-ship', '.git/config': 'x' },
    );
    const result = await deployThroughNx(ws);
    expect(result.code).toBe(0);
    await expectBucketMatches(bucket, SITE);
    expect(await head(bucket, 'index.html')).toMatchObject({
      ContentType: 'text/html; charset=utf-8',
      CacheControl: 'no-cache',
    });
    expect(await head(bucket, 'assets/index-B-XZhOr9.js')).toMatchObject({
      ContentType: 'text/javascript; charset=utf-8',
      CacheControl: 'public, max-age=31536000, immutable',
    });
    expect(await head(bucket, 'assets/index-Cbk1BLrK.css')).toMatchObject({ ContentType: 'text/css; charset=utf-8' });
    expect(await head(bucket, 'site.webmanifest')).toMatchObject({
      ContentType: 'application/manifest+json; charset=utf-8',
      CacheControl: 'no-cache',
    });
    expect(await head(bucket, 'favicon.ico')).toMatchObject({
      ContentType: 'image/vnd.microsoft.icon',
      CacheControl: 'public, max-age=300',
    });
    expect(result.output).not.toContain('sentinel-do-not-ship');
    expect(result.output).toMatch(/uploaded\s+10/);
    const manifest = JSON.parse(readFileSync(join(ws.root, 'dist/deploy-manifests/site.json'), 'utf8'));
    expect(manifest).toMatchObject({ bucket, prefix: '', project: 'site', deploy: 1 });
    expect(manifest.changes).toHaveLength(10);
    expect(manifest.changes.every((c: { action: string }) => c.action === 'created')).toBe(true);
  });

  it('makes zero PUTs for a rebuild with the same bytes, and one PUT for one changed file', async () => {
    const bucket = await newBucket();
    const ws = siteWorkspace({ bucket, sourceDir: 'dist/site' });
    expect((await deploy(ws)).code).toBe(0);
    await local.resetRequests();
    ws.touchAll('dist/site');
    const noop = await deploy(ws);
    expect(noop.code).toBe(0);
    const noopRequests = await local.requests();
    expect(await sitePuts()).toBe(0);
    expect(await statePuts()).toBe(0);
    expect(noopRequests['s3.HeadObject'] ?? 0).toBe(0);
    expect(noop.output).toMatch(/unchanged\s+10/);

    ws.write({ 'dist/site/about/index.html': '<h1>About us</h1>' });
    await local.resetRequests();
    expect((await deploy(ws)).code).toBe(0);
    expect(await sitePuts()).toBe(1);
    expect(await statePuts()).toBe(0);
    await expectBucketMatches(bucket, { ...SITE, 'about/index.html': '<h1>About us</h1>' });
  });

  it('uploads a 20 MB file in parts once and recognises it by its multipart ETag afterwards', async () => {
    const bucket = await newBucket();
    const big = randomBytes(20 * 1024 * 1024);
    const ws = siteWorkspace({ bucket, sourceDir: 'dist/site' }, { ...SITE, 'video/intro.mp4': big });
    await local.resetRequests();
    expect((await deploy(ws)).code).toBe(0);
    expect((await local.requests())['s3.UploadPart']).toBe(3);
    expect((await head(bucket, 'video/intro.mp4')).ETag).toMatch(/-3"$/);
    await local.resetRequests();
    ws.touchAll('dist/site');
    expect((await deploy(ws)).code).toBe(0);
    expect(await sitePuts()).toBe(0);
    await expectBucketMatches(bucket, { ...SITE, 'video/intro.mp4': big });
  });

  it('recognises files other tools uploaded in parts: a 1-part multipart (aws CLI, exactly 8 MiB) and 6 MiB parts', async () => {
    const bucket = await newBucket();
    const exact = randomBytes(8 * 1024 * 1024);
    const custom = randomBytes(20 * 1024 * 1024);
    const files = { ...SITE, 'media/exact.bin': exact, 'media/custom.bin': custom };
    // pruneOlderThanDeploys: the state is rewritten every deploy, so the third deploy shows what was recorded.
    const ws = siteWorkspace({ bucket, sourceDir: 'dist/site', pruneOlderThanDeploys: 1 }, files);
    expect((await deploy(ws)).code).toBe(0);
    await local.cli(['s3', 'cp', join(ws.root, 'dist/site/media/exact.bin'), `s3://${bucket}/media/exact.bin`]);
    const s3 = new S3Client({});
    await new Upload({
      client: s3,
      params: { Bucket: bucket, Key: 'media/custom.bin', Body: custom },
      partSize: 6 * 1024 * 1024,
    }).done();
    s3.destroy();
    expect((await head(bucket, 'media/exact.bin')).ETag).toMatch(/-1"$/);
    expect((await head(bucket, 'media/custom.bin')).ETag).toMatch(/-4"$/);
    await local.resetRequests();
    const again = await deploy(ws);
    expect(again.code).toBe(0);
    // No byte sent again: only the headers the other tools did not set are put right, in place.
    const sent = (await local.requestLog()).filter((r) => /PutObject|UploadPart|CopyObject/.test(r.operation));
    expect(
      sent
        .filter((r) => !r.path.includes('.nx-aws-deploy/'))
        .map((r) => `${r.operation} ${r.path}`)
        .sort(),
    ).toEqual([`s3.CopyObject /${bucket}/media/custom.bin`, `s3.CopyObject /${bucket}/media/exact.bin`]);
    await expectBucketMatches(bucket, files);
    // The copies' new (plain MD5) ETags were recorded: the next deploy trusts them without a HEAD.
    await local.resetRequests();
    expect((await deploy(ws)).code).toBe(0);
    const third = await local.requests();
    expect([await sitePuts(), third['s3.HeadObject']]).toEqual([0, undefined]);
  });

  it('uploads assets first, entry files (HTML, manifest) after them, and prunes last', async () => {
    const bucket = await newBucket();
    const ws = siteWorkspace({ bucket, sourceDir: 'dist/site' });
    writeFileSync(join(ws.root, 'stale.js'), 'old');
    await local.cli(['s3', 'cp', join(ws.root, 'stale.js'), `s3://${bucket}/assets/stale-Zz99Yy88.js`]);
    await local.resetRequests();
    expect((await deploy(ws)).code).toBe(0);
    const log = (await local.requestLog())
      .filter((r) => r.operation === 's3.PutObject' || r.operation === 's3.DeleteObjects')
      .filter((r) => !r.path.includes('.nx-aws-deploy'));
    const order = log.map((r) =>
      r.operation === 's3.DeleteObjects' ? 'delete' : /\.(html|webmanifest)$/.test(r.path) ? 'entry' : 'asset',
    );
    const firstEntry = order.indexOf('entry');
    expect(order.slice(0, firstEntry).every((o) => o === 'asset')).toBe(true);
    expect(order.slice(firstEntry, -1).every((o) => o === 'entry')).toBe(true);
    expect(order[order.length - 1]).toBe('delete');
    expect(await listKeys(bucket)).not.toContain('assets/stale-Zz99Yy88.js');
  });

  it('updates headers in place with CopyObject when only the header rules changed', async () => {
    const bucket = await newBucket();
    const ws = siteWorkspace({ bucket, sourceDir: 'dist/site' });
    expect((await deploy(ws)).code).toBe(0);
    await local.resetRequests();
    const rules = [
      { glob: '*.txt', headers: { 'Cache-Control': 'public, max-age=60', 'Content-Disposition': 'inline' } },
    ];
    const project = JSON.parse(readFileSync(join(ws.root, 'site/project.json'), 'utf8'));
    project.targets.deploy.options.headers = rules;
    ws.write({ 'site/project.json': JSON.stringify(project) });
    // Header rules are an option of the executor.
    const result = await deployThroughNx(ws);
    expect(result.code).toBe(0);
    const requests = await local.requests();
    // The two copies, and before them the two snapshots that keep release 1's headers restorable.
    expect(requests['s3.CopyObject']).toBe(4);
    expect(await statePuts()).toBe(1); // the deploy state, whose header records changed
    expect(await sitePuts()).toBe(2); // the two copies
    expect(await head(bucket, 'robots.txt')).toMatchObject({
      CacheControl: 'public, max-age=60',
      ContentDisposition: 'inline',
      ContentType: 'text/plain; charset=utf-8',
    });
    await local.resetRequests();
    expect((await deployThroughNx(ws)).code).toBe(0);
    expect(await sitePuts()).toBe(0);
  });

  it('changes nothing on --dry-run and prints the plan', async () => {
    const bucket = await newBucket();
    const ws = siteWorkspace({ bucket, sourceDir: 'dist/site' });
    await local.resetRequests();
    const result = await deploy(ws, '--dry-run');
    expect(result.code).toBe(0);
    expect(result.output).toMatch(/Dry run: deploying .* to s3:\/\/site-\d+-\d+\/ would:/);
    expect(result.output).toContain('upload   index.html (new');
    expect(await listKeys(bucket)).toEqual([]);
    expect(existsSync(join(ws.root, 'dist/deploy-manifests/site.json'))).toBe(false);
  });

  it('retries an upload whose connection the server closed, and the bucket ends byte-exact', async () => {
    const bucket = await newBucket();
    const ws = siteWorkspace({ bucket, sourceDir: 'dist/site' });
    await local.injectFault({ operation: 's3.PutObject', count: 2, action: 'reset', pathIncludes: bucket });
    await local.injectFault({
      operation: 's3.PutObject',
      count: 1,
      action: 'error',
      status: 503,
      code: 'SlowDown',
      pathIncludes: bucket,
    });
    const result = await deploy(ws);
    expect(result.code).toBe(0);
    await expectBucketMatches(bucket, SITE);
  });

  it("keeps the previous deploy's assets with pruneOlderThanDeploys: 1", async () => {
    const bucket = await newBucket();
    const ws = siteWorkspace({ bucket, sourceDir: 'dist/site', pruneOlderThanDeploys: 1, keepReleases: 1 });
    expect((await deploy(ws)).code).toBe(0);
    rmSync(join(ws.root, 'dist/site/assets/pricing-OKxo0MUH.js'));
    ws.write({ 'dist/site/assets/pricing-NEWhash1.js': 'export const p = 2' });
    const second = await deploy(ws);
    expect(second.output).toMatch(/kept for rollback\s+1/);
    expect(await listKeys(bucket)).toContain('assets/pricing-OKxo0MUH.js');
    ws.write({ 'dist/site/robots.txt': 'User-agent: *\nDisallow: /x\n' });
    expect((await deploy(ws)).code).toBe(0);
    expect(await listKeys(bucket)).not.toContain('assets/pricing-OKxo0MUH.js');
  });

  it('leaves dotfiles out unless an include glob names them', async () => {
    const bucket = await newBucket();
    const files = {
      ...SITE,
      '.env': 'SECRET=1',
      '.well-known/security.txt': 'Contact: mailto:security@example.com',
      'assets/.cache/x.js': 'cache',
    };
    const ws = siteWorkspace({ bucket, sourceDir: 'dist/site', include: ['**', '.well-known/**'] }, files);
    expect((await deploy(ws)).code).toBe(0);
    await expectBucketMatches(bucket, { ...SITE, '.well-known/security.txt': files['.well-known/security.txt'] });
  });

  it('skips FIFOs and sockets with one warning naming them, and deploys the rest', async () => {
    const bucket = await newBucket();
    const ws = siteWorkspace({ bucket, sourceDir: 'dist/site' });
    execFileSync('mkfifo', [join(ws.root, 'dist/site/events.pipe')]);
    const socket = createServer().listen(join(ws.root, 'dist/site/app.sock'));
    await once(socket, 'listening');
    try {
      const result = await deploy(ws);
      expect(result.code).toBe(0);
      expect(result.output).toMatch(
        /^Warning: skipped 2 entries in \S+\/dist\/site that are not a regular file \(FIFO, socket or device\): app\.sock, events\.pipe\.$/m,
      );
    } finally {
      socket.close();
    }
    await expectBucketMatches(bucket, SITE);
  });

  it('a root deploy leaves deploys below prefixes of the same bucket alone, and says so', async () => {
    const bucket = await newBucket();
    for (const prefix of ['app1', 'app10']) {
      const ws = siteWorkspace({ bucket, sourceDir: 'dist/site', prefix });
      expect((await deploy(ws)).code).toBe(0);
    }
    const prefixed = (await listKeys(bucket)).filter((k) => k.startsWith('app1'));
    const root = await deploy(siteWorkspace({ bucket, sourceDir: 'dist/site' }));
    expect(root.code).toBe(0);
    expect(root.output).toContain(`left alone: ${prefixed.length} objects of other deploys below app1/, app10/`);
    expect((await listKeys(bucket)).filter((k) => k.startsWith('app1'))).toEqual(prefixed);
  });

  it('lists in pages of 1 000 and deletes in batches of 1 000', async () => {
    const bucket = await newBucket();
    const many: Record<string, string> = { 'index.html': '<h1>many</h1>' };
    // Just over a page and a batch: the second page and the second batch are what is under test.
    for (let i = 0; i < 1100; i++) many[`assets/a${i}.js`] = `export default ${i};`;
    // One release kept: no snapshots of the deleted files, only the batches under test.
    const ws = siteWorkspace({ bucket, sourceDir: 'dist/site', maxDeletes: 5000, keepReleases: 1 }, many);
    expect((await deploy(ws)).code).toBe(0);
    rmSync(join(ws.root, 'dist/site/assets'), { recursive: true });
    await local.resetRequests();
    const pruned = await deploy(ws);
    expect(pruned.code).toBe(0);
    expect(pruned.output).toMatch(/deleted\s+1100/);
    const requests = await local.requests();
    // Two batches of the site, and the record of release 1, no longer kept.
    expect([requests['s3.ListObjectsV2'], requests['s3.DeleteObjects']]).toEqual([2, 2 + 1]);
    expect(await listKeys(bucket)).toEqual([
      '.nx-aws-deploy/lease.json',
      '.nx-aws-deploy/releases/2.json',
      '.nx-aws-deploy/releases/index.json',
      '.nx-aws-deploy/state.json',
      'index.html',
    ]);
  }, 120_000);

  it('through nx run: defaults sourceDir to the build target output, deploys below a prefix and prints a JSON summary last', async () => {
    const bucket = await newBucket();
    const ws = siteWorkspace({ bucket, prefix: '/app/' });
    const result = await deployThroughNx(ws, '--json');
    expect(result.code).toBe(0);
    await expectBucketMatches(bucket, SITE, 'app/');
    const lastJson = result.stdout
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .pop()!;
    expect(JSON.parse(lastJson)).toMatchObject({
      bucket,
      prefix: 'app/',
      uploaded: { files: 10 },
      deleted: { files: 0 },
    });
  });
});

describe('deploy-s3 refuses bad input with one clear line and leaves the bucket as it was', () => {
  let bucket: string;
  let keysBefore: string[];

  beforeAll(async () => {
    bucket = await newBucket();
    const ws = siteWorkspace({ bucket, sourceDir: 'dist/site' });
    expect((await deploy(ws)).code).toBe(0);
    keysBefore = await listKeys(bucket);
  });

  afterEach(async () => {
    expect(await listKeys(bucket)).toEqual(keysBefore);
  });

  it.each([
    [
      'an empty sourceDir',
      { 'keep/.gitkeep': '' },
      {},
      /sourceDir .*dist\/site has no files to deploy; the bucket was left as it is/,
    ],
    [
      'a sourceDir without index.html',
      { 'a.js': 'x' },
      {},
      /has no index\.html; refusing to deploy a site without one\. Set "allowNoIndex"/,
    ],
    [
      'a missing sourceDir',
      SITE,
      { sourceDir: 'dist/nothing-here' },
      /sourceDir .*dist\/nothing-here does not exist: build the project first/,
    ],
    ['a sourceDir that is a file', SITE, { sourceDir: 'dist/site/index.html' }, /is not a folder/],
    [
      'more deletes than maxDeletes',
      { 'index.html': 'only' },
      { maxDeletes: 3 },
      // Nine files go, but the three content-hashed assets stay for a rollback to the first release.
      /would delete 6 objects under s3:\/\/site-\d+-\d+\/, more than maxDeletes \(3\); nothing was changed/,
    ],
    [
      'an invalid bucket name',
      SITE,
      { bucket: 'My_Site' },
      /"My_Site" is not a bucket name S3 accepts \(3-63 lower-case letters, digits, dots and hyphens, starting and ending with a letter or digit\): fix the "bucket" option\./,
    ],
    [
      'the wrong region for the bucket',
      SITE,
      { region: 'eu-west-1' },
      /Bucket "site-\d+-\d+" is in another region \(us-east-1\) \(s3:GetObject on s3:\/\/site-\d+-\d+\/\.nx-aws-deploy\/lease\.json\)\. Set the "region" option to us-east-1 or AWS_REGION\./,
    ],
    [
      'a malformed headers rule',
      SITE,
      { headers: [{ glob: '**', headers: { 'X-Frame-Options': 'DENY' } }] },
      /headers\[0\] \(glob "\*\*"\) sets "X-Frame-Options", which S3 cannot store/,
    ],
  ])('%s', async (_, files, options, message) => {
    const ws = siteWorkspace({ bucket, sourceDir: 'dist/site', ...options }, files as Record<string, string>);
    if (!Object.keys(files).some((f) => !f.includes('.gitkeep')))
      rmSync(join(ws.root, 'dist/site/keep'), { recursive: true });
    // The executor's options and messages for those the command has no flag for, and for one it has.
    const throughNx = 'headers' in options || 'bucket' in options;
    const result = await (throughNx ? deployThroughNx(ws) : deploy(ws));
    expect(result.code).not.toBe(0);
    expect(result.output).toMatch(message);
  });

  it('a symlink that points outside the workspace', async () => {
    const ws = siteWorkspace({ bucket, sourceDir: 'dist/site' });
    const outside = join(tempDir('outside-'), 'secret.txt');
    writeFileSync(outside, 'secret');
    symlinkSync(outside, join(ws.root, 'dist/site/leak.txt'));
    const result = await deploy(ws);
    expect(result.code).not.toBe(0);
    expect(result.output).toMatch(
      /leak\.txt is a symlink to .*secret\.txt, outside the workspace; refusing to upload it/,
    );
  });

  it('a folder symlink that leads back to a folder above it (a cycle)', async () => {
    const ws = siteWorkspace({ bucket, sourceDir: 'dist/site' });
    symlinkSync('..', join(ws.root, 'dist/site/about/up'));
    const result = await deploy(ws);
    expect(result.code).not.toBe(0);
    expect(result.output).toMatch(
      /about\/up is a symlink to .*dist\/site, a folder that contains it: following it would never end\. Remove it or exclude it with the "exclude" option; nothing was uploaded\./,
    );
  });

  it('a sourceDir that is a symlink out of the workspace', async () => {
    const ws = siteWorkspace({ bucket, sourceDir: 'dist/linked' });
    const outside = tempDir('outside-site-');
    writeFileSync(join(outside, 'index.html'), '<h1>not ours</h1>');
    symlinkSync(outside, join(ws.root, 'dist/linked'));
    const result = await deploy(ws);
    expect(result.code).not.toBe(0);
    expect(result.output).toMatch(
      /sourceDir .*dist\/linked resolves to .*outside-site-\w+, outside the workspace .*; refusing to deploy it\. Point "sourceDir" inside the workspace\./,
    );
  });

  it('a file whose key would be longer than S3 allows', async () => {
    const deep = Array.from({ length: 5 }, (_, i) => `${i}${'d'.repeat(220)}`).join('/');
    const result = await deploy(
      siteWorkspace({ bucket, sourceDir: 'dist/site' }, { ...SITE, [`${deep}/page.html`]: 'deep' }),
    );
    expect(result.code).not.toBe(0);
    expect(result.output).toMatch(
      /page\.html would be the key "0ddd.*…" of 1119 bytes; S3 allows 1024\. Shorten its path \(or the prefix\); nothing was uploaded\./,
    );
  });

  it('a file name that is not UTF-8', async () => {
    const ws = siteWorkspace({ bucket, sourceDir: 'dist/site' });
    writeFileSync(
      Buffer.concat([Buffer.from(join(ws.root, 'dist/site/assets/caf')), Buffer.from([0xe9]), Buffer.from('.js')]),
      'latin-1 name',
    );
    const result = await deploy(ws);
    expect(result.code).not.toBe(0);
    expect(result.output).toContain('File name "assets/caf\\xe9.js" in');
    expect(result.output).toMatch(/is not valid UTF-8, and S3 keys must be: rename the file/);
  });

  it('access denied by the bucket', async () => {
    await local.injectFault({
      operation: 's3.ListObjectsV2',
      count: 1,
      action: 'error',
      status: 403,
      code: 'AccessDenied',
      pathIncludes: bucket,
    });
    const result = await deploy(siteWorkspace({ bucket, sourceDir: 'dist/site' }));
    expect(result.code).not.toBe(0);
    expect(result.output).toContain(
      `Access denied: s3:ListObjectsV2 on s3://${bucket}/. Allow s3:ListBucket on arn:aws:s3:::${bucket} for the role this runs as (AWS_PROFILE, or the CodeBuild project's or the Lambda function's role); in a stack of \`nx g nx-aws-deploy:pipeline\`, the ListSiteBucket statement of its role grants it.`,
    );
  });

  it('an unknown bucket', async () => {
    const ws = siteWorkspace({ bucket: 'no-such-bucket-here', sourceDir: 'dist/site' });
    const result = await deploy(ws);
    expect(result.code).not.toBe(0);
    expect(result.output).toMatch(
      /Bucket "no-such-bucket-here" does not exist \(s3:GetObject on s3:\/\/no-such-bucket-here\/\.nx-aws-deploy\/lease\.json\)\. Create it, or fix the "bucket" option\./,
    );
  });
});
