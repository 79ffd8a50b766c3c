import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { CodePipelineClient, CreatePipelineCommand, StartPipelineExecutionCommand } from '@aws-sdk/client-codepipeline';
import { startLocalAws, type LocalAwsHarness } from 'local-aws';
import { exec, finishExecution, git, pushedRepository, runCodeBuild, shallowClone } from './codebuild';
import { TEST_NODE_MODULES } from './built-package';
import { CLI } from './site';
import { NX_CI_ENV, outsideEnv, repoRoot } from './workspace';
import { tempDir } from 'test-support';

/**
 * CodeBuild running this repository's buildspec.yml on real git history: a shallow clone of a bare repository
 * at the pushed commit, `set-shas` against the local CodePipeline's execution history, then `nx affected -t deploy`
 * against the local S3. The workspace has the three example roles: frontend (deployed), the shared-ui
 * library it imports, and a backend it does not depend on.
 */
let local: LocalAwsHarness;
let codepipeline: CodePipelineClient;
let repo: ReturnType<typeof pushedRepository>;
const BUCKET = 'affected-site';
const commit = (files: Record<string, string>, message: string) => repo.commit(files, message);

/**
 * CodeBuild running this repository's buildspec (pre_build and build) at `head`, with the environment the generated
 * CodeBuild project sets (this pipeline ships the frontend); `env` adds to it, e.g. who started the build.
 */
const codeBuild = (head: string, env: Record<string, string> = {}) =>
  runCodeBuild({
    local,
    pipeline: 'web',
    bare: repo.bare,
    head,
    buildspecFile: join(repoRoot, 'buildspec.yml'),
    phases: ['pre_build', 'build'],
    nodeModules: TEST_NODE_MODULES,
    env: { SITE_BUCKET: BUCKET, DEPLOY_PROJECTS: 'frontend', DISTRIBUTION_ID: '', ...env },
  });

/** One pipeline execution at `head`: CodeBuild's shallow clone, set-shas, nx affected -t deploy; then its final status. */
async function pipelineRun(head: string, finalStatus: 'Succeeded' | 'Failed' = 'Succeeded') {
  await local.resetRequests();
  const run = await codeBuild(head);
  expect([run.code, run.log]).toEqual([0, expect.anything()]);
  await finishExecution(local, run.pipelineExecutionId, finalStatus);
  const requests = await local.requests();
  return {
    log: run.log,
    exported: run.exported,
    built: existsSync(join(run.clone, 'dist', 'frontend', 'index.html')),
    uploads: requests['s3.PutObject'] ?? 0,
    page: await local.cli(['s3', 'cp', `s3://${BUCKET}/index.html`, '-']).then(
      (r) => r.stdout,
      () => '',
    ),
  };
}

beforeAll(async () => {
  local = await startLocalAws();
  codepipeline = new CodePipelineClient({});
  await codepipeline.send(
    new CreatePipelineCommand({
      pipeline: {
        name: 'web',
        roleArn: 'arn:aws:iam::000000000000:role/p',
        artifactStore: { type: 'S3', location: 'artifacts' },
        stages: [],
      },
    }),
  );
  await local.cli(['s3', 'mb', `s3://${BUCKET}`]);

  const source = join(tempDir('affected-'), 'source');
  mkdirSync(source);
  const build =
    "node -e \"const fs=require('fs');fs.mkdirSync('dist/frontend',{recursive:true});fs.writeFileSync('dist/frontend/index.html',fs.readFileSync('frontend/src/page.txt','utf8')+' / '+fs.readFileSync('shared-ui/src/ui.txt','utf8'))\"";
  repo = pushedRepository(source);
  repo.commit(
    {
      'package.json': JSON.stringify({ name: 'affected-workspace', private: true }),
      'nx.json': JSON.stringify({ useDaemonProcess: false, defaultBase: 'main' }),
      '.gitignore': 'node_modules\ndist\n.nx\n',
      'frontend/project.json': JSON.stringify({
        name: 'frontend',
        root: 'frontend',
        implicitDependencies: ['shared-ui'],
        targets: {
          build: {
            executor: 'nx:run-commands',
            outputs: ['{workspaceRoot}/dist/frontend'],
            options: { command: build },
          },
          deploy: { executor: 'nx-aws-deploy:deploy-s3', dependsOn: ['build'], options: { bucket: BUCKET } },
        },
      }),
      'frontend/src/page.txt': 'page v1',
      'shared-ui/project.json': JSON.stringify({ name: 'shared-ui', root: 'shared-ui' }),
      'shared-ui/src/ui.txt': 'ui v1',
      'backend/project.json': JSON.stringify({
        name: 'backend',
        root: 'backend',
        targets: {
          build: { executor: 'nx:run-commands', options: { command: 'echo backend' } },
          deploy: { executor: 'nx:run-commands', options: { command: 'echo deploying backend' } },
        },
      }),
      'backend/src/server.txt': 'server v1',
    },
    'initial workspace',
  );
});

afterAll(async () => {
  codepipeline.destroy();
  await local.stop();
});

// One history, in order, as a team would push it.
describe('affected-driven CI in CodeBuild', () => {
  it('deploys everything on the first run, when no deploy has succeeded yet, and says so', async () => {
    const first = await pipelineRun(git(repo.source, 'rev-parse', 'HEAD'));
    expect(first.log).not.toContain('deploying backend'); // DEPLOY_PROJECTS: only this pipeline's frontend
    expect(first.exported.NX_AFFECTED_ALL).toBe('true');
    expect(first.log).toMatch(
      /no successful deploy recorded in the last Succeeded execution of pipeline web \(first run\): everything is affected/,
    );
    expect(first.page).toBe('page v1 / ui v1');
  });

  it('builds and ships nothing for a backend-only push', async () => {
    const run = await pipelineRun(commit({ 'backend/src/server.txt': 'server v2' }, 'backend only'));
    expect(run.exported.NX_AFFECTED_ALL).toBe('false');
    expect(run.log).toMatch(/affected projects: backend$/m);
    expect(run.built).toBe(false);
    expect(run.uploads).toBe(0);
  });

  it('ships the frontend when the shared library it imports changed', async () => {
    const run = await pipelineRun(commit({ 'shared-ui/src/ui.txt': 'ui v2' }, 'shared ui'));
    expect(run.built).toBe(true);
    expect(run.page).toBe('page v1 / ui v2');
  });

  it('sees a whole multi-commit push, where only the first commit touched the frontend (HEAD~1 would miss it)', async () => {
    commit({ 'frontend/src/page.txt': 'page v2' }, 'frontend');
    commit({ 'backend/src/server.txt': 'server v3' }, 'backend');
    const run = await pipelineRun(commit({ 'backend/src/server.txt': 'server v4' }, 'backend again'));
    expect(run.log).toMatch(/fetching 100 more commits/);
    expect(run.page).toBe('page v2 / ui v2');
  });

  it('after a failed execution, the next run still deploys the change the failed one carried', async () => {
    await pipelineRun(commit({ 'frontend/src/page.txt': 'page v3' }, 'frontend, deploy fails later'), 'Failed');
    await local.cli(['s3', 'rm', `s3://${BUCKET}/index.html`]); // the failed run's deploy never went live
    const run = await pipelineRun(commit({ 'backend/src/server.txt': 'server v5' }, 'backend after failure'));
    expect(run.built).toBe(true);
    expect(run.page).toBe('page v3 / ui v2');
  });

  it('falls back to everything, with a clear line, when the base is not in the history', async () => {
    const { pipelineExecutionId } = await codepipeline.send(
      new StartPipelineExecutionCommand({
        name: 'web',
        sourceRevisions: [
          {
            actionName: 'Source',
            revisionType: 'COMMIT_ID',
            revisionValue: 'deadbeefdeadbeefdeadbeefdeadbeefdeadbeef',
          },
        ],
      }),
    );
    await fetch(`${local.aws.url}/_local/codepipeline/executions/${pipelineExecutionId}`, {
      method: 'PUT',
      body: JSON.stringify({ status: 'Succeeded' }),
    });
    const run = await pipelineRun(commit({ 'backend/src/server.txt': 'server v6' }, 'after a force-push'));
    expect(run.exported.NX_AFFECTED_ALL).toBe('true');
    expect(run.log).toMatch(
      /base deadbeefdeadbeefdeadbeefdeadbeefdeadbeef from the last Succeeded execution of pipeline web is not in the history \(force-push, rewritten history or too deep\): everything is affected/,
    );
    expect(run.built).toBe(true);
  });

  it('without a pipeline, takes the base from the deploy marker the last CodeBuild deploy wrote to the bucket', async () => {
    const deployed = git(repo.source, 'rev-parse', 'HEAD');
    const marker = JSON.parse(
      (await local.cli(['s3', 'cp', `s3://${BUCKET}/.nx-aws-deploy/last-deploy.json`, '-'])).stdout,
    );
    expect(marker).toMatchObject({ commit: deployed, project: 'frontend' });
    const head = commit({ 'backend/src/server.txt': 'server v7' }, 'no pipeline');
    const clone = shallowClone(repo.bare, TEST_NODE_MODULES);
    const env = { ...outsideEnv(), ...local.env, ...NX_CI_ENV };
    const result = await exec(process.execPath, [CLI, 'set-shas', `--bucket=${BUCKET}`], clone, env);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain(`export NX_HEAD=${head}`);
    expect(result.stdout).toContain(`export NX_BASE=${deployed}`);
    expect(result.stderr).toContain(`from the deploy marker s3://${BUCKET}/.nx-aws-deploy/last-deploy.json`);
    expect(result.stderr).toMatch(/affected projects: backend$/m);
  });
  describe('never fails open: a build set-shas cannot place ships everything or fails, never nothing', () => {
    const buildStartedBy = (initiator: string, head: string, bucket = BUCKET) =>
      codeBuild(head, { CODEBUILD_INITIATOR: initiator, SITE_BUCKET: bucket });

    it('a build started by hand ships what changed since the deploy marker the last deploy wrote', async () => {
      const head = commit({ 'frontend/src/page.txt': 'page v4' }, 'frontend, built by hand');
      const run = await buildStartedBy('user/alice', head);
      expect([run.code, run.log]).toEqual([0, expect.stringContaining(`from the deploy marker s3://${BUCKET}/`)]);
      expect(run.exported.NX_AFFECTED_ALL).toBe('false');
      expect((await local.cli(['s3', 'cp', `s3://${BUCKET}/index.html`, '-'])).stdout).toBe('page v4 / ui v2');
    });

    it('a build started by hand with no deploy recorded anywhere ships everything, and says why', async () => {
      await local.cli(['s3', 'mb', 's3://affected-fresh']);
      const run = await buildStartedBy('user/alice', git(repo.source, 'rev-parse', 'HEAD'), 'affected-fresh');
      expect(run.code).toBe(0);
      expect(run.exported.NX_AFFECTED_ALL).toBe('true');
      expect(run.log).toMatch(
        /no deploy recorded in the deploy marker s3:\/\/affected-fresh\/\S+ \(first run\): everything is affected/,
      );
      expect((await local.cli(['s3', 'cp', 's3://affected-fresh/index.html', '-'])).stdout).toBe('page v4 / ui v2');
    });

    it('a set-shas that fails fails the phase: the build phase never runs', async () => {
      await local.resetRequests();
      const run = await buildStartedBy('codepipeline/no-such-pipeline', git(repo.source, 'rev-parse', 'HEAD'));
      expect(run.code).not.toBe(0);
      expect(run.log).toContain('Pipeline "no-such-pipeline" does not exist');
      expect(run.log).not.toContain('nx affected');
      expect(run.exported).toEqual({});
      expect((await local.requests())['s3.PutObject']).toBeUndefined();
    });

    it('--error-on-no-base fails where no base is recorded; --fallback-sha is used instead of everything', async () => {
      const clone = shallowClone(repo.bare, TEST_NODE_MODULES);
      const env = { ...outsideEnv(), ...local.env, ...NX_CI_ENV, CODEBUILD_INITIATOR: 'user/bob' };
      const setShas = (...args: string[]) => exec(process.execPath, [CLI, 'set-shas', ...args], clone, env);
      const strict = await setShas('--error-on-no-base');
      expect(strict.code).toBe(1);
      expect(strict.stdout).toBe('');
      expect(strict.stderr).toContain(
        'this build was started by user/bob, not by a pipeline, and no --pipeline or --bucket names where the last successful deploy is recorded, and --error-on-no-base is set',
      );
      const fallback = git(repo.source, 'rev-parse', 'HEAD~1');
      const lenient = await setShas('--fallback-sha', fallback, '--max-deepen', '2');
      expect(lenient.code).toBe(0);
      expect(lenient.stdout).toContain(`export NX_BASE=${fallback}`);
      expect(lenient.stdout).toContain('export NX_AFFECTED_ALL=false');
      expect(lenient.stderr).toContain('(from --fallback-sha, because this build was started by user/bob');
    });
  });
});
