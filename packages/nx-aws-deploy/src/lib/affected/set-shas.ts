import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { paginateListPipelineExecutions } from '@aws-sdk/client-codepipeline';
import { createCodePipelineClient, createS3Client } from '../aws/clients';
import { MARKER_FILE, normalizePrefix } from '../deploy/plan';
import { S3Target } from '../deploy/s3-target';
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

async function fromPipeline(pipeline: string, sourceAction: string | undefined): Promise<string | undefined> {
  const client = createCodePipelineClient();
  try {
    for await (const page of paginateListPipelineExecutions({ client, pageSize: 100 }, { pipelineName: pipeline })) {
      const revision = lastSucceededRevision(page.pipelineExecutionSummaries ?? [], sourceAction);
      if (revision) return revision;
    }
    return undefined;
  } catch (error) {
    const name = (error as Error).name;
    if (name === 'PipelineNotFoundException')
      throw new UserError(
        `Pipeline "${pipeline}" does not exist: fix --pipeline (or run inside that pipeline's CodeBuild action).`,
      );
    if (name === 'AccessDeniedException')
      throw new UserError(
        `Access denied listing executions of pipeline "${pipeline}": allow codepipeline:ListPipelineExecutions on it for the build role.`,
      );
    throw new UserError(`Could not list executions of pipeline "${pipeline}": ${errorMessage(error)}`);
  } finally {
    client.destroy();
  }
}

/**
 * NX_HEAD and NX_BASE for `nx affected` in CodeBuild: head is the commit being built, base the source
 * revision of the last *successful* deploy (the pipeline's newest Succeeded execution, or the deploy
 * marker in the bucket), so a failed deploy's changes are carried forward and a multi-commit push is
 * seen whole. When no base can be found in the history, everything is affected, and the log says why.
 */
export async function resolveShas(options: SetShasOptions): Promise<ShaResolution> {
  const { cwd, env, log } = options;
  const head = env.CODEBUILD_RESOLVED_SOURCE_VERSION || (await git(cwd, ['rev-parse', 'HEAD']));
  const pipeline = options.pipeline ?? pipelineFromInitiator(env.CODEBUILD_INITIATOR);
  let base: string | undefined;
  let how: string;
  if (pipeline) {
    base = await fromPipeline(pipeline, options.sourceAction);
    how = `the last Succeeded execution of pipeline ${pipeline}`;
  } else if (options.bucket) {
    const key = normalizePrefix(options.prefix) + MARKER_FILE;
    const marker = await new S3Target(createS3Client(), options.bucket).readJson<{ commit?: string }>(key);
    base = marker?.commit;
    how = `the deploy marker s3://${options.bucket}/${key}`;
  } else {
    throw new UserError(
      'set-shas needs where the last successful deploy is recorded: --pipeline <name> (automatic inside CodePipeline), or --bucket <bucket> [--prefix <prefix>] for the deploy marker.',
    );
  }
  if (!base)
    return {
      head,
      base: head,
      all: true,
      how: `no successful deploy recorded in ${how} (first run): everything is affected`,
    };
  if (!(await ensureCommit(cwd, base, options.maxDeepenRounds ?? 10, log))) {
    return {
      head,
      base: head,
      all: true,
      how: `base ${base} from ${how} is not in the history (force-push, rewritten history or too deep): everything is affected`,
    };
  }
  return { head, base, all: false, how };
}
