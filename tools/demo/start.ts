/**
 * `npm start`: starts the embedded local AWS, creates the demo bucket and CloudFront distribution,
 * runs `nx run frontend:deploy` (which builds first) against it, and serves the site through the local
 * edge until Ctrl-C. A second start redeploys into the same data folder and uploads nothing unchanged.
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CloudFrontClient, CreateDistributionCommand, CreateFunctionCommand, ListDistributionsCommand, PublishFunctionCommand } from '@aws-sdk/client-cloudfront';
import { CreateBucketCommand, HeadBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { start, type LocalAws } from 'local-aws';

const root = join(__dirname, '..', '..');
const BUCKET = 'nx-aws-deploy-demo';
const CALLER_REFERENCE = 'nx-aws-deploy-demo';
const FUNCTION_NAME = 'demo-storybook-rewrite';
/** The dev CloudFront Function the plugin ships: Storybook under /storybook/, folder URLs, SPA deep links. */
const VIEWER_REQUEST = readFileSync(join(root, 'packages/nx-aws-deploy/src/lib/cloudfront-function/viewer-request.js'), 'utf8');

async function startLocalAws(): Promise<LocalAws> {
  const dataDir = process.env.LOCAL_AWS_DATA_DIR ?? join(root, '.local-aws');
  const port = Number(process.env.LOCAL_AWS_PORT ?? 4566);
  try {
    return await start({ port, dataDir });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw error;
    console.log(`Port ${port} is in use; the local AWS takes a free port instead.`);
    return start({ port: 0, dataDir });
  }
}

async function ensureDistribution(): Promise<string> {
  const s3 = new S3Client({});
  await s3.send(new HeadBucketCommand({ Bucket: BUCKET })).catch(() => s3.send(new CreateBucketCommand({ Bucket: BUCKET })));
  s3.destroy();
  const cloudfront = new CloudFrontClient({});
  const existing = (await cloudfront.send(new ListDistributionsCommand({}))).DistributionList?.Items?.find((d) => d.Comment === CALLER_REFERENCE);
  if (existing) return existing.Id!;
  const fn = await cloudfront.send(new CreateFunctionCommand({ Name: FUNCTION_NAME, FunctionConfig: { Comment: 'dev: Storybook under /storybook', Runtime: 'cloudfront-js-2.0' }, FunctionCode: Buffer.from(VIEWER_REQUEST) }));
  await cloudfront.send(new PublishFunctionCommand({ Name: FUNCTION_NAME, IfMatch: fn.ETag }));
  const { Distribution } = await cloudfront.send(new CreateDistributionCommand({
    DistributionConfig: {
      CallerReference: CALLER_REFERENCE,
      Comment: CALLER_REFERENCE,
      Enabled: true,
      DefaultRootObject: 'index.html',
      Origins: { Quantity: 1, Items: [{ Id: 'site', DomainName: `${BUCKET}.s3.us-east-1.amazonaws.com`, S3OriginConfig: { OriginAccessIdentity: '' } }] },
      DefaultCacheBehavior: {
        TargetOriginId: 'site',
        ViewerProtocolPolicy: 'redirect-to-https',
        FunctionAssociations: { Quantity: 1, Items: [{ EventType: 'viewer-request', FunctionARN: fn.FunctionSummary!.FunctionMetadata!.FunctionARN }] },
      },
      // SPA fallback: deep links such as /pricing are answered by the app's index.html.
      CustomErrorResponses: { Quantity: 1, Items: [{ ErrorCode: 403, ResponsePagePath: '/index.html', ResponseCode: '200', ErrorCachingMinTTL: 0 }] },
    },
  }));
  cloudfront.destroy();
  return Distribution!.Id!;
}

function run(command: string, args: string[]): Promise<number> {
  // NX_* from an outer nx run would point this nx elsewhere; the rest of the environment is what the user has.
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('NX_') || k === 'NX_DAEMON'));
  const child = spawn(command, args, { cwd: root, stdio: 'inherit', env });
  return new Promise((resolve) => child.on('close', (code) => resolve(code ?? 1)));
}

async function main(): Promise<void> {
  const aws = await startLocalAws();
  const stop = async () => {
    await aws.stop();
    process.exit(0);
  };
  process.once('SIGINT', () => void stop());
  process.once('SIGTERM', () => void stop());
  // Everything below, and the deploy it runs, reaches the local AWS through the SDK's standard variables.
  Object.assign(process.env, {
    AWS_ENDPOINT_URL: aws.url,
    AWS_REGION: 'us-east-1',
    AWS_ACCESS_KEY_ID: process.env.AWS_ACCESS_KEY_ID ?? 'local',
    AWS_SECRET_ACCESS_KEY: process.env.AWS_SECRET_ACCESS_KEY ?? 'local',
  });
  console.log(`Local AWS on ${aws.url} (S3, CloudFront, CodePipeline).`);
  const distributionId = await ensureDistribution();
  const code = await run(process.execPath, [require.resolve('nx/bin/nx', { paths: [root] }), 'run', 'frontend:deploy', `--bucket=${BUCKET}`, `--distribution-id=${distributionId}`, '--invalidate', '--outputStyle=static']);
  if (code !== 0) {
    console.error('The deploy failed (see above); the local AWS is stopping.');
    await aws.stop();
    process.exit(code);
  }
  const site = aws.edgeUrl(distributionId);
  console.log(`\nDeployed. Open ${site}/ (the site) and ${site}/storybook/ (Storybook), served by the local CloudFront edge.`);
  console.log(`Without *.localhost name resolution: curl -H 'Host: ${new URL(site).host}' ${aws.url}/`);
  console.log('Press Ctrl-C to stop.');
}

main().catch((error) => {
  console.error(`npm start failed: ${error.message}`);
  process.exit(1);
});
