import type { HeaderRule } from '../../lib/deploy/headers';

export interface DeployS3ExecutorOptions {
  bucket: string;
  sourceDir?: string;
  prefix?: string;
  region?: string;
  prune?: boolean;
  maxDeletes?: number;
  pruneOlderThanDeploys?: number;
  dryRun?: boolean;
  concurrency?: number;
  include?: string[];
  exclude?: string[];
  headers?: HeaderRule[];
  distributionId?: string;
  manifest?: string;
  json?: boolean;
  allowNoIndex?: boolean;
  allowOutsideWorkspace?: boolean;
}
