import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { CloudFrontClient, CreateDistributionCommand } from '@aws-sdk/client-cloudfront';
import { CodePipelineClient, CreatePipelineCommand } from '@aws-sdk/client-codepipeline';
import { startFaultProxy, type FaultProxy } from 'fault-proxy';
import { startLocalAws, type LocalAwsHarness, s3DistributionConfig } from 'local-aws';
import { listKeys, newBucket } from './bucket';
import { exec } from './codebuild';
import { CLI, deployCommand, SITE, siteWorkspace } from './site';
import { outsideEnv, repoRoot } from './workspace';

/**
 * An endpoint that accepts the connection and never answers (fault proxy `hang`): every path ends on its own,
 * within a bound set by the request timeout, with one line that names the operation and the endpoint; a stop
 * signal ends it at once.
 */
let local: LocalAwsHarness;
let proxy: FaultProxy | undefined;
beforeAll(async () => {
  local = await startLocalAws();
});
afterEach(async () => {
  await proxy?.stop();
  proxy = undefined;
});
afterAll(() => local.stop());

const hangOn = async (...operations: string[]) =>
  (proxy = await startFaultProxy({ target: local.aws.url, rate: 1, kinds: ['hang'], operations }));

it('a deploy whose listing never answers fails after its attempts, naming the operation and the endpoint', async () => {
  const bucket = await newBucket(local);
  const ws = siteWorkspace({ bucket, sourceDir: 'dist/site', requestTimeout: 1 });
  const { url } = await hangOn('ListObjectsV2');
  const started = Date.now();
  const result = await ws.nx(['run', 'site:deploy'], { ...local.env, AWS_ENDPOINT_URL: url });
  expect(result.code).not.toBe(0);
  expect(Date.now() - started).toBeLessThan(60_000);
  expect(result.stdout + result.stderr).toContain(
    `deploy-s3: s3:ListObjectsV2 on s3://${bucket}/: no answer from ${url} in 6 attempts, each aborted when it stalled.`,
  );
  // Nothing of the site; only the deploy lease, taken and released.
  expect(await listKeys(local, bucket)).toEqual(['.nx-aws-deploy/lease.json']);
}, 90_000);

it('a deploy whose uploads never answer fails and leaves the live HTML as it was', async () => {
  const bucket = await newBucket(local);
  const ws = siteWorkspace({ bucket, sourceDir: 'dist/site', requestTimeout: 1 });
  expect((await deployCommand(ws, local.env)).code).toBe(0);
  ws.write({ 'dist/site/index.html': '<script src="/assets/next-1a2b3c4d.js"></script>' });
  ws.write({ 'dist/site/assets/next-1a2b3c4d.js': 'console.log("next")' });
  // From the first asset on: the deploy's own lease write goes through.
  const hanging = await startFaultProxy({
    target: local.aws.url,
    rate: 0,
    kinds: ['hang'],
    operations: ['PutObject'],
    onRequest: (info) => info.path.includes('/assets/') && hanging.setRate(1),
  });
  proxy = hanging;
  const { url } = hanging;
  const result = await deployCommand(ws, { ...local.env, AWS_ENDPOINT_URL: url });
  expect(result.code).not.toBe(0);
  expect(result.stdout + result.stderr).toMatch(
    /s3:PutObject on s3:\/\/\S+\/assets\/next-1a2b3c4d\.js: no answer from/,
  );
  expect((await local.cli(['s3', 'cp', `s3://${bucket}/index.html`, '-'])).stdout).toBe(SITE['index.html']);
}, 90_000);

it('SIGTERM ends a deploy stuck on a request that never answers at once, not after the timeout', async () => {
  const bucket = await newBucket(local);
  const ws = siteWorkspace({ bucket, sourceDir: 'dist/site' });
  const { url } = await hangOn('ListObjectsV2');
  const child = spawn(process.execPath, [CLI, 'deploy', '--source-dir', 'dist/site', '--bucket', bucket], {
    cwd: ws.root,
    env: { ...outsideEnv(), ...local.env, AWS_ENDPOINT_URL: url },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (d) => (output += d));
  child.stderr.on('data', (d) => (output += d));
  const exited = once(child, 'exit');
  while (proxy!.stats().requests === 0) await new Promise((resolve) => setTimeout(resolve, 50));
  const signalled = Date.now();
  child.kill('SIGTERM');
  const [code] = await exited;
  expect(Date.now() - signalled).toBeLessThan(5_000);
  expect(code).toBe(143);
  expect(output).toContain('Interrupted by SIGTERM before any change: the bucket is as it was.');
}, 60_000);

it('invalidate against a CloudFront that never answers fails with one line', async () => {
  const cloudfront = new CloudFrontClient({ endpoint: local.aws.url });
  const { Distribution } = await cloudfront.send(
    new CreateDistributionCommand({
      DistributionConfig: s3DistributionConfig('stalls', 'stalls'),
    }),
  );
  cloudfront.destroy();
  const id = Distribution!.Id!;
  const ws = siteWorkspace({ bucket: 'unused' }, SITE, {
    distributionId: id,
    paths: ['/index.html'],
    requestTimeout: 1,
  });
  const { url } = await hangOn('CreateInvalidation');
  const result = await ws.nx(['run', 'site:invalidate'], { ...local.env, AWS_ENDPOINT_URL: url });
  expect(result.code).not.toBe(0);
  expect(result.stdout + result.stderr).toContain(
    `invalidate: cloudfront:CreateInvalidation on distribution ${id}: no answer from ${url} in 6 attempts`,
  );
}, 90_000);

it('set-shas against a CodePipeline that never answers fails (and so fails the build phase) with one line', async () => {
  const codepipeline = new CodePipelineClient({ endpoint: local.aws.url });
  await codepipeline.send(
    new CreatePipelineCommand({
      pipeline: {
        name: 'stalled',
        roleArn: 'arn:aws:iam::000000000000:role/p',
        artifactStore: { type: 'S3', location: 'a' },
        stages: [],
      },
    }),
  );
  codepipeline.destroy();
  const { url } = await hangOn('ListPipelineExecutions');
  const result = await exec(process.execPath, [CLI, 'set-shas', '--request-timeout', '1'], repoRoot, {
    ...outsideEnv(),
    ...local.env,
    AWS_ENDPOINT_URL: url,
    CODEBUILD_INITIATOR: 'codepipeline/stalled',
  });
  expect(result.code).toBe(1);
  expect(result.stdout).toBe('');
  expect(result.stderr).toContain(
    `codepipeline:ListPipelineExecutions on pipeline stalled: no answer from ${url} in 6 attempts`,
  );
}, 90_000);
