import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CloudFrontClient, GetInvalidationCommand, ListInvalidationsCommand } from '@aws-sdk/client-cloudfront';
import { unzipSync } from 'fflate';
import {
  edgeGet,
  previewGet,
  parseTemplate,
  startLocalAws,
  type LocalAwsHarness,
  type Job,
  type LoggedRequest,
  type StackResult,
} from 'local-aws';
import { BUILT_PACKAGE } from './built-package';
import { deployGeneratedStack } from './cloudformation';
import { grantsTable, JourneyCalls, unusedGrants } from './iam-journey';
import { exec, finishExecution, git, pushedRepository, runBatchBuild, runCodeBuild, writeFiles } from './codebuild';
import { NX_CI_ENV, outsideEnv, repoRoot } from './workspace';
import { tempDir } from 'test-support';

/**
 * The user's journey with the package as published: `npm pack` of the build, a fresh Nx workspace that installs
 * nx from the registry (npm's cache), `nx add` of the tarball, `nx g nx-aws-deploy:pipeline`, the generated
 * template deployed to the local AWS, and CodeBuild running the generated buildspec (install included) on pushes:
 * the first ships the site, a backend-only push ships nothing, a shared-library change ships the frontend again.
 */
let local: LocalAwsHarness;
let ws: string;
let repo: ReturnType<typeof pushedRepository>;
let stack: StackResult;
const nxVersion: string = JSON.parse(
  readFileSync(join(repoRoot, 'node_modules', 'nx', 'package.json'), 'utf8'),
).version;

/**
 * The environment of a user's shell: no variables of the outer npm or nx run, nx as CI runs it (plugins in Nx's own
 * process: `npm start` runs this repository's nx with isolated plugins); npm answers from its cache when it can.
 */
function userEnv(): Record<string, string> {
  return {
    ...outsideEnv(),
    ...local.env,
    ...NX_CI_ENV,
    npm_config_prefer_offline: 'true',
    npm_config_audit: 'false',
    npm_config_fund: 'false',
    npm_config_update_notifier: 'false',
  };
}

async function run(command: string, ...args: string[]): Promise<string> {
  const result = await exec(command, args, ws, userEnv());
  if (result.code !== 0)
    throw new Error(`${command} ${args.join(' ')} failed (${result.code}):\n${result.stdout}\n${result.stderr}`);
  return result.stdout;
}
const nx = (...args: string[]) => run(join(ws, 'node_modules', '.bin', 'nx'), ...args);

// A frontend that bundles a shared library, and a backend; the frontend build names its asset by content.
const WEB_BUILD = `const fs = require('fs'), crypto = require('crypto');
const js = 'document.body.textContent = ' + JSON.stringify(fs.readFileSync('apps/web/src/page.txt', 'utf8') + ' / ' + fs.readFileSync('libs/ui/src/ui.txt', 'utf8'));
const asset = 'app-' + crypto.createHash('sha256').update(js).digest('hex').slice(0, 8) + '.js';
fs.mkdirSync('dist/apps/web/assets', { recursive: true });
fs.writeFileSync('dist/apps/web/assets/' + asset, js);
fs.writeFileSync('dist/apps/web/index.html', '<!doctype html><title>web</title><script src="/assets/' + asset + '"></script>');
`;

beforeAll(async () => {
  local = await startLocalAws();
  ws = join(tempDir('pipeline-e2e-'), 'acme');
  mkdirSync(ws);
  repo = pushedRepository(ws);
  const project = (name: string, root: string, extra: object) => JSON.stringify({ name, root, ...extra });
  writeFiles(ws, {
    'package.json': JSON.stringify({ name: 'acme', private: true, devDependencies: { nx: nxVersion } }),
    'nx.json': JSON.stringify({ defaultBase: 'main' }),
    '.gitignore': 'node_modules\ndist\n.nx\n',
    'apps/web/project.json': project('web', 'apps/web', {
      implicitDependencies: ['ui'],
      targets: {
        build: {
          executor: 'nx:run-commands',
          outputs: ['{workspaceRoot}/dist/apps/web'],
          options: { command: 'node apps/web/build.js' },
        },
      },
    }),
    'apps/web/build.js': WEB_BUILD,
    'apps/web/src/page.txt': 'page v1',
    'libs/ui/project.json': project('ui', 'libs/ui', {}),
    'libs/ui/src/ui.txt': 'ui v1',
    'apps/api/project.json': project('api', 'apps/api', {
      targets: { build: { executor: 'nx:run-commands', options: { command: 'echo api built' } } },
    }),
    'apps/api/src/server.txt': 'server v1',
  });
  // The package as built for publishing (npm run build, once per run: see built-package.ts).
  await run('npm', 'pack', BUILT_PACKAGE, '--pack-destination', ws, '--silent');
  await run('npm', 'install');
}, 180_000);

afterAll(() => local.stop());

/** The environment variables the template gives a CodeBuild project. */
function environmentOf(on: StackResult, project: string): Record<string, string> {
  const variables = on.properties[project].Environment.EnvironmentVariables as { Name: string; Value: string }[];
  return Object.fromEntries(variables.map((v) => [v.Name, v.Value]));
}

/**
 * What the generated roles are granted that the journey below never calls, and the path that needs it (by role,
 * statement and action; with the resource too when the journey needs the action on the statement's other
 * resources). The necessity check fails when a grant the journey does not need is missing here, or one listed
 * here is needed.
 */
const NOT_IN_THE_JOURNEY: Record<string, string> = {
  'BuildRole WriteLogs logs:CreateLogStream': "CodeBuild writes the build's log (the stand-in keeps it)",
  'BuildRole WriteLogs logs:PutLogEvents': "CodeBuild writes the build's log (the stand-in keeps it)",
  'BuildRole ListSiteBucket s3:ListBucketVersions':
    'a rollback that brings back more than 20 versions (least-privilege.spec.ts runs one as this role)',
  'BuildRole SyncSiteObjects s3:GetObjectVersion':
    "a rollback copies a release's pages from their versions (least-privilege.spec.ts runs one as this role)",
  'BuildRole SyncSiteObjects s3:DeleteObject':
    'the prune of a deploy, once a file is in no kept release (least-privilege.spec.ts runs one as this role)',
  'BuildRole SyncSiteObjects s3:AbortMultipartUpload':
    'a deploy stopped during a multipart upload aborts it (interrupt.spec.ts runs one as this role)',
  'BuildRole PipelineArtifacts s3:GetObject': "CodeBuild downloads the pipeline's source artifact",
  'BuildRole PipelineArtifacts s3:GetObjectVersion': "CodeBuild downloads the pipeline's source artifact (versioned)",
  'BuildRole PipelineArtifacts s3:PutObject': "CodeBuild uploads the build's output artifact (the deploy manifests)",
  'BuildRole ArtifactBucketLocation s3:GetBucketLocation': 'CodeBuild checks the artifact bucket before it uses it',
  'BuildRole ArtifactBucketLocation s3:GetBucketAcl': 'CodeBuild checks the artifact bucket before it uses it',
  'BuildRole BuildParameters ssm:GetParameters': "CodeBuild reads the buildspec's env.parameter-store values",
  'BuildRole BuildParameters ssm:GetParameter': "CodeBuild reads the buildspec's env.parameter-store values",
  'BuildRole FullCloneOfTheSource codeconnections:UseConnection': 'CodeBuild clones the source through the connection',
  'BuildRole FullCloneOfTheSource codestar-connections:UseConnection': 'the same, under the older service name',
  'PromoteRole WriteLogs logs:CreateLogStream': "CodeBuild writes the promote action's log",
  'PromoteRole WriteLogs logs:PutLogEvents': "CodeBuild writes the promote action's log",
  'PromoteRole CheckTheTestedVersions s3:ListBucketVersions': 'a promote that checks more than 20 versions',
  'PromoteRole ReadTheTestedRelease s3:GetObjectVersion':
    'a promote of a release whose files staging has since overwritten',
  'PromoteRole WriteThePromotedSite s3:DeleteObject': "the prune of prod's files that no kept release uses",
  'PromoteRole PipelineArtifacts s3:GetObject': "CodeBuild downloads the promote action's source artifact",
  'PromoteRole PipelineArtifacts s3:GetObjectVersion':
    "CodeBuild downloads the promote action's source artifact (versioned)",
  'PromoteRole ArtifactBucketLocation s3:GetBucketLocation': 'CodeBuild checks the artifact bucket before it uses it',
  'PromoteRole ArtifactBucketLocation s3:GetBucketAcl': 'CodeBuild checks the artifact bucket before it uses it',
  'PromoteRole SourceClone codeconnections:UseConnection': 'CodeBuild clones the source through the connection',
  'PromoteRole SourceClone codestar-connections:UseConnection': 'the same, under the older service name',
  'PipelineRole Artifacts s3:GetObjectVersion': 'CodePipeline reads a versioned artifact to hand it to the next stage',
  'PipelineRole Artifacts s3:PutObject': "CodePipeline stores the source stage's and the build's output artifacts",
  'PipelineRole ArtifactBucketLocation s3:GetBucketLocation':
    'CodePipeline checks the artifact bucket before it uses it',
  'PipelineRole ArtifactBucketLocation s3:ListBucket': 'CodePipeline lists the artifact bucket before it uses it',
  'PipelineRole Source codeconnections:UseConnection': 'the source stage fetches the commit through the connection',
  'PipelineRole Source codestar-connections:UseConnection': 'the same, under the older service name',
  'BatchRole BuildsOfThisProject codebuild:StopBuild': 'CodeBuild stops the builds of a batch that is stopped',
  'BatchRole BuildsOfThisProject codebuild:RetryBuild': 'CodeBuild retries a build of a batch that is retried',
  'InvalidateRole WriteLogs logs:CreateLogStream': "Lambda writes the function's log",
  'InvalidateRole WriteLogs logs:PutLogEvents': "Lambda writes the function's log",
  'InvalidateRole InvalidateThisDistribution cloudfront:CreateInvalidation':
    'the changed paths of a site deployed in place (the generated builds deploy atomic releases: nothing to invalidate)',
  'InvalidateRole InvalidateThisDistribution cloudfront:GetInvalidation':
    '"wait": true in UserParameters follows the invalidation',
  'InvalidateRole ReportJobResult codepipeline:PutJobFailureResult': 'a job that fails is reported failed',
  'PreviewBuildRole WriteLogs logs:CreateLogStream': "CodeBuild writes the preview build's log",
  'PreviewBuildRole WriteLogs logs:PutLogEvents': "CodeBuild writes the preview build's log",
  'PreviewBuildRole SyncPreviewObjects s3:DeleteObject':
    "the prune of a preview deploy, once a file is in none of the preview's kept releases",
  'PreviewBuildRole SyncPreviewObjects s3:AbortMultipartUpload':
    'a preview deploy stopped during a multipart upload aborts it',
  'PreviewBuildRole PipelineArtifacts s3:GetObject': "CodeBuild downloads the previews pipeline's source artifact",
  'PreviewBuildRole PipelineArtifacts s3:GetObjectVersion':
    "CodeBuild downloads the previews pipeline's source artifact (versioned)",
  'PreviewBuildRole PipelineArtifacts s3:PutObject': "CodeBuild uploads the preview build's output artifact",
  'PreviewBuildRole ArtifactBucketLocation s3:GetBucketLocation':
    'CodeBuild checks the artifact bucket before it uses it',
  'PreviewBuildRole ArtifactBucketLocation s3:GetBucketAcl': 'CodeBuild checks the artifact bucket before it uses it',
  'PreviewBuildRole BuildParameters ssm:GetParameters': "CodeBuild reads the buildspec's env.parameter-store values",
  'PreviewBuildRole BuildParameters ssm:GetParameter': "CodeBuild reads the buildspec's env.parameter-store values",
  'PreviewBuildRole FullCloneOfTheSource codeconnections:UseConnection':
    'CodeBuild clones the pull request through the connection',
  'PreviewBuildRole FullCloneOfTheSource codestar-connections:UseConnection': 'the same, under the older service name',
};

/** Every call the roles of the deployed templates made in the journey, as IAM authorized them. */
const journey = new JourneyCalls();

/**
 * IAM let every request the sessions of the stack's role `logicalId` made since the log was reset (the local AWS
 * decides each request signed with a session's key against the deployed template's policies): there was at least
 * one, none was refused. A refusal can fail nothing visibly (a listing that falls back), so it is checked here,
 * not assumed from a build that passed. The calls are kept for the necessity check.
 */
async function expectAllowedFor(on: StackResult, logicalId: string, step: string, log?: LoggedRequest[]) {
  const made = journey.record(on, logicalId, step, log ?? (await local.requestLog()));
  const refused = made.filter((r) => r.authorizations?.some((a) => !a.allowed));
  expect([logicalId, refused]).toEqual([logicalId, []]);
  expect(made.length).toBeGreaterThan(0);
}

/**
 * CodeBuild running the workspace's buildspec as a batch of the stack's `project`, two builds at once: the variables,
 * role and batch role the template gives it, the workspace's node_modules linked in, the combined artifact stored.
 */
function batchOf(on: StackResult, project: 'BuildProject' | 'PreviewProject') {
  return {
    buildspecFile: join(ws, 'buildspec.yml'),
    env: { ...userEnv(), ...environmentOf(on, project) },
    role: on.properties[project].ServiceRole as string,
    batch: {
      role: on.properties[project].BuildBatchConfig.ServiceRole as string,
      project: `arn:aws:codebuild:us-east-1:000000000000:project/${on.resources[project]}`,
    },
    nodeModules: join(ws, 'node_modules'),
    parallel: 2,
    artifactBucket: on.resources.ArtifactBucket,
  };
}

/** The Lambda of the zip the package ships, loaded as its runtime does; `dispose` removes the folder it runs from. */
function packagedLambda(): { handler: (event: unknown) => Promise<void>; dispose(): void } {
  const dir = mkdtempSync(join(__dirname, '..', '.tmp-lambda-'));
  const zip = readFileSync(join(BUILT_PACKAGE, 'lambda', 'function.zip'));
  writeFileSync(join(dir, 'index.js'), unzipSync(zip)['index.js']);
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- the packaged Lambda, loaded as its runtime does
  const { handler } = require(join(dir, 'index.js')) as { handler: (event: unknown) => Promise<void> };
  return { handler, dispose: () => rmSync(dir, { recursive: true, force: true }) };
}

/**
 * CodePipeline reaching a stage whose Invoke action runs the stack's Lambda: the job it creates (its variables
 * resolved), run by the function with its role's credentials in its environment, as the Lambda runtime gives them.
 */
async function invokeStage(
  handler: (event: unknown) => Promise<void>,
  on: StackResult,
  pipelineExecutionId: string,
  stage: string,
): Promise<Job> {
  const { actions } = await local.startStage(pipelineExecutionId, stage);
  const { jobId, event } = actions[0].job!;
  Object.assign(process.env, await local.assumeRole(on.properties.InvalidateFunction.Role, 'invalidate-function'));
  try {
    await handler(event);
  } finally {
    delete process.env.AWS_SESSION_TOKEN;
    Object.assign(process.env, local.env);
  }
  return local.job(jobId);
}

/** What the site serves through the edge: its home page, and the script the page names. */
async function served(distributionId: string): Promise<{ page: string; asset: string }> {
  const home = await edgeGet(local.aws, distributionId, '/');
  const page = home.status === 200 ? home.body.toString() : '';
  const script = /src="(\/assets\/[^"]+)"/.exec(page)?.[1];
  return { page, asset: script ? (await edgeGet(local.aws, distributionId, script)).body.toString() : '' };
}

/**
 * The site below a bucket as the aws CLI reads it: MD5 of each object, the deploy's bookkeeping left out; a
 * site deployed atomically as its release `release` (its folder's files at their paths, the shared ones as they are).
 */
async function siteContents(bucket: string, release?: number): Promise<Record<string, string>> {
  const { stdout } = await local.cli(['s3api', 'list-objects-v2', '--bucket', bucket]);
  const keys = (JSON.parse(stdout || '{}').Contents ?? [])
    .map((o: { Key: string }) => o.Key)
    .filter((k: string) => !k.includes('.nx-aws-deploy/'))
    .filter((k: string) => !k.startsWith('_releases/') || k.startsWith(`_releases/${release}/`));
  const down = tempDir('site-');
  await local.cli(['s3', 'sync', `s3://${bucket}`, down, '--exclude', '.nx-aws-deploy/*']);
  return Object.fromEntries(
    keys.map((k: string) => [
      k.replace(/^_releases\/\d+\//, ''),
      createHash('md5')
        .update(readFileSync(join(down, k)))
        .digest('hex'),
    ]),
  );
}

/**
 * One pipeline execution of the generated stack at `head`, CodeBuild with the environment the template gives it.
 * `install`: run the buildspec's install phase (`npm ci`) in the clone, as CodeBuild does each time; otherwise,
 * to spare a minute of CPU per build once it was shown to work, the workspace's installed node_modules is linked.
 */
async function pushAndBuild(
  files: Record<string, string>,
  message: string,
  { on = stack, install = false }: { on?: StackResult; install?: boolean } = {},
) {
  const head = repo.commit(files, message);
  await local.resetRequests();
  const build = await runCodeBuild({
    local,
    pipeline: on.resources.Pipeline,
    bare: repo.bare,
    head,
    buildspecFile: join(ws, 'buildspec.yml'),
    phases: [...(install ? (['install'] as const) : []), 'pre_build', 'build', 'post_build'],
    nodeModules: install ? undefined : join(ws, 'node_modules'),
    env: { ...userEnv(), ...environmentOf(on, 'BuildProject') },
    role: on.properties.BuildProject.ServiceRole,
    stage: 'Build',
  });
  if (build.code !== 0) throw new Error(`CodeBuild failed:\n${build.log}`);
  await expectAllowedFor(on, 'BuildRole', 'build (set-shas, nx affected -t deploy)');
  await expectAllowedFor(on, 'PipelineRole', 'CodePipeline, build stage');
  await finishExecution(local, build.pipelineExecutionId, 'Succeeded');
  // Writes of site files; the deploy's bookkeeping (state, lease, marker) is counted apart.
  const puts = (await local.requestLog()).filter((r) => r.operation === 's3.PutObject');
  const sitePuts = puts.filter((r) => !r.path.includes('/.nx-aws-deploy/')).length;
  const { page, asset } = await served(on.outputs.DistributionId);
  return { log: build.log, uploads: sitePuts, bookkeeping: puts.length - sitePuts, page, asset };
}

describe('nx add + nx g nx-aws-deploy:pipeline + nx affected -t deploy, in a fresh workspace', () => {
  it('nx add installs the packed plugin and registers it; init again changes nothing', async () => {
    const tarball = `nx-aws-deploy-${JSON.parse(readFileSync(join(repoRoot, 'packages', 'nx-aws-deploy', 'package.json'), 'utf8')).version}.tgz`;
    await nx('add', `nx-aws-deploy@file:./${tarball}`);
    const nxJson = readFileSync(join(ws, 'nx.json'), 'utf8');
    expect(JSON.parse(nxJson).plugins).toEqual([expect.objectContaining({ plugin: 'nx-aws-deploy' })]);
    await nx('g', 'nx-aws-deploy:init', '--no-interactive');
    expect(readFileSync(join(ws, 'nx.json'), 'utf8')).toBe(nxJson);
  }, 120_000);

  it('nx g nx-aws-deploy:pipeline writes buildspec.yml and the template; web gets inferred deploy and invalidate targets', async () => {
    await nx(
      'g',
      'nx-aws-deploy:pipeline',
      '--project=web',
      '--environment=dev',
      '--repository=acme/web',
      '--no-interactive',
    );
    expect(existsSync(join(ws, 'buildspec.yml'))).toBe(true);
    const template = parseTemplate(readFileSync(join(ws, 'infra', 'web-dev.yml'), 'utf8'));
    // The Lambda code the template points at is in the installed package.
    expect(existsSync(join(ws, 'infra', template.Resources.InvalidateFunction.Properties!.Code))).toBe(true);
    const web = JSON.parse(await nx('show', 'project', 'web', '--json'));
    expect(web.targets.deploy).toMatchObject({ executor: 'nx-aws-deploy:deploy-s3', dependsOn: ['build'] });
    expect(web.targets.invalidate).toMatchObject({ executor: 'nx-aws-deploy:invalidate' });
    await expect(nx('g', 'nx-aws-deploy:pipeline', '--project=ui', '--no-interactive')).rejects.toThrow(
      /--project: "ui" has no build target/,
    );
  }, 120_000);

  it('the first push ships the site as an atomic release, served through the edge by the generated release router', async () => {
    stack = await deployGeneratedStack(local.aws.url, 'web-dev', join(ws, 'infra', 'web-dev.yml'));
    const first = await pushAndBuild({}, 'nx-aws-deploy pipeline', { install: true });
    expect(first.log).toMatch(/everything is affected/);
    expect(first.asset).toContain('page v1 / ui v1');
    const deepLink = await edgeGet(local.aws, stack.outputs.DistributionId, '/settings/profile');
    expect([deepLink.status, deepLink.body.toString()]).toEqual([200, first.page]);
  }, 180_000);

  it('a backend-only push ships nothing', async () => {
    const run = await pushAndBuild({ 'apps/api/src/server.txt': 'server v2' }, 'api only');
    expect(run.log).toMatch(/affected projects: api$/m);
    expect(run.log).toContain('No project was affected: nothing deployed, nothing to invalidate.');
    expect([run.uploads, run.bookkeeping]).toEqual([0, 0]); // no deploy at all, so no lease either
  }, 180_000);

  it('a change in the shared library ships the frontend that uses it', async () => {
    const run = await pushAndBuild({ 'libs/ui/src/ui.txt': 'ui v2' }, 'ui');
    expect(run.asset).toContain('page v1 / ui v2');
    expect(run.uploads).toBe(2); // the new asset and index.html
  }, 180_000);
  it('--promoteTo=prod: after the staging deploy, the generated promote action ships the same bytes to prod', async () => {
    await nx(
      'g',
      'nx-aws-deploy:pipeline',
      '--project=web',
      '--environment=staging',
      '--promoteTo=prod',
      '--repository=acme/web',
      '--no-interactive',
    );
    const staging = await deployGeneratedStack(local.aws.url, 'web-staging', join(ws, 'infra', 'web-staging.yml'));
    const built = await pushAndBuild({ 'apps/web/src/page.txt': 'page v2' }, 'staging with promotion', {
      on: staging,
    });
    expect(built.asset).toContain('page v2 / ui v2');

    // After the manual approval, the Promote stage runs its CodeBuild project: the inline buildspec, its variables.
    const buildspecFile = join(tempDir('promote-'), 'buildspec.yml');
    writeFileSync(buildspecFile, staging.properties.PromoteProject.Source.BuildSpec);
    await local.resetRequests();
    const promoted = await runCodeBuild({
      local,
      pipeline: staging.resources.Pipeline,
      bare: repo.bare,
      head: repo.commit({}, 'approved'),
      buildspecFile,
      // Its install phase (npm ci --ignore-scripts) as the first push's: the workspace's node_modules, linked.
      phases: ['build'],
      nodeModules: join(ws, 'node_modules'),
      env: { ...userEnv(), ...environmentOf(staging, 'PromoteProject') },
      role: staging.properties.PromoteProject.ServiceRole,
      stage: 'Promote',
    });
    expect([promoted.code, promoted.log]).toEqual([0, expect.stringContaining('Promoting release 1 of s3://')]);
    await expectAllowedFor(staging, 'PromoteRole', 'promote action');
    await expectAllowedFor(staging, 'PipelineRole', 'CodePipeline, promote stage');
    const prod = staging.outputs.PromoteBucketName;
    // Staging's release 1, shipped to prod as its release 1, atomic there too (its own key in the stack's store).
    expect(await siteContents(prod, 1)).toEqual(await siteContents(staging.outputs.BucketName, 1));
    expect(promoted.log).toContain('made live with one write of "web-prod"');
    // Server-side copies only: nothing was built or uploaded from the build machine.
    const prodWrites = (await local.requestLog()).filter(
      (r) => r.path.startsWith(`/${prod}/`) && !r.path.includes('.nx-aws-deploy/') && r.method === 'PUT',
    );
    expect(new Set(prodWrites.map((r) => r.operation))).toEqual(new Set(['s3.CopyObject']));
    const served = await edgeGet(local.aws, staging.outputs.PromoteDistributionId, '/');
    expect([served.status, served.body.toString()]).toEqual([200, built.page]);
  }, 300_000);
  it('--batch: a build per app in parallel; a shared-library change ships web and docs, each an atomic release of its own site (nothing to invalidate); a backend-only change ends every build early', async () => {
    const DOCS_BUILD = WEB_BUILD.replaceAll('apps/web', 'apps/docs');
    repo.commit(
      {
        'apps/docs/project.json': JSON.stringify({
          name: 'docs',
          root: 'apps/docs',
          implicitDependencies: ['ui'],
          targets: {
            build: {
              executor: 'nx:run-commands',
              outputs: ['{workspaceRoot}/dist/apps/docs'],
              options: { command: 'node apps/docs/build.js' },
            },
          },
        }),
        'apps/docs/build.js': DOCS_BUILD,
        'apps/docs/src/page.txt': 'docs v1',
        'apps/docs/nx-aws-deploy.json': '{}\n',
      },
      'docs app',
    );
    await nx(
      'g',
      'nx-aws-deploy:pipeline',
      '--batch',
      '--environment=prod',
      '--repository=acme/web',
      '--no-interactive',
    );
    // The generated list is what nx sync wants: sync:check passes (each build runs it too).
    await nx('sync:check');
    const sites = await deployGeneratedStack(local.aws.url, 'sites-prod', join(ws, 'infra', 'sites-prod.yml'));
    const lambda = packagedLambda();
    const cloudfront = new CloudFrontClient({});
    try {
      const invalidated = async (distributionId: string) => {
        const items =
          (await cloudfront.send(new ListInvalidationsCommand({ DistributionId: distributionId }))).InvalidationList
            ?.Items ?? [];
        return Promise.all(
          items.map(async (i) =>
            (
              await cloudfront.send(new GetInvalidationCommand({ DistributionId: distributionId, Id: i.Id! }))
            ).Invalidation!.InvalidationBatch!.Paths!.Items!.sort(),
          ),
        );
      };
      const asset = async (distributionId: string) => (await served(distributionId)).asset;
      /** A push through the batch pipeline: its builds, then the invalidation Lambda on the combined artifact. */
      const pushThroughBatch = async (files: Record<string, string>, message: string) => {
        const head = repo.commit(files, message);
        await local.resetRequests();
        const batch = await runBatchBuild({
          local,
          pipeline: sites.resources.Pipeline,
          bare: repo.bare,
          head,
          phases: ['pre_build', 'build', 'post_build'],
          stage: 'Build',
          ...batchOf(sites, 'BuildProject'),
        });
        for (const build of batch.builds)
          // A failed build shows its log's end.
          expect([build.identifier, build.code === 0 ? '' : build.log.slice(-3000)]).toEqual([build.identifier, '']);
        const buildLog = await local.requestLog();
        await expectAllowedFor(sites, 'BuildRole', 'build (set-shas, nx affected -t deploy)', buildLog);
        await expectAllowedFor(sites, 'PipelineRole', 'CodePipeline, build stage', buildLog);
        await expectAllowedFor(sites, 'BatchRole', 'CodeBuild, batch', buildLog);
        // CodePipeline invokes the Lambda with a job on the build's combined artifact, as the stage declares it.
        const job = await invokeStage(lambda.handler, sites, batch.pipelineExecutionId, 'Invalidate');
        expect([job.status, job.failureDetails?.message]).toEqual(['Succeeded', undefined]);
        const invalidateLog = (await local.requestLog()).slice(buildLog.length);
        await expectAllowedFor(sites, 'InvalidateRole', 'invalidate Lambda', invalidateLog);
        // It read the combined artifact with the credentials CodePipeline gave the job: the pipeline role's.
        await expectAllowedFor(
          sites,
          'PipelineRole',
          'invalidate stage (CodePipeline; the Lambda, artifact credentials)',
          invalidateLog,
        );
        await finishExecution(local, batch.pipelineExecutionId, 'Succeeded');
        const logs = Object.fromEntries(batch.builds.map((b) => [b.identifier, b.log]));
        return { batch, logs };
      };

      const first = await pushThroughBatch({}, 'batch pipeline');
      const history = JSON.parse(
        (await local.cli(['s3', 'cp', `s3://${sites.outputs.DocsBucketName}/.nx-aws-deploy/releases/index.json`, '-']))
          .stdout,
      );
      expect(history.releases[0]).toMatchObject({
        number: 1,
        project: 'docs',
        pipelineExecution: first.batch.pipelineExecutionId,
      });
      const [web, docs] = [
        first.batch.builds.find((b) => b.identifier === 'deploy_web')!,
        first.batch.builds.find((b) => b.identifier === 'deploy_docs')!,
      ];
      // In parallel: each started before the other ended.
      expect(web.startedAt < docs.endedAt && docs.startedAt < web.endedAt).toBe(true);
      expect(await asset(sites.outputs.WebDistributionId)).toContain('page v2 / ui v2');
      expect(await asset(sites.outputs.DocsDistributionId)).toContain('docs v1 / ui v2');
      // Each made live with one write of the stack's KeyValueStore: nothing to invalidate.
      expect(await invalidated(sites.outputs.WebDistributionId)).toEqual([]);
      expect(await invalidated(sites.outputs.DocsDistributionId)).toEqual([]);

      const backend = await pushThroughBatch({ 'apps/api/src/server.txt': 'server v3' }, 'api again');
      expect(backend.logs.deploy_web).toContain('No project was affected (this build ships web): nothing deployed');
      expect(backend.logs.deploy_docs).toContain('No project was affected (this build ships docs): nothing deployed');
      // Not even the lease: no build deployed, so no request reached a site bucket.
      const siteBuckets = [sites.outputs.WebBucketName, sites.outputs.DocsBucketName];
      expect((await local.requestLog()).filter((r) => siteBuckets.some((b) => r.path.startsWith(`/${b}/`)))).toEqual(
        [],
      );

      await pushThroughBatch({ 'libs/ui/src/ui.txt': 'ui v3' }, 'ui v3');
      expect(await asset(sites.outputs.WebDistributionId)).toContain('page v2 / ui v3');
      expect(await asset(sites.outputs.DocsDistributionId)).toContain('docs v1 / ui v3');
      expect(await invalidated(sites.outputs.WebDistributionId)).toEqual([]);
      expect(await invalidated(sites.outputs.DocsDistributionId)).toEqual([]);
    } finally {
      cloudfront.destroy();
      lambda.dispose();
    }
  }, 420_000);

  it('--previews: a pull request gets a preview of each app it affects (a shared-library change: both), updated by each push, gone when it closes; production never changes; the preview build cannot write the site', async () => {
    await nx(
      ...['g', 'nx-aws-deploy:pipeline', '--batch', '--environment=prod', '--repository=acme/web'],
      ...['--previewDomain=previews.example.com', '--no-interactive'],
    );
    repo.commit({}, 'pull-request previews');
    // The stack updated: the routers serve preview hosts, the previews pipelines and build project are new.
    const sites = await deployGeneratedStack(local.aws.url, 'sites-prod', join(ws, 'infra', 'sites-prod.yml'));
    const [web, docs] = [sites.outputs.WebDistributionId, sites.outputs.DocsDistributionId];
    const production = { web: await served(web), docs: await served(docs) };
    const preview = async (distributionId: string) => {
      const home = await previewGet(local.aws, distributionId, 'pr-7', '/');
      const script = /src="(\/assets\/[^"]+)"/.exec(home.body.toString())?.[1];
      const asset = script ? (await previewGet(local.aws, distributionId, 'pr-7', script)).body.toString() : '';
      return { status: home.status, robots: home.headers.get('x-robots-tag'), asset };
    };
    // The pull request's branch, pushed to the host; each event as its webhook tells CodePipeline.
    git(ws, 'checkout', '-q', '-b', 'feature');
    const push = (files: Record<string, string>, message: string) => {
      writeFiles(ws, files);
      git(ws, 'add', '-A');
      git(ws, 'commit', '-q', '-m', message);
      git(ws, 'push', '-q', 'origin', 'feature');
      return git(ws, 'rev-parse', 'HEAD');
    };
    const lambda = packagedLambda();
    try {
      /** The Lambda's job in a stage of the previews pipelines, every call of it authorized. */
      const invoked = async (pipelineExecutionId: string, stage: string) => {
        const since = (await local.requestLog()).length;
        const job = await invokeStage(lambda.handler, sites, pipelineExecutionId, stage);
        expect([job.status, job.failureDetails?.message]).toEqual(['Succeeded', undefined]);
        const log = (await local.requestLog()).slice(since);
        await expectAllowedFor(sites, 'InvalidateRole', `${stage.toLowerCase()} Lambda (previews)`, log);
        return job;
      };
      const pullRequestEvent = async (event: 'OPEN' | 'UPDATED' | 'CLOSED', head: string) => {
        const { executions } = await local.pullRequest({
          ...{
            repository: sites.parameters.RepositoryId,
            event,
            number: 7,
            sourceBranch: 'feature',
            destinationBranch: 'main',
          },
          commit: head,
        });
        const pipeline = event === 'CLOSED' ? 'sites-prod-closed-previews' : 'sites-prod-previews';
        expect(executions.map((e) => e.pipelineName)).toEqual([pipeline]);
        const { pipelineExecutionId } = executions[0];
        await local.resetRequests();
        // Closed: no build, the Lambda removes the previews.
        if (event === 'CLOSED') return { logs: {}, job: await invoked(pipelineExecutionId, 'Remove') };
        const batch = await runBatchBuild({
          ...{ local, pipeline, bare: repo.bare, head },
          phases: ['pre_build', 'build', 'post_build'],
          stage: 'Preview',
          ...batchOf(sites, 'PreviewProject'),
          pullRequest: { pipelineExecutionId, branch: 'feature' },
        });
        for (const build of batch.builds)
          // A failed build shows its log's end.
          expect([build.identifier, build.code === 0 ? '' : build.log.slice(-3000)]).toEqual([build.identifier, '']);
        const step = `pull request ${event.toLowerCase()}`;
        await expectAllowedFor(sites, 'PreviewBuildRole', `preview build (${step})`);
        await expectAllowedFor(sites, 'PipelineRole', `CodePipeline, preview stage (${step})`);
        await expectAllowedFor(sites, 'BatchRole', `CodeBuild, preview batch (${step})`);
        // Staged only: nothing the build did reached the store but reads.
        const storeWrites = (await local.requestLog()).filter((r) => /PutKey|UpdateKeys/.test(r.operation));
        expect(storeWrites).toEqual([]);
        const job = await invoked(pipelineExecutionId, 'Publish');
        await finishExecution(local, pipelineExecutionId, 'Succeeded');
        return { logs: Object.fromEntries(batch.builds.map((b) => [b.identifier, b.log])), job };
      };

      const opened = await pullRequestEvent('OPEN', push({ 'libs/ui/src/ui.txt': 'ui pr 7' }, 'ui for pr 7'));
      expect(opened.logs.deploy_web).toContain('Preview: https://pr-7.web.previews.example.com/');
      expect(opened.logs.deploy_web).toContain('set-shas: base');
      expect(opened.job.executionDetails).toMatchObject({
        summary: 'docs: release 1 of pr-7 is live. web: release 1 of pr-7 is live.',
      });
      expect(await preview(web)).toEqual({
        status: 200,
        robots: 'noindex',
        asset: expect.stringContaining('page v2 / ui pr 7'),
      });
      expect(await preview(docs)).toEqual({
        status: 200,
        robots: 'noindex',
        asset: expect.stringContaining('docs v1 / ui pr 7'),
      });
      expect({ web: await served(web), docs: await served(docs) }).toEqual(production);

      await pullRequestEvent('UPDATED', push({ 'apps/web/src/page.txt': 'page pr 7' }, 'page for pr 7'));
      expect((await preview(web)).asset).toContain('page pr 7 / ui pr 7');
      expect((await preview(docs)).asset).toContain('docs v1 / ui pr 7');
      const listed = JSON.parse(
        await run(
          join(ws, 'node_modules', '.bin', 'nx-aws-deploy'),
          ...['previews', '--bucket', sites.outputs.WebBucketName, '--bucket', sites.outputs.DocsBucketName, '--json'],
        ),
      );
      expect(listed.map((p: { name: string; project: string }) => `${p.name} ${p.project}`).sort()).toEqual([
        'pr-7 docs',
        'pr-7 web',
      ]);

      // The pull request's code, run as the preview build's role, cannot ship production.
      const asPreviewBuild = await local.assumeRole(sites.properties.PreviewProject.ServiceRole, 'AWSCodeBuild-pr-7');
      writeFiles(ws, { 'dist/unreviewed/index.html': 'not reviewed' });
      const attempt = await exec(
        join(ws, 'node_modules', '.bin', 'nx-aws-deploy'),
        ['deploy', '--source-dir', 'dist/unreviewed', '--bucket', sites.outputs.WebBucketName, '--no-wait'],
        ws,
        { ...userEnv(), ...asPreviewBuild },
      );
      expect([attempt.code, attempt.stderr]).toEqual([
        1,
        expect.stringContaining(
          `Access denied: s3:GetObject on s3://${sites.outputs.WebBucketName}/.nx-aws-deploy/lease.json`,
        ),
      ]);
      expect({ web: await served(web), docs: await served(docs) }).toEqual(production);

      // Nor write any key of the store: not production's, not even its own preview's (the Lambda publishes).
      const storeAttempt = await exec(
        join(ws, 'node_modules', '.bin', 'nx-aws-deploy'),
        ['preview', 'password', '--key-value-store-arn', sites.outputs.ReleaseStoreArn, '--site', 'web'],
        ws,
        { ...userEnv(), ...asPreviewBuild },
        'guessed\n',
      );
      expect([storeAttempt.code, storeAttempt.stderr]).toEqual([
        1,
        expect.stringContaining(
          `Access denied: cloudfront-keyvaluestore:DescribeKeyValueStore on ${sites.outputs.ReleaseStoreArn}`,
        ),
      ]);

      const closed = await pullRequestEvent('CLOSED', git(ws, 'rev-parse', 'HEAD'));
      expect(closed.job.executionDetails).toMatchObject({
        summary: expect.stringMatching(
          /^docs: pr-7 removed \(2 key\(s\) of the store, \d+ object\(s\)\)\. web: pr-7 removed \(2 key/,
        ),
      });
      for (const bucket of [sites.outputs.WebBucketName, sites.outputs.DocsBucketName]) {
        const { stdout } = await local.cli(['s3api', 'list-objects-v2', '--bucket', bucket, '--prefix', '_previews/']);
        expect([bucket, JSON.parse(stdout || '{}').Contents ?? []]).toEqual([bucket, []]);
      }
      // Its hosts serve production again.
      expect((await preview(web)).asset).toBe(production.web.asset);
      git(ws, 'checkout', '-q', 'main');
    } finally {
      lambda.dispose();
    }
  }, 300_000);

  it('least privilege: the journey needs each action its roles are granted, or the README says which path does', async () => {
    const grants = await journey.grants();
    // Granted, never used by the journey, and why: each is still needed, on a path named here.
    expect(unusedGrants(grants).sort()).toEqual(Object.keys(NOT_IN_THE_JOURNEY).sort());
    const table = grantsTable(grants, NOT_IN_THE_JOURNEY);
    // The table's cells, whatever padding Prettier gave its columns.
    const cells = (markdown: string) =>
      markdown
        .trim()
        .split('\n')
        .map((row) => row.replace(/\s*\|\s*/g, '|').replace(/-{3,}/g, '---'));
    const readme = readFileSync(join(repoRoot, 'README.md'), 'utf8');
    const [before, rest] = readme.split('<!-- iam-grants:start -->\n');
    const after = rest.slice(rest.indexOf('<!-- iam-grants:end -->'));
    // UPDATE_README=1 writes the table (then run npm run format) after a change to the templates or the calls.
    if (process.env.UPDATE_README === '1')
      writeFileSync(join(repoRoot, 'README.md'), `${before}<!-- iam-grants:start -->\n${table}\n${after}`);
    else expect(cells(rest.slice(0, rest.indexOf('<!-- iam-grants:end -->')))).toEqual(cells(table));
  }, 120_000);
});
