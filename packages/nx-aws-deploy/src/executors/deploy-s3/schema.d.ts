import type { DeployInput } from '../../lib/deploy/options';

/** The options of schema.json: the deploy's own, with paths relative to the workspace root. */
export type DeployS3ExecutorOptions = Omit<DeployInput, 'sourceDir' | 'log' | 'signal'> & {
  /** Default: the output folder of the project's build target. */
  sourceDir?: string;
  /** Print a JSON summary as the last line of output. */
  json?: boolean;
  /** After a successful deploy, invalidate exactly what it changed on `distributionId`. */
  invalidate?: boolean;
};
