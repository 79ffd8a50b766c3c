import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { startFaultProxy, type FaultProxy, type RequestInfo } from 'fault-proxy';
import { startLocalAws, type LocalAwsHarness } from 'local-aws';
import { expectBucketMatches, expectPagesReferenceOnlyExistingAssets, listKeys, md5, newBucket } from './bucket';
import { deployGeneratedStack } from './cloudformation';
import { CLI, SITE, siteVersion, siteWorkspace } from './site';
import { NX_CI_ENV, outsideEnv, repoRoot } from './workspace';
import { tempDir, trials } from 'test-support';

/**
 * A deploy stopped at the worst moments: SIGKILL (the CodeBuild container dies) at random points of the asset
 * upload, the entry-file upload and the prune (once each; 20 times in `npm run test:soak`); SIGTERM and SIGINT, which stop it gracefully. After each
 * stop every HTML page in the bucket names only assets that exist, and a re-run converges to the new version
 * without sending again what already landed. The deploy runs as `nx-aws-deploy deploy`, a process of its own,
 * through a proxy (no faults) that lets the test act at the moment a chosen request goes out.
 */
let local: LocalAwsHarness;
let proxy: FaultProxy;
let root: string;
let onRequest: (info: RequestInfo) => void = () => undefined;

beforeAll(async () => {
  local = await startLocalAws();
  // A little latency per request, so that a deploy is still going when the chosen request goes out.
  proxy = await startFaultProxy({
    target: local.aws.url,
    rate: 0,
    latencyMs: 10,
    onRequest: (info) => onRequest(info),
  });
  root = tempDir('interrupt-');
});
afterAll(async () => {
  await proxy.stop();
  await local.stop();
});

function writeBuild(name: string, files: Record<string, string | Buffer>): string {
  const dir = join(root, name);
  for (const [path, data] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    writeFileSync(join(dir, path), data);
  }
  return name;
}

/**
 * `nx-aws-deploy deploy` in its own process, through the proxy; at the chosen request `stopAt` sends it a
 * signal, or runs `act` (e.g. rewrites a file of the build).
 */
function runDeploy(
  sourceDir: string,
  bucket: string,
  stopAt?: { when: (info: RequestInfo) => boolean } & ({ signal: NodeJS.Signals } | { act: () => void }),
  credentials: Record<string, string> = {},
) {
  const env = { ...outsideEnv(), ...local.env, ...credentials, AWS_ENDPOINT_URL: proxy.url, CI: 'true' };
  const child = spawn(
    process.execPath,
    // One release kept: these tests compare the bucket with the build exactly, old assets pruned.
    [CLI, 'deploy', '--source-dir', sourceDir, '--bucket', bucket, '--concurrency', '4', '--keep-releases', '1'],
    { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let output = '';
  child.stdout.on('data', (d) => (output += d));
  child.stderr.on('data', (d) => (output += d));
  let sent = false;
  onRequest = (info) => {
    if (stopAt && !sent && stopAt.when(info)) {
      sent = true;
      if ('signal' in stopAt) child.kill(stopAt.signal);
      else stopAt.act();
    }
  };
  return new Promise<{ code: number | null; signal: NodeJS.Signals | null; output: string; stopped: boolean }>(
    (resolve) =>
      child.on('close', (code, signal) => {
        onRequest = () => undefined;
        resolve({ code, signal, output, stopped: sent });
      }),
  );
}

/** Site files whose bytes are not (yet) in the bucket, by the listing's ETags. */
async function notYetLanded(bucket: string, files: Record<string, string | Buffer>): Promise<string[]> {
  const listed =
    JSON.parse((await local.cli(['s3api', 'list-objects-v2', '--bucket', bucket])).stdout || '{}').Contents ?? [];
  const etags = new Map<string, string>(
    listed.map((o: { Key: string; ETag: string }) => [o.Key, o.ETag.replace(/"/g, '')]),
  );
  return Object.entries(files)
    .filter(([path, data]) => etags.get(path) !== md5(data))
    .map(([path]) => path)
    .sort();
}

/** Re-runs the deploy to the end: it must upload exactly what had not landed, and leave the bucket equal to the build. */
async function expectRerunConverges(
  bucket: string,
  sourceDir: string,
  files: Record<string, string | Buffer>,
  credentials: Record<string, string> = {},
): Promise<void> {
  const missing = await notYetLanded(bucket, files);
  await local.resetRequests();
  const rerun = await runDeploy(sourceDir, bucket, undefined, credentials);
  expect([rerun.code, rerun.output.slice(-1500)]).toEqual([0, expect.anything()]);
  const uploaded = (await local.requestLog())
    .filter(
      (r) =>
        (r.operation === 's3.PutObject' || r.operation === 's3.CreateMultipartUpload') &&
        !r.path.includes('.nx-aws-deploy/'),
    )
    .map((r) => r.path.slice(`/${bucket}/`.length))
    .sort();
  expect(uploaded).toEqual(missing);
  await expectBucketMatches(local, bucket, files);
}

/** A small seeded generator, so that a failing kill point can be replayed. */
function seeded(seed: number): (n: number) => number {
  let state = seed;
  return (n) => {
    state = (state * 1103515245 + 12345) % 2147483648;
    return state % n;
  };
}

/** One stop per phase in `npm test`; 20 at other points in the soak tier. */
const KILL_ROUNDS = trials(20, 3);

it(`SIGKILL at ${KILL_ROUNDS} random points (assets, entry files, prune): pages never name a missing asset; a re-run converges`, async () => {
  const bucket = await newBucket(local, 'killed');
  const pick = seeded(20261126);
  let current = siteVersion(0);
  expect((await runDeploy(writeBuild('v0', current), bucket)).code).toBe(0);
  const isAsset = (i: RequestInfo) => i.operation === 'PutObject' && i.path.includes('/assets/');
  const isPage = (i: RequestInfo) => i.operation === 'PutObject' && i.path.endsWith('.html');
  for (let round = 1; round <= KILL_ROUNDS; round++) {
    const phase = (['assets', 'entries', 'prune'] as const)[round % 3];
    const next = siteVersion(round);
    const dir = writeBuild(`v${round}`, next);
    const at = phase === 'assets' ? 1 + pick(22) : phase === 'entries' ? 1 + pick(5) : 1;
    let seen = 0;
    const when =
      phase === 'assets' ? isAsset : phase === 'entries' ? isPage : (i: RequestInfo) => i.operation === 'DeleteObjects';
    const killed = await runDeploy(dir, bucket, { signal: 'SIGKILL', when: (i) => when(i) && ++seen === at });
    expect([round, phase, at, killed.stopped, killed.signal]).toEqual([round, phase, at, true, 'SIGKILL']);
    await expectPagesReferenceOnlyExistingAssets(local, bucket);
    await expectRerunConverges(bucket, dir, next);
    current = next;
  }
  expect(Object.keys(current)).toHaveLength(32);
}, 600_000);

it('SIGTERM during a multipart upload, as the generated build role: aborts it (allowed), says what landed, exits 143; the live pages stay whole; a re-run finishes', async () => {
  // This repository's generated stack: the deploy runs with a session of its build role, every request authorized.
  const stack = await deployGeneratedStack(local.aws.url, 'interrupt');
  const bucket = stack.outputs.FrontendBucketName;
  const role = stack.properties.BuildProject.ServiceRole as string;
  const asBuildRole = await local.assumeRole(role, 'AWSCodeBuild-interrupted');
  const before = siteVersion(100);
  expect((await runDeploy(writeBuild('t0', before), bucket, undefined, asBuildRole)).code).toBe(0);
  const next = siteVersion(101, { 'media/intro.mp4': randomBytes(40 * 1024 * 1024) });
  const dir = writeBuild('t1', next);
  await local.resetRequests();
  const stopped = await runDeploy(
    dir,
    bucket,
    { signal: 'SIGTERM', when: (i) => i.operation === 'UploadPart' },
    asBuildRole,
  );
  const byRole = (await local.requestLog()).filter((r) => r.principal?.includes(`/${role.split('/').pop()}/`));
  expect(byRole.filter((r) => r.authorizations?.some((a) => !a.allowed))).toEqual([]);
  expect(byRole.map((r) => r.operation)).toContain('s3.AbortMultipartUpload');
  expect(stopped.code).toBe(143);
  expect(stopped.output).toMatch(/SIGTERM received: finishing the requests in flight, then stopping/);
  expect(stopped.output).toMatch(
    /Interrupted by SIGTERM while uploading assets: uploaded \d+ of 31 files, updated headers of 0 of 0, deleted 0 of 24, aborted 1 unfinished multipart upload\(s\)\. The live entry files \(HTML\) are still the previous deploy's\. Run the deploy again to finish/,
  );
  const uploads = JSON.parse((await local.cli(['s3api', 'list-multipart-uploads', '--bucket', bucket])).stdout || '{}');
  expect(uploads.Uploads ?? []).toEqual([]);
  expect((await local.cli(['s3', 'cp', `s3://${bucket}/index.html`, '-'])).stdout).toBe(before['index.html']);
  await expectPagesReferenceOnlyExistingAssets(local, bucket);
  await expectRerunConverges(bucket, dir, next, asBuildRole);
}, 180_000);

describe('a build that changes while it uploads (a file rewritten after the scan)', () => {
  it('a multipart file rewritten mid-upload is never stored: the upload is aborted and the deploy fails naming it', async () => {
    const bucket = await newBucket(local, 'changed-multipart');
    const before = siteVersion(300);
    expect((await runDeploy(writeBuild('c0', before), bucket)).code).toBe(0);
    const dir = writeBuild('c1', siteVersion(301, { 'media/intro.mp4': randomBytes(64 * 1024 * 1024) }));
    const rewritten = join(root, dir, 'media/intro.mp4');
    const result = await runDeploy(dir, bucket, {
      when: (i) => i.operation === 'CreateMultipartUpload',
      act: () => writeFileSync(rewritten, randomBytes(64 * 1024 * 1024)),
    });
    expect(result.code).toBe(1);
    expect(result.output).toContain(
      `nx-aws-deploy: ${rewritten} changed on disk during the deploy: its bytes are no longer those planned, and nothing of it was stored (s3://${bucket}/media/intro.mp4 is as it was). Run the deploy again once the build is finished.`,
    );
    expect(await listKeys(local, bucket)).not.toContain('media/intro.mp4');
    const uploads = JSON.parse(
      (await local.cli(['s3api', 'list-multipart-uploads', '--bucket', bucket])).stdout || '{}',
    );
    expect(uploads.Uploads ?? []).toEqual([]);
    expect((await local.cli(['s3', 'cp', `s3://${bucket}/index.html`, '-'])).stdout).toBe(before['index.html']);
  }, 180_000);

  it('a page rewritten after the scan is refused by S3 (Content-MD5): the live page stays the previous one', async () => {
    const bucket = await newBucket(local, 'changed-page');
    const before = siteVersion(310);
    expect((await runDeploy(writeBuild('p0', before), bucket)).code).toBe(0);
    const dir = writeBuild('p1', siteVersion(311));
    const page = join(root, dir, 'index.html');
    const result = await runDeploy(dir, bucket, {
      when: (i) => i.operation === 'PutObject' && i.path.includes('/assets/'),
      act: () =>
        writeFileSync(page, '<!doctype html><title>half-built</title><script src="/assets/missing.js"></script>'),
    });
    expect(result.code).toBe(1);
    expect(result.output).toContain(`nx-aws-deploy: ${page} changed on disk during the deploy`);
    expect((await local.cli(['s3', 'cp', `s3://${bucket}/index.html`, '-'])).stdout).toBe(before['index.html']);
    await expectPagesReferenceOnlyExistingAssets(local, bucket);
  }, 120_000);
});

it('SIGINT (Ctrl-C) while the entry files go up: nothing deleted, exits 130, and a re-run finishes', async () => {
  const bucket = await newBucket(local, 'sigint');
  expect((await runDeploy(writeBuild('i0', siteVersion(200)), bucket)).code).toBe(0);
  const next = siteVersion(201);
  const dir = writeBuild('i1', next);
  const stopped = await runDeploy(dir, bucket, {
    signal: 'SIGINT',
    when: (i) => i.operation === 'PutObject' && i.path.endsWith('.html'),
  });
  expect(stopped.code).toBe(130);
  expect(stopped.output).toMatch(
    /Interrupted by SIGINT while uploading entry files: uploaded \d+ of 30 files, updated headers of 0 of 0, deleted 0 of 24\. Every entry file already replaced names only assets that are in the bucket\./,
  );
  await expectPagesReferenceOnlyExistingAssets(local, bucket);
  await expectRerunConverges(bucket, dir, next);
}, 120_000);

it('Ctrl-C on `nx run site:deploy` (the whole process group, as a terminal sends it) leaves no multipart upload behind', async () => {
  const bucket = await newBucket(local, 'nx-ctrl-c');
  const ws = siteWorkspace(
    { bucket, sourceDir: 'dist/site' },
    { ...SITE, 'media/big.bin': randomBytes(40 * 1024 * 1024) },
  );
  const env = {
    ...outsideEnv(),
    ...local.env,
    AWS_ENDPOINT_URL: proxy.url,
    ...NX_CI_ENV,
  };
  const nx = spawn(
    process.execPath,
    [require.resolve('nx/bin/nx', { paths: [repoRoot] }), 'run', 'site:deploy', '--outputStyle=static'],
    { cwd: ws.root, env, detached: true, stdio: 'ignore' },
  );
  let sent = false;
  onRequest = (info) => {
    if (!sent && info.operation === 'UploadPart') {
      sent = true;
      process.kill(-nx.pid!, 'SIGINT');
    }
  };
  const code = await new Promise<number | null>((resolve) => nx.on('close', resolve));
  onRequest = () => undefined;
  expect([sent, code]).toEqual([true, 130]);
  // Nx stops its task process too; that process aborts what it opened before it exits.
  let uploads: unknown[] = [];
  for (let i = 0; i < 40; i++) {
    uploads =
      JSON.parse((await local.cli(['s3api', 'list-multipart-uploads', '--bucket', bucket])).stdout || '{}').Uploads ??
      [];
    if (!uploads.length) break;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  expect(uploads).toEqual([]);
  expect(
    (await local.requestLog()).some((r) => r.operation === 's3.AbortMultipartUpload' && r.path.includes(bucket)),
  ).toBe(true);
}, 120_000);
