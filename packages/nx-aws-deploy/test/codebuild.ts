import { randomUUID } from 'node:crypto';
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { CodePipelineClient, StartPipelineExecutionCommand } from '@aws-sdk/client-codepipeline';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { zipSync } from 'fflate';
import picomatch from 'picomatch';
import { artifactKey, type LocalAwsHarness, type ServiceCall } from 'local-aws';
import { parse } from 'yaml';
import { filesBelow } from './bucket';
import { outsideEnv } from './workspace';
import { tempDir } from 'test-support';

export const git = (cwd: string, ...args: string[]) =>
  execFileSync('git', args, {
    cwd,
    encoding: 'utf8',
    env: {
      ...process.env,
      GIT_AUTHOR_NAME: 't',
      GIT_AUTHOR_EMAIL: 't@t',
      GIT_COMMITTER_NAME: 't',
      GIT_COMMITTER_EMAIL: 't@t',
    },
  }).trim();

export function writeFiles(root: string, files: Record<string, string>): void {
  for (const [path, data] of Object.entries(files)) {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), data);
  }
}

export function exec(
  command: string,
  args: string[],
  cwd: string,
  env: Record<string, string>,
  /** Written to its stdin (else it has none). */
  input?: string,
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(command, args, { cwd, env: { ...env }, stdio: 'pipe' });
    child.stdin.end(input);
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
}

/** A developer's checkout (`source`) that pushes to a bare repository (`bare`) on branch main, as a git host would hold it. */
export function pushedRepository(source: string): {
  source: string;
  bare: string;
  commit(files: Record<string, string>, message: string): string;
} {
  const bare = `${source}.git`;
  git(dirname(source), 'init', '-q', '--bare', '-b', 'main', bare);
  git(source, 'init', '-q', '-b', 'main');
  git(source, 'remote', 'add', 'origin', bare);
  return {
    source,
    bare,
    commit(files, message) {
      writeFiles(source, files);
      git(source, 'add', '-A');
      git(source, 'commit', '-q', '--allow-empty', '-m', message);
      git(source, 'push', '-q', 'origin', 'HEAD:main');
      return git(source, 'rev-parse', 'HEAD');
    },
  };
}

function readFileSafe(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
}

/** CodeBuild's checkout: a depth-1 clone of `branch`; `nodeModules` is linked in instead of an install. */
export function shallowClone(bare: string, nodeModules?: string, branch = 'main'): string {
  const clone = join(tempDir('codebuild-'), 'src');
  git(tmpdir(), 'clone', '-q', '--depth=1', `--branch=${branch}`, `file://${bare}`, clone);
  if (nodeModules) symlinkSync(nodeModules, join(clone, 'node_modules'));
  return clone;
}

const SECURE_TRANSPORT = { 'aws:SecureTransport': 'true' };

export interface CodeBuildRun {
  code: number;
  log: string;
  clone: string;
  /** NX_BASE, NX_HEAD, NX_AFFECTED_ALL as the build phase left them. */
  exported: Record<string, string>;
  pipelineExecutionId: string;
}

/**
 * One pipeline execution at `head` on the local CodePipeline, and CodeBuild running a buildspec's phases in a
 * shallow clone of the bare repository at that commit (as CODEBUILD_CLONE_REF gives it), against the local AWS.
 * `nodeModules`: link this folder instead of running the install phase.
 */
interface BuildOptions {
  local: LocalAwsHarness;
  pipeline: string;
  bare: string;
  head: string;
  buildspecFile: string;
  phases: ('install' | 'pre_build' | 'build' | 'post_build')[];
  env: Record<string, string>;
  nodeModules?: string;
  /**
   * The CodeBuild project's service role: the build gets credentials of a session of it from the local STS, as
   * CodeBuild gives them (whatever `env` says), and IAM decides its every request. Without it: the administrator.
   */
  role?: string;
  /**
   * The pipeline stage whose CodeBuild action runs the build: CodePipeline first starts it there as the pipeline's
   * role (a refusal fails the build before it runs, as in AWS), and the build gets the action's variables.
   * Without it: a build started by hand.
   */
  stage?: string;
  /** An execution a pull request's event started (local.pullRequest), of the branch `branch`: not a new one. */
  pullRequest?: { pipelineExecutionId: string; branch: string };
}

async function startExecution(pipeline: string, head: string): Promise<string> {
  const codepipeline = new CodePipelineClient({});
  const { pipelineExecutionId } = await codepipeline
    .send(
      new StartPipelineExecutionCommand({
        name: pipeline,
        sourceRevisions: [{ actionName: 'Source', revisionType: 'COMMIT_ID', revisionValue: head }],
      }),
    )
    .finally(() => codepipeline.destroy());
  return pipelineExecutionId!;
}

export async function runCodeBuild(options: BuildOptions): Promise<CodeBuildRun> {
  const pipelineExecutionId =
    options.pullRequest?.pipelineExecutionId ?? (await startExecution(options.pipeline, options.head));
  const started = await startedByPipeline(options, pipelineExecutionId);
  return 'refused' in started ? started.refused : runBuildspec(started.options, pipelineExecutionId);
}

/**
 * CodePipeline starting the stage's build action: the options with the variables the action gives the build, or
 * a failed start as the build run that never was.
 */
async function startedByPipeline(
  options: BuildOptions,
  pipelineExecutionId: string,
): Promise<{ options: BuildOptions } | { refused: CodeBuildRun }> {
  if (!options.stage) return { options };
  const { actions } = await options.local.startStage(pipelineExecutionId, options.stage);
  const failed = actions.find((a) => a.status === 'Failed');
  if (failed)
    return { refused: { code: 1, log: failed.errorDetails!.message, clone: '', exported: {}, pipelineExecutionId } };
  const variables = actions.find((a) => a.environmentVariables)?.environmentVariables;
  return { options: { ...options, env: { ...options.env, ...variables } } };
}

/** One build of an execution: the buildspec's phases in a fresh shallow clone. */
async function runBuildspec(options: BuildOptions, pipelineExecutionId: string): Promise<CodeBuildRun> {
  const clone = shallowClone(options.bare, options.nodeModules, options.pullRequest?.branch);
  const buildspec = parse(readFileSync(options.buildspecFile, 'utf8'));
  const env = {
    ...outsideEnv(),
    ...options.local.env,
    ...buildspec.env?.variables,
    CODEBUILD_RESOLVED_SOURCE_VERSION: options.head,
    CODEBUILD_INITIATOR: `codepipeline/${options.pipeline}`,
    // What the generated build action passes from #{codepipeline.PipelineExecutionId}.
    CODEPIPELINE_EXECUTION_ID: pipelineExecutionId,
    CI: 'true',
    ...options.env,
    ...(options.role ? await options.local.assumeRole(options.role, `AWSCodeBuild-${randomUUID()}`) : {}),
  };
  const commands = options.phases.flatMap((phase) => buildspec.phases[phase].commands as string[]);
  // The shell the buildspec asks for, one shell for all commands (variables carry over, as in buildspec 0.2).
  // CodeBuild fails the phase when a command (a whole `|` block counts as one) exits non-zero; `set -e` would
  // not model that, since it ignores a failure inside an `a && b` list.
  const script = [
    ...commands.map((command) => `{\n${command}\n} || exit $?`),
    'printf "NX_BASE=%s\\nNX_HEAD=%s\\nNX_AFFECTED_ALL=%s\\n" "$NX_BASE" "$NX_HEAD" "$NX_AFFECTED_ALL" >&3',
  ].join('\n');
  const run = await exec(buildspec.env?.shell ?? 'sh', ['-c', `exec 3>exports.txt\n${script}`], clone, env);
  const exported = Object.fromEntries(
    (readFileSafe(join(clone, 'exports.txt')) ?? '')
      .trim()
      .split('\n')
      .filter(Boolean)
      .map((l) => l.split('=') as [string, string]),
  );
  return { code: run.code, log: run.stdout + run.stderr, clone, exported, pipelineExecutionId };
}

export interface BatchRun {
  pipelineExecutionId: string;
  builds: (CodeBuildRun & { identifier: string; startedAt: number; endedAt: number })[];
  /** The combined artifact in the artifact store: a folder per build identifier, as CodeBuild combines them. */
  artifact: { bucket: string; key: string };
}

/**
 * CodeBuild running a batch (`batch: build-list` of the buildspec) for one pipeline execution: every build of
 * the list started as the project's batch role, in its own shallow clone with its own variables, at most `parallel`
 * at once; then, as CodeBuild's CombineArtifacts does, the files of each build's `artifacts` in one zip, a folder
 * per build identifier, where the pipeline keeps the build action's output artifact.
 */
export async function runBatchBuild(
  options: BuildOptions & { parallel: number; artifactBucket: string; batch: { role: string; project: string } },
): Promise<BatchRun> {
  const pipelineExecutionId =
    options.pullRequest?.pipelineExecutionId ?? (await startExecution(options.pipeline, options.head));
  const started = await startedByPipeline(options, pipelineExecutionId);
  if ('refused' in started) throw new Error(`CodePipeline could not start the batch: ${started.refused.log}`);
  const { env } = started.options;
  const buildspec = parse(readFileSync(options.buildspecFile, 'utf8'));
  const list = buildspec.batch['build-list'] as { identifier: string; env?: { variables?: Record<string, string> } }[];
  const builds: BatchRun['builds'] = [];
  let next = 0;
  const worker = async () => {
    while (next < list.length) {
      const entry = list[next++];
      const startedAt = Date.now();
      const start: ServiceCall = {
        operation: 'codebuild.StartBuild',
        check: { action: 'codebuild:StartBuild', resource: options.batch.project, context: SECURE_TRANSPORT },
      };
      const started = await options.local.actAs(options.batch.role, `AWSCodeBuild-${entry.identifier}`, [start]);
      if (started.refused) throw new Error(`CodeBuild could not start ${entry.identifier}: ${started.refused.message}`);
      const run = await runBuildspec(
        {
          ...options,
          env: { ...env, ...entry.env?.variables, CODEBUILD_BATCH_BUILD_IDENTIFIER: entry.identifier },
        },
        pipelineExecutionId,
      );
      builds.push({ ...run, identifier: entry.identifier, startedAt, endedAt: Date.now() });
    }
  };
  await Promise.all(Array.from({ length: Math.min(options.parallel, list.length) }, worker));
  // What the builds leave below dist/ that the buildspec names as artifacts (its node_modules is a link).
  const isArtifact = picomatch(buildspec.artifacts.files as string[]);
  const files: Record<string, Uint8Array> = {};
  for (const build of builds) {
    const dist = join(build.clone, 'dist');
    if (!existsSync(dist)) continue;
    for (const file of filesBelow(dist).map((f) => relative(build.clone, f)))
      if (isArtifact(file)) files[`${build.identifier}/${file}`] = readFileSync(join(build.clone, file));
  }
  const key = artifactKey(options.pipeline, 'DeployManifests', pipelineExecutionId);
  const s3 = new S3Client({});
  await s3
    .send(new PutObjectCommand({ Bucket: options.artifactBucket, Key: key, Body: zipSync(files) }))
    .finally(() => s3.destroy());
  return { pipelineExecutionId, builds, artifact: { bucket: options.artifactBucket, key } };
}

/** Ends a local pipeline execution as the later stages would. */
export async function finishExecution(
  local: LocalAwsHarness,
  executionId: string,
  status: 'Succeeded' | 'Failed',
): Promise<void> {
  await fetch(`${local.aws.url}/_local/codepipeline/executions/${executionId}`, {
    method: 'PUT',
    body: JSON.stringify({ status }),
  });
}
