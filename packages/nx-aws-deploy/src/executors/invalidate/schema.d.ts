export interface InvalidateExecutorOptions {
  distributionId?: string;
  manifest?: string;
  paths?: string[];
  maxPaths?: number;
  wait?: boolean;
  waitTimeout?: number;
  requestTimeout?: number;
  dryRun?: boolean;
  json?: boolean;
}
