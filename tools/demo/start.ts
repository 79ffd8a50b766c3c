/**
 * `npm start`: starts the embedded local AWS, deploys the repository's own dev stack (infra/sites-dev.yml,
 * written by the pipeline generator with --batch: a bucket and a CloudFront distribution per app, with the
 * Storybook viewer-request Function, and the pipeline) to it, runs `nx run <app>:deploy` (which builds first)
 * for each app of buildspec.yml's build list and serves the sites through the local edge until Ctrl-C. A second
 * start reuses the same data folder and uploads nothing unchanged.
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { deployStack, parseTemplate, start, type LocalAws } from 'local-aws';
import { parse } from 'yaml';
import { resourcePrefix, type BatchBuild } from '../../packages/nx-aws-deploy/src/lib/batch/build-list';

const root = join(__dirname, '..', '..');
const STACK = 'sites-dev';
const TEMPLATE = join(root, 'infra', `${STACK}.yml`);
/** The apps CodeBuild ships as the builds of one batch (one after another here). */
const APPS = (parse(readFileSync(join(root, 'buildspec.yml'), 'utf8')).batch['build-list'] as BatchBuild[]).map(
  (build) => build.env.variables.NX_AWS_DEPLOY_PROJECT,
);

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
  console.log(
    `Stack ${STACK} from ${TEMPLATE}: a bucket and a distribution for each of ${APPS.join(', ')} (CodeBuild and Lambda are not emulated).`,
  );
  // The demo deploys as the account's administrator; the tests run the same deploys as the generated roles.
  console.log(
    "IAM: the stack's roles exist, but this demo deploys with the administrator's key, so no role's policy is enforced here (the tests enforce them: README, Least privilege, proven).",
  );
  const sites: { app: string; url: string }[] = [];
  for (const app of APPS) {
    const prefix = resourcePrefix(app);
    const distributionId = stack.outputs[`${prefix}DistributionId`];
    const code = await run(process.execPath, [
      require.resolve('nx/bin/nx', { paths: [root] }),
      'run',
      `${app}:deploy`,
      `--bucket=${stack.outputs[`${prefix}BucketName`]}`,
      `--distribution-id=${distributionId}`,
      '--invalidate',
      '--outputStyle=static',
    ]);
    if (code !== 0) {
      console.error(`The deploy of ${app} failed (see above); the local AWS is stopping.`);
      await aws.stop();
      process.exit(code);
    }
    sites.push({ app, url: aws.edgeUrl(distributionId) });
  }
  console.log('\nDeployed, and served by the local CloudFront edge. Open:');
  for (const { app, url } of sites) console.log(`  ${app.padEnd(10)} ${url}/`);
  // The app's Storybook, which the dev distribution's CloudFront Function serves under /storybook/.
  const frontend = sites.find((site) => site.app === 'frontend');
  if (frontend) console.log(`  ${'storybook'.padEnd(10)} ${frontend.url}/storybook/`);
  console.log(`Without *.localhost name resolution: curl -H 'Host: ${new URL(sites[0].url).host}' ${aws.url}/`);
  console.log('Press Ctrl-C to stop.');
}

main().catch((error) => {
  console.error(`npm start failed: ${error.message}`);
  process.exit(1);
});
