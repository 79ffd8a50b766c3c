export interface ReleasesExecutorOptions {
  bucket: string;
  prefix?: string;
  region?: string;
  requestTimeout?: number;
  json?: boolean;
}
