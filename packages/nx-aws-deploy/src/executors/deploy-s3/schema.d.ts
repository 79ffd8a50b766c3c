import type { DeployOptions } from '../../lib/deploy/deploy';

/** The options of schema.json: the deploy's own, with paths relative to the workspace root. */
export type DeployS3ExecutorOptions = Omit<DeployOptions, 'workspaceRoot' | 'project' | 'sourceDir' | 'log'> & {
  /** Default: the output folder of the project's build target. */
  sourceDir?: string;
  /** Print a JSON summary as the last line of output. */
  json?: boolean;
  /** After a successful deploy, invalidate exactly what it changed on `distributionId`. */
  invalidate?: boolean;
};
