import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CloudFrontClient, CreateDistributionCommand } from '@aws-sdk/client-cloudfront';
import { startLocalAws, type LocalAwsHarness, s3DistributionConfig } from 'local-aws';
import { download, filesBelow, newBucket } from './bucket';
import { CLI, SITE, siteWorkspace } from './site';
import type { TestWorkspace } from './workspace';

/**
 * Secrets never leak: the executors and the CLI run with sentinel values in AWS_SECRET_ACCESS_KEY and
 * AWS_SESSION_TOKEN (the local AWS accepts any) and a .env in the build folder, on success and on failure; no
 * sentinel may appear in stdout/stderr, the manifest, or any object in the bucket.
 */
const SECRET_KEY = 'SENTINELsecretAccessKey7f3a9c';
const SESSION_TOKEN = 'SENTINELsessionToken5b8e1d';
const DOTENV_VALUE = 'SENTINELdotenvValue2c4f6a';
const SENTINELS = /SENTINEL\w+/;

let local: LocalAwsHarness;
let env: Record<string, string>;
beforeAll(async () => {
  local = await startLocalAws();
  env = { ...local.env, AWS_SECRET_ACCESS_KEY: SECRET_KEY, AWS_SESSION_TOKEN: SESSION_TOKEN };
});
afterAll(() => local.stop());

const FILES = { ...SITE, '.env': `API_KEY=${DOTENV_VALUE}\n`, 'config/.env.production': `TOKEN=${DOTENV_VALUE}\n` };

async function run(ws: TestWorkspace, ...args: string[]): Promise<string> {
  const result = await ws.nx([...args, '--verbose'], env);
  return result.stdout + result.stderr;
}

/** Every object in the bucket (headers included), as the aws CLI downloads it. */
async function bucketText(bucket: string): Promise<string> {
  const down = await download(local, bucket, { siteOnly: false });
  const listing = (await local.cli(['s3api', 'list-objects-v2', '--bucket', bucket])).stdout;
  const heads = await Promise.all(
    JSON.parse(listing).Contents.map((o: { Key: string }) =>
      local.cli(['s3api', 'head-object', '--bucket', bucket, '--key', o.Key]).then((r) => r.stdout),
    ),
  );
  return [listing, ...heads, ...filesBelow(down).map((f) => readFileSync(f, 'utf8'))].join('\n');
}

it('deploy-s3 and invalidate leak no credential or .env value, on success and on failure', async () => {
  const bucket = await newBucket(local, 'secrets');
  const cloudfront = new CloudFrontClient({});
  const { Distribution } = await cloudfront.send(
    new CreateDistributionCommand({
      DistributionConfig: s3DistributionConfig('secrets', bucket),
    }),
  );
  cloudfront.destroy();
  const ws = siteWorkspace({ bucket, sourceDir: 'dist/site', distributionId: Distribution!.Id, json: true }, FILES);
  const outputs = [
    await run(ws, 'run', 'site:deploy', '--invalidate'),
    await run(ws, 'run', 'site:invalidate', '--paths=/index.html'),
    await run(ws, 'run', 'site:deploy', '--bucket=no-such-bucket-secrets'),
    await run(ws, 'run', 'site:invalidate', '--distribution-id=EDOESNOTEXIST9', '--paths=/x'),
  ];
  await local.injectFault({
    operation: 's3.PutObject',
    count: 1,
    action: 'error',
    status: 403,
    code: 'AccessDenied',
    pathIncludes: bucket,
  });
  ws.write({ 'dist/site/index.html': '<h1>changed</h1>' });
  outputs.push(await run(ws, 'run', 'site:deploy'));
  // The runs did what they say: a deploy with its invalidation, two refusals, one access denied.
  expect(outputs[0]).toMatch(/Invalidation I[A-Z0-9]+ on E[A-Z0-9]+/);
  expect(outputs[2]).toMatch(/Bucket "no-such-bucket-secrets" does not exist/);
  expect(outputs[3]).toMatch(/Distribution EDOESNOTEXIST9 does not exist/);
  expect(outputs[4]).toMatch(/Access denied: s3:PutObject/);
  for (const output of outputs) expect(output).not.toMatch(SENTINELS);
  expect(readFileSync(join(ws.root, 'dist/deploy-manifests/site.json'), 'utf8')).not.toMatch(SENTINELS);
  const stored = await bucketText(bucket);
  expect(stored).toContain('index.html');
  expect(stored).not.toMatch(SENTINELS);
  expect(stored).not.toContain('.env');
}, 120_000);

it('the set-shas and deploy commands leak no credential either, including in their errors', async () => {
  const ws = siteWorkspace({}, FILES);
  const cli = (...args: string[]) =>
    new Promise<string>((resolve) => {
      const child = spawn(process.execPath, [CLI, ...args], {
        cwd: ws.root,
        env: {
          ...process.env,
          ...env,
          CODEBUILD_INITIATOR: 'codepipeline/missing-pipeline',
          CODEBUILD_RESOLVED_SOURCE_VERSION: '0123456789abcdef0123456789abcdef01234567',
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let output = '';
      child.stdout.on('data', (d) => (output += d));
      child.stderr.on('data', (d) => (output += d));
      child.on('close', () => resolve(output));
    });
  const bucket = await newBucket(local, 'secrets-cli');
  const outputs = [
    await cli('set-shas'),
    await cli('deploy', '--source-dir', 'dist/site', '--bucket', bucket, '--json'),
    await cli('deploy', '--source-dir', 'dist/site', '--bucket', 'no-such-bucket-cli'),
  ];
  expect(outputs[0]).toMatch(/Pipeline "missing-pipeline" does not exist/);
  expect(outputs[1]).toMatch(/"uploaded":\{"files":10/);
  expect(outputs[2]).toMatch(/Bucket "no-such-bucket-cli" does not exist/);
  for (const output of outputs) expect(output).not.toMatch(SENTINELS);
  expect(await bucketText(bucket)).not.toMatch(SENTINELS);
}, 120_000);
