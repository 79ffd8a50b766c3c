import { resolve } from 'node:path';
import type { DeployOptions } from './deploy';
import { leaseOwner } from './lease';

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
