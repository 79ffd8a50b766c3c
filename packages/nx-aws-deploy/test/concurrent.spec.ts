import { join } from 'node:path';
import { startLocalAws, type LocalAwsHarness } from 'local-aws';
import { startFaultProxy, type FaultProxy } from 'fault-proxy';
import { tempDir, trials } from 'test-support';
import { expectBucketMatches, expectPagesReferenceOnlyExistingAssets, listKeys, newBucket } from './bucket';
import { exec, writeFiles } from './codebuild';
import { CLI, siteVersion } from './site';
import { outsideEnv } from './workspace';

/**
 * Two deploys to one bucket at once (a CodeBuild run and a laptop, two pipelines, CodePipeline's PARALLEL mode):
 * the deploy lease makes the second wait for the first, so pruning is always planned from a listing nobody
 * else changes, and the live pages never name an asset the other deploy pruned.
 */
let local: LocalAwsHarness;
/** The local AWS with 150 ms per request: a deploy of a siteVersion() then holds its lease for seconds. */
let slow: FaultProxy;
const root = tempDir('concurrent-');

beforeAll(async () => {
  local = await startLocalAws();
  slow = await startFaultProxy({ target: local.aws.url, rate: 0, latencyMs: 150 });
});
afterAll(async () => {
  await slow.stop();
  await local.stop();
});

function build(name: string, files: Record<string, string | Buffer>): string {
  writeFiles(join(root, name), files as Record<string, string>);
  return name;
}

async function deploy(sourceDir: string, bucket: string, ...args: string[]) {
  return deployVia(local.aws.url, sourceDir, bucket, ...args);
}

async function deployVia(endpoint: string, sourceDir: string, bucket: string, ...args: string[]) {
  const result = await exec(
    process.execPath,
    [CLI, 'deploy', '--source-dir', sourceDir, '--bucket', bucket, '--concurrency', '4', ...args],
    root,
    { ...outsideEnv(), ...local.env, AWS_ENDPOINT_URL: endpoint, CI: 'true' },
  );
  return { code: result.code, output: result.stdout + result.stderr };
}

/** A lease another deploy holds, written as that deploy would (or one it let expire). */
async function holdLease(bucket: string, expiresInMs: number) {
  const lease = {
    owner: 'arn:aws:codebuild:us-east-1:000000000000:build/web:0a1b2c',
    id: 'held-by-test',
    acquiredAt: new Date(Date.now() - 5000).toISOString(),
    expiresAt: new Date(Date.now() + expiresInMs).toISOString(),
  };
  writeFiles(join(root, 'lease'), { 'lease.json': JSON.stringify(lease) });
  await local.cli(['s3', 'cp', join(root, 'lease', 'lease.json'), `s3://${bucket}/.nx-aws-deploy/lease.json`]);
}

/** Once in `npm test`, 20 times in the soak tier. */
const TRIALS = trials(20);

it(`${TRIALS} time(s) two different builds deployed at once: both succeed one after the other, and every page names only existing assets`, async () => {
  const bucket = await newBucket(local);
  const a = siteVersion(1);
  const b = siteVersion(2);
  const builds = [build('a', a), build('b', b)];
  let waited = 0;
  for (let trial = 0; trial < TRIALS; trial++) {
    const order = trial % 2 ? builds : [...builds].reverse();
    // Started together, each holds the lease for seconds (the latency): the other starts within that time.
    const results = await Promise.all(order.map((dir) => deployVia(slow.url, dir, bucket)));
    for (const result of results) expect([result.code, result.output]).toEqual([0, expect.anything()]);
    waited += results.filter((r) => r.output.includes('Waiting for the deploy lease')).length;
    await expectPagesReferenceOnlyExistingAssets(local, bucket);
  }
  // The deploys did overlap (the bound is loose: process start-up can still separate them now and then).
  expect(waited).toBeGreaterThanOrEqual(Math.ceil(TRIALS / 2));
}, 600_000);

it('with --no-wait a deploy fails at once, naming who holds the lease, and changes nothing; --lock-timeout bounds the wait', async () => {
  const bucket = await newBucket(local);
  const site = build('held', siteVersion(3));
  await holdLease(bucket, 120_000);
  const keys = await listKeys(local, bucket);
  const refused = await deploy(site, bucket, '--no-wait');
  expect(refused.code).toBe(1);
  expect(refused.output).toMatch(
    new RegExp(
      `nx-aws-deploy: Another deploy is shipping to s3://${bucket}/: arn:aws:codebuild:us-east-1:000000000000:build/web:0a1b2c \\(since .*, lease until .*\\)\\. Nothing was changed; run again when it has finished`,
    ),
  );
  const started = Date.now();
  const waited = await deploy(site, bucket, '--lock-timeout', '3');
  expect(waited.code).toBe(1);
  expect(Date.now() - started).toBeGreaterThanOrEqual(3000);
  expect(waited.output).toContain('Waiting for the deploy lease on');
  expect(waited.output).toContain('Waited 3 s ("lockTimeout"); nothing was changed.');
  expect(await listKeys(local, bucket)).toEqual(keys);
}, 120_000);

it('takes over a lease its holder let expire (a deploy that was killed), and says whose', async () => {
  const bucket = await newBucket(local);
  const files = siteVersion(4);
  const site = build('expired', files);
  await holdLease(bucket, -1000);
  const result = await deploy(site, bucket, '--no-wait');
  expect([result.code, result.output]).toEqual([0, expect.stringContaining('Took over the expired deploy lease on')]);
  await expectBucketMatches(local, bucket, files);
}, 120_000);

it('rides out S3 answering 409 ConditionalRequestConflict to the lease write (a concurrent conditional write)', async () => {
  const bucket = await newBucket(local);
  const files = siteVersion(5);
  const site = build('conflict', files);
  await local.injectFault({
    operation: 's3.PutObject',
    count: 1,
    action: 'error',
    status: 409,
    code: 'ConditionalRequestConflict',
    pathIncludes: '/.nx-aws-deploy/lease.json',
  });
  await local.resetRequests();
  const result = await deploy(site, bucket, '--no-wait');
  expect([result.code, result.output]).toEqual([0, expect.anything()]);
  // The first deploy finds no lease and creates it; the write landed but its answer was the 409 (faults replace
  // the answer): the deploy read the lease back, found its own, and went on (then released it).
  const lease = `/${bucket}/.nx-aws-deploy/lease.json`;
  const requests = (await local.requestLog()).filter((r) => r.path === lease).map((r) => r.operation);
  expect(requests).toEqual(['s3.GetObject', 's3.PutObject', 's3.GetObject', 's3.PutObject']);
  await expectBucketMatches(local, bucket, files);
}, 120_000);
