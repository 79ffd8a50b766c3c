import { spawn } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { CloudFrontClient, CreateDistributionCommand } from '@aws-sdk/client-cloudfront';
import { startFaultProxy, type FaultProxy, type RequestInfo } from 'fault-proxy';
import { edgeGet, s3DistributionConfig, startLocalAws, type LocalAwsHarness } from 'local-aws';
import { isContentHashed } from '../src/lib/deploy/headers';
import {
  download,
  expectPagesReferenceOnlyExistingAssets,
  listKeys,
  md5,
  newBucket,
  newVersionedBucket,
} from './bucket';
import { CLI, deployCommand, siteVersion } from './site';
import { createWorkspace, outsideEnv, type TestWorkspace } from './workspace';
import { SOAK } from 'test-support';

/**
 * Releases end to end on the local AWS: deploys by the installed command, releases, rollbacks and promotes
 * through `nx run` and the command, checked with the aws CLI and through the local CloudFront edge.
 */
let local: LocalAwsHarness;
let cloudfront: CloudFrontClient;
let proxy: FaultProxy;
let onRequest: (info: RequestInfo) => void = () => undefined;

beforeAll(async () => {
  local = await startLocalAws();
  cloudfront = new CloudFrontClient({});
  // A little latency per request, so that a rollback is still going when the chosen request goes out.
  proxy = await startFaultProxy({ target: local.aws.url, rate: 0, latencyMs: 15, onRequest: (i) => onRequest(i) });
});
afterAll(async () => {
  cloudfront.destroy();
  await proxy.stop();
  await local.stop();
});

/** Version `v`: new content-hashed assets, pages naming them, a logo changed in place; v3 adds a page. */
const version = (v: number) =>
  siteVersion(v, {
    'img/logo.svg': Buffer.from(`<svg id="v${v}"/>`),
    ...(v === 3 ? { 'new/index.html': Buffer.from('<!doctype html><title>only in v3</title>') } : {}),
  });

function siteProject(bucket: string, distributionId?: string): TestWorkspace {
  const where = { bucket, ...(distributionId ? { distributionId } : {}) };
  return createWorkspace({
    site: {
      targets: {
        deploy: { executor: 'nx-aws-deploy:deploy-s3', options: { ...where, sourceDir: 'dist/site' } },
        rollback: { executor: 'nx-aws-deploy:rollback', options: where },
        releases: { executor: 'nx-aws-deploy:releases', options: { bucket } },
      },
    },
  });
}

async function nx(ws: TestWorkspace, ...args: string[]) {
  const result = await ws.nx(['run', ...args], local.env);
  return { ...result, output: result.stdout + result.stderr };
}

async function shipVersions(ws: TestWorkspace, versions: Record<string, string | Buffer>[]): Promise<void> {
  for (const files of versions) {
    rmSync(join(ws.root, 'dist/site'), { recursive: true, force: true });
    ws.write(Object.fromEntries(Object.entries(files).map(([p, d]) => [`dist/site/${p}`, d])));
    // The command: these tests are about releases; `nx run site:releases`, `:rollback` and `:promote` go through Nx.
    const deployed = await deployCommand(ws, local.env);
    expect([deployed.code, deployed.output.slice(-800)]).toEqual([0, expect.anything()]);
  }
}

/** The bucket serves `files` byte for byte (aws CLI); anything else there is a content-hashed asset kept for releases. */
async function expectServes(bucket: string, files: Record<string, string | Buffer>): Promise<void> {
  const down = await download(local, bucket);
  for (const [path, data] of Object.entries(files))
    expect([path, md5(readFileSync(join(down, path)))]).toEqual([path, md5(data)]);
  const others = (await listKeys(local, bucket)).filter((k) => !k.includes('.nx-aws-deploy/') && !(k in files));
  expect(others.filter((k) => !isContentHashed(k))).toEqual([]);
  await expectPagesReferenceOnlyExistingAssets(local, bucket);
}

/** `nx-aws-deploy <args>` in its own process, through the proxy; `killAt` SIGKILLs it as that request goes out. */
function command(args: string[], killAt?: (info: RequestInfo) => boolean) {
  const env = {
    ...outsideEnv(),
    ...local.env,
    AWS_ENDPOINT_URL: proxy.url,
    CI: 'true',
    // The SDK's notice that it will need Node 22 in 2027, on this Node 20 machine: not this command's output.
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
  };
  const child = spawn(process.execPath, [CLI, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (d) => (output += d));
  child.stderr.on('data', (d) => (output += d));
  const watch = (info: RequestInfo) => {
    if (killAt?.(info)) child.kill('SIGKILL');
  };
  onRequest = watch;
  return new Promise<{ code: number | null; signal: NodeJS.Signals | null; output: string }>((resolve) =>
    child.on('close', (code, signal) => {
      // Only its own watch: a command that outlives its test must not unhook the next test's.
      if (onRequest === watch) onRequest = () => undefined;
      resolve({ code, signal, output });
    }),
  );
}

/** The JSON line a `--json` run prints last. */
const lastJson = (stdout: string) =>
  JSON.parse(
    stdout
      .trim()
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .pop()!,
  );

const siteWrites = async (bucket: string) =>
  (await local.requestLog()).filter(
    (r) =>
      /^s3\.(PutObject|UploadPart|CopyObject|DeleteObjects)$/.test(r.operation) &&
      r.path.startsWith(`/${bucket}/`) &&
      !r.path.includes('.nx-aws-deploy/'),
  );

describe('releases and rollback', () => {
  it('after three deploys, rolls back to release 1 without a build: byte-exact through the edge, copies only, exact invalidation', async () => {
    const bucket = await newBucket(local, 'releases');
    const { Distribution } = await cloudfront.send(
      new CreateDistributionCommand({ DistributionConfig: s3DistributionConfig(bucket, bucket) }),
    );
    const distributionId = Distribution!.Id!;
    const ws = siteProject(bucket, distributionId);
    const versions = [1, 2, 3].map(version);
    await shipVersions(ws, versions);

    const listed = await nx(ws, 'site:releases');
    expect(listed.code).toBe(0);
    expect(listed.output).toMatch(/^3\s+\S+ \S+\s+-\s+\S+\s+\d+\s+\d+\s+[\d.]+ KB\s+live$/m);
    expect(listed.output).toMatch(/^1\s.*\skept$/m);
    // The edge has v3 cached.
    expect((await edgeGet(local.aws, distributionId, '/')).body.toString()).toContain('<title>v3</title>');

    // Nothing on disk is needed: the build folder is gone.
    rmSync(join(ws.root, 'dist'), { recursive: true, force: true });
    await local.resetRequests();
    const back = await nx(ws, 'site:rollback', '--to=1', '--json');
    expect([back.code, back.output.slice(-1500)]).toEqual([0, expect.anything()]);
    const result = lastJson(back.stdout);
    // Six pages and the logo come back, v3's new page goes; the assets are where they were.
    expect(result).toMatchObject({ to: 1, release: 4, restored: 7, deleted: 1, dryRun: false });

    const writes = await siteWrites(bucket);
    expect(writes.map((w) => w.operation).sort()).toEqual([...Array(7).fill('s3.CopyObject'), 's3.DeleteObjects']);
    // Restores + snapshots of what v3 had there (its six pages, logo, new page), and a few more: one listing,
    // the index (read before the lease and under it) and the three kept records, the new record and index, and
    // the lease (its read, the takeover of the released one, the release).
    const requests: Record<string, number> = {};
    for (const r of await local.requestLog())
      if (r.path.startsWith(`/${bucket}`)) requests[r.operation] = (requests[r.operation] ?? 0) + 1;
    expect(requests).toEqual({
      's3.CopyObject': 7 + 8,
      's3.DeleteObjects': 1,
      's3.ListObjectsV2': 1,
      's3.GetObject': 2 + 3 + 1,
      's3.PutObject': 2 + 2,
    });

    await expectServes(bucket, versions[0]);
    expect(await listKeys(local, bucket)).not.toContain('new/index.html');
    for (const path of ['/', '/index.html', '/page-1/index.html', '/img/logo.svg']) {
      const file = path === '/' ? 'index.html' : path.slice(1);
      expect([path, md5((await edgeGet(local.aws, distributionId, path)).body)]).toEqual([
        path,
        md5(versions[0][file]),
      ]);
    }
    expect(result.invalidation.paths).toEqual(
      // Folder URLs as after a deploy (see the invalidation planner): /page-1, /page-1/ and what is below.
      expect.arrayContaining(['/', '/index.html', '/img/logo.svg', '/new', '/new/*', '/page-1', '/page-1/*']),
    );
    expect(result.invalidation.paths.some((p: string) => p.startsWith('/assets/'))).toBe(false);

    const history = lastJson((await nx(ws, 'site:releases', '--json')).stdout);
    expect(history).toMatchObject({
      live: 4,
      releases: [{ number: 4, rollbackTo: 1 }, { number: 3 }, { number: 2 }, { number: 1 }],
    });

    // Forward again to release 3, then a new deploy carries on from there.
    const forward = await command(['rollback', '--bucket', bucket, '--to', '3']);
    expect([forward.code, forward.output]).toEqual([0, expect.stringContaining("serves release 3's files again")]);
    await expectServes(bucket, versions[2]);
  }, 240_000);

  it('in a versioned bucket: no snapshots, a rollback copies the recorded versions back (one copy per page); a version the lifecycle expired is named and nothing changes', async () => {
    const bucket = await newVersionedBucket(local, 'versioned');
    const ws = siteProject(bucket);
    const versions = [1, 2, 3].map(version);
    await shipVersions(ws, versions);
    expect((await listKeys(local, bucket)).filter((k) => k.includes('releases/files/'))).toEqual([]);

    await local.resetRequests();
    const back = await command(['rollback', '--bucket', bucket, '--to', '1', '--json']);
    expect([back.code, back.output.slice(-1500)]).toEqual([0, expect.anything()]);
    expect(lastJson(back.output)).toMatchObject({ to: 1, release: 4, restored: 7, deleted: 1 });
    const requests: Record<string, number> = {};
    for (const r of await local.requestLog())
      if (r.path.startsWith(`/${bucket}`)) requests[r.operation] = (requests[r.operation] ?? 0) + 1;
    // The same as in an unversioned bucket less the 8 snapshot copies, and a HEAD of each version first.
    expect(requests).toEqual({
      's3.HeadObject': 7,
      's3.CopyObject': 7,
      's3.DeleteObjects': 1,
      's3.ListObjectsV2': 1,
      's3.GetObject': 2 + 3 + 1,
      's3.PutObject': 2 + 2,
    });
    await expectServes(bucket, versions[0]);

    // The aws CLI sees what release 2 recorded for its home page among the bucket's versions; removing that
    // version (as the lifecycle rule does after 30 days) makes release 2 unrestorable, and says so.
    const record = JSON.parse(
      (await local.cli(['s3', 'cp', `s3://${bucket}/.nx-aws-deploy/releases/2.json`, '-'])).stdout,
    );
    const listedVersions = JSON.parse(
      (await local.cli(['s3api', 'list-object-versions', '--bucket', bucket, '--prefix', 'index.html'])).stdout,
    ).Versions.map((v: { VersionId: string }) => v.VersionId);
    expect(listedVersions).toContain(record.versions['index.html']);
    await local.cli([
      's3api',
      'delete-object',
      '--bucket',
      bucket,
      '--key',
      'index.html',
      '--version-id',
      record.versions['index.html'],
    ]);
    const before = await listKeys(local, bucket);
    const refused = await command(['rollback', '--bucket', bucket, '--to', '2']);
    expect([refused.code, refused.output.trim().split('\n').pop()]).toEqual([
      1,
      expect.stringMatching(
        /Cannot roll back .* to release 2: 1 of its files are gone from the bucket \(index\.html\), 1 of them as versions the bucket's lifecycle rule expired\. Nothing was changed/,
      ),
    ]);
    expect(await listKeys(local, bucket)).toEqual(before);
    await expectServes(bucket, versions[0]);
  }, 240_000);

  it('refuses a rollback whose assets are gone, naming them, and changes nothing', async () => {
    const bucket = await newBucket(local, 'refuse');
    const ws = siteProject(bucket);
    const versions = [1, 2].map(version);
    await shipVersions(ws, versions);
    const asset = Object.keys(versions[0]).find((k) => k.startsWith('assets/'))!;
    await local.cli(['s3', 'rm', `s3://${bucket}/${asset}`]);
    const before = await listKeys(local, bucket);
    const refused = await nx(ws, 'site:rollback');
    expect(refused.code).not.toBe(0);
    expect(refused.output).toContain(
      `Cannot roll back s3://${bucket}/ to release 1: 1 of its files are gone from the bucket (${asset}). Nothing was changed`,
    );
    expect(await listKeys(local, bucket)).toEqual(before);
    await expectServes(bucket, versions[1]);
  }, 180_000);

  it('bad input gets one clear line and changes nothing', async () => {
    const empty = await newBucket(local, 'empty');
    const cases: [string[], RegExp][] = [
      [['rollback', '--bucket', 'no-such-bucket-here'], /Bucket "no-such-bucket-here" does not exist/],
      [
        ['rollback', '--bucket', empty],
        new RegExp(`No releases are recorded in s3://${empty}/: nothing to roll back to`),
      ],
      [['rollback', '--bucket', empty, '--to', 'two'], /--to must be a whole number, not "two"/],
      [['rollback', '--bucket', 'Bad_Bucket'], /Bad_Bucket/],
      [['releases', '--bucket', 'no-such-bucket-here'], /Bucket "no-such-bucket-here" does not exist/],
    ];
    for (const [args, message] of cases) {
      const run = await command(args);
      const lines = run.output.trim().split('\n');
      expect([args, run.code, lines.length, lines[0]]).toEqual([args, 1, 1, expect.stringMatching(message)]);
    }
    expect(await listKeys(local, empty)).toEqual([]);
    const none = await command(['releases', '--bucket', empty]);
    expect([none.code, none.output.trim()]).toEqual([
      0,
      `No releases are recorded in s3://${empty}/ yet: the next deploy records the first.`,
    ]);
  }, 120_000);

  it('promotes the tested bytes from staging to prod: copies only, headers kept, invalidation on prod, an older release too', async () => {
    const staging = await newBucket(local, 'staging');
    const prod = await newBucket(local, 'prod');
    const { Distribution } = await cloudfront.send(
      new CreateDistributionCommand({ DistributionConfig: s3DistributionConfig(prod, prod) }),
    );
    const ws = createWorkspace({
      site: {
        targets: {
          deploy: { executor: 'nx-aws-deploy:deploy-s3', options: { bucket: staging, sourceDir: 'dist/site' } },
          promote: { executor: 'nx-aws-deploy:promote', options: { bucket: prod, distributionId: Distribution!.Id } },
        },
      },
    });
    const versions = [1, 2].map(version);
    await shipVersions(ws, versions);
    rmSync(join(ws.root, 'dist'), { recursive: true, force: true });

    await local.resetRequests();
    const promoted = await nx(ws, 'site:promote', `--from-bucket=${staging}`, '--json');
    expect([promoted.code, promoted.output.slice(-1500)]).toEqual([0, expect.anything()]);
    const result = lastJson(promoted.stdout);
    expect(result).toMatchObject({ promoted: 2, release: 1, copied: Object.keys(versions[1]).length, deleted: 0 });
    await expectServes(prod, versions[1]);
    const writes = await siteWrites(prod);
    expect(new Set(writes.map((w) => w.operation))).toEqual(new Set(['s3.CopyObject']));
    for (const key of ['index.html', 'img/logo.svg', Object.keys(versions[1]).find((k) => k.startsWith('assets/'))!]) {
      const head = async (bucket: string) => {
        const h = JSON.parse((await local.cli(['s3api', 'head-object', '--bucket', bucket, '--key', key])).stdout);
        return { type: h.ContentType, cache: h.CacheControl, etag: h.ETag };
      };
      expect(await head(prod)).toEqual(await head(staging));
    }
    expect(result.invalidation).toMatchObject({ distributionId: Distribution!.Id });
    expect(result.invalidation.paths).toEqual(expect.arrayContaining(['/index.html', '/']));

    // Release 1 of staging (its pages from staging's snapshots): prod goes back to v1's bytes.
    const older = await nx(ws, 'site:promote', `--from-bucket=${staging}`, '--release=1', '--json');
    expect([older.code, lastJson(older.stdout)]).toEqual([0, expect.objectContaining({ promoted: 1, release: 2 })]);
    await expectServes(prod, versions[0]);

    // Killed halfway, the same promote run again finishes it.
    let copies = 0;
    const killed = await command(
      ['promote', '--from-bucket', staging, '--bucket', prod, '--concurrency', '1'],
      (info) => info.operation === 'CopyObject' && info.path.startsWith(`/${prod}/`) && ++copies === 5,
    );
    expect(killed.signal).toBe('SIGKILL');
    await expectPagesReferenceOnlyExistingAssets(local, prod);
    const rerun = await command(['promote', '--from-bucket', staging, '--bucket', prod]);
    expect([rerun.code, rerun.output]).toEqual([
      0,
      expect.stringContaining(`Release 3 of s3://${prod}/ is release 2 of s3://${staging}/`),
    ]);
    await expectServes(prod, versions[1]);
  }, 300_000);

  // A restore early, halfway and late in the soak tier; halfway in `npm test`.
  it.each(SOAK ? [1, 4, 7] : [4])(
    'SIGKILL at restore %i leaves every page whole, and the same rollback run again finishes it',
    async (at) => {
      const bucket = await newBucket(local, 'killed-rollback');
      const ws = siteProject(bucket);
      const versions = [1, 2, 3].map(version);
      await shipVersions(ws, versions);
      let restores = 0;
      const killed = await command(
        ['rollback', '--bucket', bucket, '--to', '1', '--concurrency', '1'],
        (info) =>
          info.method === 'PUT' &&
          info.path.startsWith(`/${bucket}/`) &&
          !info.path.includes('.nx-aws-deploy/') &&
          ++restores === at,
      );
      expect(killed.signal).toBe('SIGKILL');
      await expectPagesReferenceOnlyExistingAssets(local, bucket);
      const rerun = await command(['rollback', '--bucket', bucket, '--to', '1']);
      expect([rerun.code, rerun.output]).toEqual([0, expect.stringContaining("serves release 1's files again")]);
      await expectServes(bucket, versions[0]);
    },
    240_000,
  );
});
