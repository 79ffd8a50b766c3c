export interface RollbackExecutorOptions {
  bucket: string;
  prefix?: string;
  region?: string;
  to?: number;
  distributionId?: string;
  dryRun?: boolean;
  keepReleases?: number;
  requestTimeout?: number;
  lockTimeout?: number;
  json?: boolean;
}
