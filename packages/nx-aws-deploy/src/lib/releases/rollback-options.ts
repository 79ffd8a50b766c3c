import type { CopiedReleaseResult } from './invalidation';

export interface RollbackOptions {
  bucket: string;
  prefix?: string;
  region?: string;
  /** The release to bring back; default: the one before the release whose files are live. */
  to?: number;
  /** The distribution in front of the bucket: the restored paths are invalidated there. */
  distributionId?: string;
  dryRun?: boolean;
  keepReleases?: number;
  concurrency?: number;
  requestTimeout?: number;
  lockTimeout?: number;
  leaseOwner: string;
  log?: (line: string) => void;
  signal?: AbortSignal;
}

export interface RollbackResult extends CopiedReleaseResult {
  bucket: string;
  prefix: string;
  /** The release brought back. */
  to: number;
  restored: number;
}
