/**
 * `npm start`: starts the embedded local AWS, deploys the repository's own dev stack (infra/frontend-dev.yml,
 * written by the pipeline generator: bucket, CloudFront distribution with the Storybook viewer-request
 * Function, pipeline) to it, runs `nx run frontend:deploy` (which builds first) and serves the site through
 * the local edge until Ctrl-C. A second start reuses the same data folder and uploads nothing unchanged.
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { deployStack, parseTemplate, start, type LocalAws } from 'local-aws';

const root = join(__dirname, '..', '..');
const STACK = 'frontend-dev';
const TEMPLATE = join(root, 'infra', `${STACK}.yml`);

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

function run(command: string, args: string[]): Promise<number> {
  // NX_* from an outer nx run would point this nx elsewhere; the rest of the environment is what the user has.
  const env = Object.fromEntries(
    Object.entries(process.env).filter(([k]) => !k.startsWith('NX_') || k === 'NX_DAEMON'),
  );
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
  const stack = await deployStack({
    endpoint: aws.url,
    template: parseTemplate(readFileSync(TEMPLATE, 'utf8')),
    stackName: STACK,
    // The source connection is not emulated; any well-formed values do.
    parameters: {
      ConnectionArn: 'arn:aws:codeconnections:us-east-1:000000000000:connection/00000000-0000-0000-0000-000000000000',
      RepositoryId: 'local/nx-aws-deploy',
    },
  });
  const { BucketName: bucket, DistributionId: distributionId } = stack.outputs;
  console.log(
    `Stack ${STACK} from ${TEMPLATE}: bucket ${bucket}, distribution ${distributionId} (IAM, CodeBuild and Lambda are not emulated).`,
  );
  const code = await run(process.execPath, [
    require.resolve('nx/bin/nx', { paths: [root] }),
    'run',
    'frontend:deploy',
    `--bucket=${bucket}`,
    `--distribution-id=${distributionId}`,
    '--invalidate',
    '--outputStyle=static',
  ]);
  if (code !== 0) {
    console.error('The deploy failed (see above); the local AWS is stopping.');
    await aws.stop();
    process.exit(code);
  }
  const site = aws.edgeUrl(distributionId);
  console.log(
    `\nDeployed. Open ${site}/ (the site) and ${site}/storybook/ (Storybook), served by the local CloudFront edge.`,
  );
  console.log(`Without *.localhost name resolution: curl -H 'Host: ${new URL(site).host}' ${aws.url}/`);
  console.log('Press Ctrl-C to stop.');
}

main().catch((error) => {
  console.error(`npm start failed: ${error.message}`);
  process.exit(1);
});
