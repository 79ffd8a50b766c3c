/**
 * `npm start`: starts the embedded local AWS, deploys the repository's own dev stack (infra/sites-dev.yml,
 * written by the pipeline generator with --batch: a bucket, a CloudFront distribution and a release router per
 * app, the KeyValueStore of their live releases, and the pipeline) to it, runs `nx run <app>:deploy` (which builds
 * first) for each app of buildspec.yml's build list as an atomic release, as the pipeline's buildspec does, and
 * serves the sites through the local edge until Ctrl-C. A second start reuses the same data folder and uploads
 * nothing unchanged.
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { deployStack, NOT_EMULATED_PARAMETERS, parseTemplate, start, type LocalAws } from 'local-aws';
import { parse } from 'yaml';
import { resourcePrefix, type BatchBuild } from '../../packages/nx-aws-deploy/src/lib/batch/build-list';
import { readReleases } from '../../packages/nx-aws-deploy/src/lib/releases/list';

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
    // What the local AWS does not emulate (the source connection, the previews' certificate): any well-formed values do.
    parameters: NOT_EMULATED_PARAMETERS,
  });
  console.log(
    `Stack ${STACK} from ${TEMPLATE}: a bucket and a distribution for each of ${APPS.join(', ')} (CodeBuild and Lambda are not emulated).`,
  );
  // The demo deploys as the account's administrator; the tests run the same deploys as the generated roles.
  console.log(
    "IAM: the stack's roles exist, but this demo deploys with the administrator's key, so no role's policy is enforced here (the tests enforce them: README, Least privilege, proven).",
  );
  const sites: { app: string; url: string; bucket: string }[] = [];
  for (const app of APPS) {
    const prefix = resourcePrefix(app);
    const distributionId = stack.outputs[`${prefix}DistributionId`];
    const bucket = stack.outputs[`${prefix}BucketName`];
    const code = await run(process.execPath, [
      require.resolve('nx/bin/nx', { paths: [root] }),
      'run',
      `${app}:deploy`,
      `--bucket=${bucket}`,
      '--release-mode=atomic',
      `--key-value-store-arn=${stack.outputs.ReleaseStoreArn}`,
      '--outputStyle=static',
    ]);
    if (code !== 0) {
      console.error(`The deploy of ${app} failed (see above); the local AWS is stopping.`);
      await aws.stop();
      process.exit(code);
    }
    sites.push({ app, url: aws.edgeUrl(distributionId), bucket });
  }
  console.log('\nDeployed as atomic releases, and served by the local CloudFront edge. Open:');
  for (const { app, url } of sites) console.log(`  ${app.padEnd(10)} ${url}/`);
  // The app's Storybook, which the dev distribution's CloudFront Function serves under /storybook/.
  const frontend = sites.find((site) => site.app === 'frontend');
  if (frontend) console.log(`  ${'storybook'.padEnd(10)} ${frontend.url}/storybook/`);
  console.log(`Without *.localhost name resolution: curl -H 'Host: ${new URL(sites[0].url).host}' ${aws.url}/`);
  const port = new URL(aws.url).port;
  for (const site of sites) await printRollback(site, port);
  for (const site of sites) printPreview(site, port, stack.outputs.ReleaseStoreArn);
  console.log('Press Ctrl-C to stop.');
}

/** How a shell runs an Nx target against this local AWS. */
const nxRunHere = (port: string) =>
  `${port === '4566' ? '' : `LOCAL_AWS_PORT=${port} `}npm run local-aws -- exec npx nx run`;

/** The command that makes the site's previous release live again, once it has one: one KeyValueStore write. */
async function printRollback(site: { app: string; bucket: string }, port: string): Promise<void> {
  const { index } = await readReleases({ bucket: site.bucket });
  const live = index?.releases.find((release) => release.number === index.live);
  const local = nxRunHere(port);
  const earlier = index?.releases.find((release) => release.kept && release.number !== index.live);
  console.log(
    earlier
      ? `Roll ${site.app} back to release ${earlier.number} (one KeyValueStore write: no build, no copy, no invalidation), and see the releases:`
      : `${site.app}'s release ${live?.number} is live. Change the app and npm start again for the next one; then roll back (one KeyValueStore write) and see the releases with:`,
  );
  console.log(`  ${local} ${site.app}:rollback --bucket=${site.bucket}`);
  console.log(`  ${local} ${site.app}:releases --bucket=${site.bucket}`);
}

/**
 * The command that deploys the app as it is in the working tree as the preview of pull request 1, beside its live
 * release, and the preview's URL on the local edge (pr-1--<distribution>, the local form of pr-1.<preview domain>).
 */
function printPreview(site: { app: string; bucket: string; url: string }, port: string, storeArn: string): void {
  const domain = `--${new URL(site.url).host}`;
  console.log(
    `Preview ${site.app} as it is in your working tree, as pull request 1's preview (the live release stays), at http://pr-1${domain}/:`,
  );
  console.log(
    `  ${nxRunHere(port)} ${site.app}:deploy --bucket=${site.bucket} --release-mode=atomic --key-value-store-arn=${storeArn} --preview=1 --preview-domain=http://${domain}`,
  );
}

main().catch((error) => {
  console.error(`npm start failed: ${error.message}`);
  process.exit(1);
});
