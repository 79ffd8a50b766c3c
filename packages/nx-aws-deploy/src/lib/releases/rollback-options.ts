import type { RequestCounts } from '../bucket/store';
import type { DeployManifest } from '../deploy/manifest';
import type { InvalidateResult } from '../invalidate/invalidate';

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

export interface RollbackResult {
  bucket: string;
  prefix: string;
  /** The release brought back. */
  to: number;
  /** The release the rollback recorded; none for a dry run. */
  release?: number;
  restored: number;
  deleted: number;
  unchanged: number;
  dryRun: boolean;
  requests: RequestCounts;
  durationMs: number;
  /** What changed, for invalidation (deploy manifests have the same shape); none for a dry run. */
  manifest?: DeployManifest;
  invalidation?: InvalidateResult;
}
