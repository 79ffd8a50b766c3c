export interface PromoteExecutorOptions {
  fromBucket: string;
  fromPrefix?: string;
  release?: number;
  bucket: string;
  prefix?: string;
  region?: string;
  distributionId?: string;
  dryRun?: boolean;
  prune?: boolean;
  maxDeletes?: number;
  exclude?: string[];
  keepReleases?: number;
  requestTimeout?: number;
  lockTimeout?: number;
  json?: boolean;
}
