import { resolve } from 'node:path';
import { leaseOwner } from '../bucket/lease';
import type { HeaderRule } from './headers';

export interface DeployOptions {
  workspaceRoot: string;
  /** Nx project name, for messages and the default manifest path. */
  project: string;
  sourceDir: string;
  bucket: string;
  prefix?: string;
  region?: string;
  prune?: boolean;
  maxDeletes?: number;
  pruneOlderThanDeploys?: number;
  /** Releases that stay restorable by a rollback (their assets kept, their other files snapshotted); see lib/releases. */
  keepReleases?: number;
  /**
   * "atomic": each release's own files in a folder of their own, made live by one write of the KeyValueStore
   * `keyValueStoreArn` (the site's key in it: `site`, default the project), which the release router reads; no
   * invalidation. "in-place" (default): files replaced where they are, then invalidated. See deploy/atomic.ts.
   */
  releaseMode?: 'in-place' | 'atomic';
  keyValueStoreArn?: string;
  site?: string;
  /**
   * A pull request's preview (its number or `pr-<n>`) instead of the site: an atomic release of the build below
   * `_previews/pr-<n>/`, live through the store's key `<site>@pr-<n>` on the preview's hosts (see
   * releases/previews.ts). `previewDomain`: where its URL is printed as `https://pr-<n>.<previewDomain>/`.
   */
  preview?: string | number;
  previewDomain?: string;
  /**
   * A preview built by code nobody reviewed yet (a pull request's) whose role may not write the store: everything
   * but the store's writes; the release is staged in the bucket for the pipeline's publish step (`nx-aws-deploy
   * preview publish`, or the generated pipeline's Lambda), which makes it live. See publishStaged.
   */
  stageOnly?: boolean;
  /** Days after its last deploy that a deploy of the site (or of any preview of it) removes a preview (default 14; 0: never). */
  previewTtlDays?: number;
  /** Previews the site may have at once (default 20): a deploy of a new one beyond it is refused. */
  maxPreviews?: number;
  /** Hours a release that stopped being live stays, for tabs still open on it (default 24). */
  skewProtectionHours?: number;
  /**
   * Atomic releases: after the switch, wait until the site at `siteUrl` (the generated stack's SiteUrl output)
   * serves the new release (a KeyValueStore write reaches the edges within seconds), and say how long.
   */
  waitUntilServed?: boolean;
  siteUrl?: string;
  dryRun?: boolean;
  concurrency?: number;
  /** Seconds a request may go without progress before it is aborted and retried; see createS3Client. */
  requestTimeout?: number;
  /** Seconds to wait for another deploy to the same bucket + prefix to finish; 0: fail at once. */
  lockTimeout?: number;
  /** Who holds the deploy lease, for whoever waits: the CodeBuild build ARN, or user@host:pid (see leaseOwner). */
  leaseOwner: string;
  /** The commit being deployed from CodeBuild, recorded in the deploy marker for `set-shas`; none outside CodeBuild. */
  commit?: string;
  /** The CodePipeline execution that started the build (the generated pipeline passes it), for the release. */
  pipelineExecution?: string;
  include?: string[];
  exclude?: string[];
  headers?: HeaderRule[];
  distributionId?: string;
  manifest?: string;
  allowNoIndex?: boolean;
  allowOutsideWorkspace?: boolean;
  log?: (line: string) => void;
  /** Progress as one line redrawn on stderr, for a terminal; else (default) a plain line every few seconds. */
  redrawProgress?: boolean;
  /** Aborted (reason: the signal's name) to stop at a safe point: the deploy then throws Interrupted. */
  signal?: AbortSignal;
}

/** The deploy options as a user writes them (executor options or command flags): paths relative to `base`. */
export type DeployInput = Omit<
  DeployOptions,
  'workspaceRoot' | 'project' | 'commit' | 'pipelineExecution' | 'leaseOwner' | 'redrawProgress'
>;

/**
 * The one place where the executor's and the command's options become a deploy's: paths resolved against `base`
 * (the workspace root for the executor, the current folder for the command), an empty distribution id (a
 * `--distribution-id="$DISTRIBUTION_ID"` with the variable unset) dropped, and what the deploy takes from its
 * environment (the commit CodeBuild builds, for the deploy marker; the pipeline execution, for the release; who
 * holds the lease; whether a person watches the progress) read here, not in deploy().
 */
export function normalizeDeployOptions(
  input: DeployInput,
  where: { workspaceRoot: string; base: string; project: string; env: NodeJS.ProcessEnv; stderrIsTTY: boolean },
): DeployOptions {
  return {
    ...input,
    workspaceRoot: where.workspaceRoot,
    project: where.project,
    sourceDir: resolve(where.base, input.sourceDir),
    manifest: input.manifest ? resolve(where.base, input.manifest) : undefined,
    distributionId: input.distributionId || undefined,
    commit: where.env.CODEBUILD_RESOLVED_SOURCE_VERSION || undefined,
    pipelineExecution: where.env.CODEPIPELINE_EXECUTION_ID || undefined,
    leaseOwner: leaseOwner(where.env),
    redrawProgress: where.stderrIsTTY && !where.env.CI,
  };
}
