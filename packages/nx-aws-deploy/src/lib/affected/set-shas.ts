import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { paginateListPipelineExecutions } from '@aws-sdk/client-codepipeline';
import { deniedCaller, explainTimeout } from '../aws/clients';
import { createCodePipelineClient } from '../aws/codepipeline-client';
import { createS3Client } from '../aws/s3-client';
import { MARKER_FILE, type DeployMarker } from '../bucket/bookkeeping';
import { normalizePrefix } from '../bucket/name';
import { S3Target } from '../bucket/s3-target';
import { UserError, errorMessage } from '../util/errors';
import { lastSucceededRevision, pipelineFromInitiator } from './pick-base';

const run = promisify(execFile);

export interface SetShasOptions {
  cwd: string;
  env: NodeJS.ProcessEnv;
  /** Default: the pipeline that started this build (CODEBUILD_INITIATOR). */
  pipeline?: string;
  sourceAction?: string;
  /** Without a pipeline: the bucket (and prefix) whose deploy marker names the last deployed commit. */
  bucket?: string;
  prefix?: string;
  /**
   * A pull request's build: the branch it merges into. The base is where the pull request left it (their merge
   * base), so that only what the pull request changes is affected.
   */
  pullRequestBase?: string;
  /** With no usable base: this commit instead of everything affected. */
  fallbackSha?: string;
  /** With no usable base: fail instead of falling back. */
  errorOnNoBase?: boolean;
  /** See createS3Client. */
  requestTimeoutSeconds?: number;
  /** Rounds of `git fetch --deepen=100` before giving up on finding the base in a shallow clone. */
  maxDeepenRounds?: number;
  log: (line: string) => void;
}

export interface ShaResolution {
  head: string;
  /** Equal to head when everything is affected (see `all`). */
  base: string;
  /** No usable base: every project is affected. */
  all: boolean;
  /** How the base was found, for the log. */
  how: string;
}

async function git(cwd: string, args: string[]): Promise<string> {
  return (await run('git', args, { cwd })).stdout.trim();
}

const hasCommit = (cwd: string, sha: string) =>
  git(cwd, ['cat-file', '-e', `${sha}^{commit}`]).then(
    () => true,
    () => false,
  );

/** Deepens a shallow clone (CodeBuild clones shallowly) until `sha` is present, within a bound. */
async function ensureCommit(cwd: string, sha: string, rounds: number, log: (line: string) => void): Promise<boolean> {
  for (let round = 0; round < rounds; round++) {
    if (await hasCommit(cwd, sha)) return true;
    if ((await git(cwd, ['rev-parse', '--is-shallow-repository'])) !== 'true') break;
    log(`set-shas: base ${sha.slice(0, 12)} is not in this shallow clone yet; fetching 100 more commits.`);
    await git(cwd, ['fetch', '--quiet', '--deepen=100', 'origin']).catch(() => undefined);
  }
  if (await hasCommit(cwd, sha)) return true;
  // Servers that allow fetching a reachable commit by id give it directly.
  await git(cwd, ['fetch', '--quiet', '--depth=1', 'origin', sha]).catch(() => undefined);
  return hasCommit(cwd, sha);
}

/**
 * The merge base of HEAD and `branch` (fetched from origin), deepening a shallow clone until both histories meet,
 * within a bound; undefined when they do not.
 */
async function mergeBase(cwd: string, branch: string, rounds: number, log: (line: string) => void) {
  const shallow = (await git(cwd, ['rev-parse', '--is-shallow-repository'])) === 'true';
  const ref = `refs/remotes/origin/${branch}`;
  await git(cwd, [
    'fetch',
    '--quiet',
    '--no-tags',
    ...(shallow ? ['--depth=100'] : []),
    'origin',
    `+refs/heads/${branch}:${ref}`,
  ]);
  for (let round = 0; ; round++) {
    const base = await git(cwd, ['merge-base', 'HEAD', ref]).catch(() => undefined);
    if (base) return base;
    if (round >= rounds || (await git(cwd, ['rev-parse', '--is-shallow-repository'])) !== 'true') return undefined;
    log(`set-shas: the pull request and ${branch} do not meet in this shallow clone yet; fetching 100 more commits.`);
    await git(cwd, ['fetch', '--quiet', '--no-tags', '--deepen=100', 'origin', `+refs/heads/${branch}:${ref}`]);
  }
}

async function fromPipeline(
  pipeline: string,
  sourceAction: string | undefined,
  requestTimeoutSeconds?: number,
): Promise<string | undefined> {
  const client = createCodePipelineClient({ requestTimeoutSeconds });
  try {
    for await (const page of paginateListPipelineExecutions({ client, pageSize: 100 }, { pipelineName: pipeline })) {
      const revision = lastSucceededRevision(page.pipelineExecutionSummaries ?? [], sourceAction);
      if (revision) return revision;
    }
    return undefined;
  } catch (error) {
    const name = (error as Error).name;
    const timedOut = explainTimeout(
      error,
      `codepipeline:ListPipelineExecutions on pipeline ${pipeline}`,
      'CodePipeline',
    );
    if (timedOut) throw new UserError(timedOut);
    if (name === 'PipelineNotFoundException')
      throw new UserError(
        `Pipeline "${pipeline}" does not exist: fix --pipeline (or run inside that pipeline's CodeBuild action).`,
      );
    if (name === 'AccessDeniedException') {
      const { who, account } = deniedCaller(error);
      const region = await client.config.region().catch(() => '<region>');
      throw new UserError(
        `Access denied: codepipeline:ListPipelineExecutions on pipeline "${pipeline}". Allow codepipeline:ListPipelineExecutions on arn:aws:codepipeline:${region}:${account}:${pipeline} for ${who}; in a stack of \`nx g nx-aws-deploy:pipeline\`, the LastSuccessfulDeploy statement of the build role grants it.`,
      );
    }
    throw new UserError(`Could not list executions of pipeline "${pipeline}": ${errorMessage(error)}`);
  } finally {
    client.destroy();
  }
}

/**
 * NX_HEAD and NX_BASE for `nx affected` in CodeBuild: head is the commit being built, base the source
 * revision of the last *successful* deploy (the pipeline's newest Succeeded execution, or the deploy
 * marker in the bucket), so a failed deploy's changes are carried forward and a multi-commit push is
 * seen whole. When there is no usable base (a build started by hand or by a webhook with no marker, the
 * first run, a base gone from the history) it falls back, as nx-set-shas does: to `fallbackSha` when given,
 * else to everything affected; `errorOnNoBase` fails instead. The log always says which and why.
 */
export async function resolveShas(options: SetShasOptions): Promise<ShaResolution> {
  const { cwd, env, log } = options;
  const head = env.CODEBUILD_RESOLVED_SOURCE_VERSION || (await git(cwd, ['rev-parse', 'HEAD']));
  const { pullRequestBase } = options;
  if (pullRequestBase) {
    const base = await mergeBase(cwd, pullRequestBase, options.maxDeepenRounds ?? 10, log);
    const how = `the merge base with ${pullRequestBase}, the branch the pull request merges into`;
    if (base) return { head, base, all: false, how };
    if (options.errorOnNoBase) throw new UserError(`No ${how} was found, and --error-on-no-base is set.`);
    return { head, base: head, all: true, how: `no ${how} was found: everything is affected` };
  }
  const found = await recordedBase(options);
  const inHistory = (sha: string) => ensureCommit(cwd, sha, options.maxDeepenRounds ?? 10, log);
  if (found.base && (await inHistory(found.base))) return { head, base: found.base, all: false, how: found.how };
  const why = found.base
    ? `base ${found.base} from ${found.how} is not in the history (force-push, rewritten history or too deep)`
    : found.how;
  if (options.errorOnNoBase) {
    throw new UserError(`${why}, and --error-on-no-base is set: failing rather than guessing what to deploy.`);
  }
  if (options.fallbackSha) {
    if (await inHistory(options.fallbackSha)) {
      return { head, base: options.fallbackSha, all: false, how: `--fallback-sha, because ${why}` };
    }
    return {
      head,
      base: head,
      all: true,
      how: `${why}, nor is --fallback-sha ${options.fallbackSha}: everything is affected`,
    };
  }
  return { head, base: head, all: true, how: `${why}: everything is affected` };
}

/** Where the last successful deploy is recorded, and the commit it names (none: `how` says why). */
async function recordedBase(options: SetShasOptions): Promise<{ base?: string; how: string }> {
  const initiator = options.env.CODEBUILD_INITIATOR;
  const pipeline = options.pipeline ?? pipelineFromInitiator(initiator);
  if (pipeline) {
    const how = `the last Succeeded execution of pipeline ${pipeline}`;
    const base = await fromPipeline(pipeline, options.sourceAction, options.requestTimeoutSeconds);
    return base ? { base, how } : { how: `no successful deploy recorded in ${how} (first run)` };
  }
  if (options.bucket) {
    const key = normalizePrefix(options.prefix) + MARKER_FILE;
    const how = `the deploy marker s3://${options.bucket}/${key}`;
    const marker = await new S3Target(
      createS3Client({ requestTimeoutSeconds: options.requestTimeoutSeconds }),
      options.bucket,
    ).readJson<Partial<DeployMarker>>(key);
    return marker?.commit ? { base: marker.commit, how } : { how: `no deploy recorded in ${how} (first run)` };
  }
  const startedBy = initiator
    ? `this build was started by ${initiator}, not by a pipeline`
    : 'no pipeline started this build';
  return { how: `${startedBy}, and no --pipeline or --bucket names where the last successful deploy is recorded` };
}
