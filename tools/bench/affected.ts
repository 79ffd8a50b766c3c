/**
 * `npm run bench:affected`: time of the affected decision in CodeBuild on a generated 50-project workspace
 * with real git history (no build): `set-shas` against the local CodePipeline plus `nx show projects --affected`,
 * next to the seed's `git diff HEAD~1 HEAD | grep ^frontend/` on the same history, and what each decides.
 * Target: ≤ 5 s. Numbers, not assertions.
 */
import { exec, execFileSync } from 'node:child_process';
import { promisify } from 'node:util';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { CodePipelineClient, CreatePipelineCommand, StartPipelineExecutionCommand } from '@aws-sdk/client-codepipeline';
import { startLocalAws } from 'local-aws';
import { buildspecVariables } from './installed';

const PROJECTS = 50;
const root = join(__dirname, '..', '..');

async function main(): Promise<void> {
  const local = await startLocalAws();
  const ws = mkdtempSync(join(tmpdir(), 'bench-affected-'));
  const git = (...args: string[]) =>
    execFileSync('git', args, {
      cwd: ws,
      encoding: 'utf8',
      env: {
        ...process.env,
        GIT_AUTHOR_NAME: 'b',
        GIT_AUTHOR_EMAIL: 'b@b',
        GIT_COMMITTER_NAME: 'b',
        GIT_COMMITTER_EMAIL: 'b@b',
      },
    }).trim();
  const write = (path: string, data: string) => {
    mkdirSync(dirname(join(ws, path)), { recursive: true });
    writeFileSync(join(ws, path), data);
  };
  write('package.json', JSON.stringify({ name: 'bench', private: true }));
  write('nx.json', JSON.stringify({ useDaemonProcess: false }));
  write('.gitignore', 'node_modules\n.nx\n');
  // frontend depends on lib0..lib4; the other projects stand alone.
  for (let i = 0; i < PROJECTS; i++) {
    const name = i === 0 ? 'frontend' : i < 6 ? `lib${i - 1}` : `service${i}`;
    const deps = i === 0 ? ['lib0', 'lib1', 'lib2', 'lib3', 'lib4'] : [];
    write(
      `${name}/project.json`,
      JSON.stringify({ name, root: name, implicitDependencies: deps, targets: { deploy: { command: 'echo deploy' } } }),
    );
    write(`${name}/src/index.txt`, `${name} v1`);
  }
  git('init', '-q', '-b', 'main');
  git('add', '-A');
  git('commit', '-q', '-m', 'initial');
  const base = git('rev-parse', 'HEAD');
  // A push of three commits: a shared library the frontend uses, then two service-only commits.
  for (const [path, message] of [
    ['lib2/src/index.txt', 'lib2'],
    ['service10/src/index.txt', 's10'],
    ['service20/src/index.txt', 's20'],
  ]) {
    write(path, message);
    git('commit', '-q', '-am', message);
  }
  const head = git('rev-parse', 'HEAD');
  symlinkSync(join(root, 'node_modules'), join(ws, 'node_modules'));
  const codepipeline = new CodePipelineClient({});
  await codepipeline.send(
    new CreatePipelineCommand({
      pipeline: {
        name: 'web',
        roleArn: 'arn:aws:iam::000000000000:role/p',
        artifactStore: { type: 'S3', location: 'a' },
        stages: [],
      },
    }),
  );
  const { pipelineExecutionId } = await codepipeline.send(
    new StartPipelineExecutionCommand({
      name: 'web',
      sourceRevisions: [{ actionName: 'Source', revisionType: 'COMMIT_ID', revisionValue: base }],
    }),
  );
  await fetch(`${local.aws.url}/_local/codepipeline/executions/${pipelineExecutionId}`, {
    method: 'PUT',
    body: JSON.stringify({ status: 'Succeeded' }),
  });
  codepipeline.destroy();

  const env = {
    ...Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('NX_'))),
    ...local.env,
    ...buildspecVariables(),
    CODEBUILD_RESOLVED_SOURCE_VERSION: head,
    CODEBUILD_INITIATOR: 'codepipeline/web',
  };
  // Asynchronous: the local AWS answers from this same process.
  const timed = async (command: string) => {
    const started = process.hrtime.bigint();
    const { stdout } = await promisify(exec)(command, { cwd: ws, env, shell: '/bin/bash' });
    return { seconds: Number(process.hrtime.bigint() - started) / 1e9, output: stdout.trim() };
  };
  const ours = await timed(
    `eval "$(node ${join(root, 'packages/nx-aws-deploy/bin/nx-aws-deploy.js')} set-shas)" && npx --no-install nx show projects --affected --base="$NX_BASE" --head="$NX_HEAD" -t deploy`,
  );
  const seed = await timed('git diff HEAD~1 HEAD | grep -q "^+++ b/frontend/" && echo frontend || true');
  console.log(
    `Workspace: ${PROJECTS} projects; push of 3 commits (a library the frontend imports, then two service-only commits).\n`,
  );
  console.log(
    `nx-aws-deploy set-shas + nx affected: ${ours.seconds.toFixed(2)} s -> deploys: ${ours.output.split('\n').sort().join(', ') || 'nothing'}`,
  );
  console.log(
    `seed's git diff HEAD~1 | grep:        ${seed.seconds.toFixed(2)} s -> deploys: ${seed.output || 'nothing (misses the library change)'}`,
  );
  console.log('\nTarget: the affected decision in <= 5 s.');
  rmSync(ws, { recursive: true, force: true });
  await local.stop();
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
