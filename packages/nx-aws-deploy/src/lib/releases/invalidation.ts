import type { RequestCounts } from '../bucket/store';
import type { DeployManifest, ManifestChange } from '../deploy/manifest';
import { invalidate, type InvalidateResult } from '../invalidate/invalidate';
import type { ReleaseRecord } from './history';

/**
 * A release made by server-side copies (rollback, promote) as a deploy manifest: what it changed in `where`, so
 * that it is invalidated, and read by the Lambda, as a deploy is.
 */
export function copiedReleaseManifest(
  record: ReleaseRecord,
  where: { bucket: string; prefix: string; region?: string; distributionId?: string },
  release: { number: number; at: string },
  changes: ManifestChange[],
  unchanged: number,
): DeployManifest {
  return {
    version: 1,
    project: record.summary.project,
    bucket: where.bucket,
    prefix: where.prefix,
    region: where.region,
    distributionId: where.distributionId,
    deployedAt: release.at,
    deploy: release.number,
    hasIndex: Object.hasOwn(record.restorable, 'index.html'),
    changes,
    unchanged,
  };
}

/** What a rollback and a promote answer beside their own counts. */
export interface CopiedReleaseResult {
  /** The release it recorded; none for a dry run. */
  release?: number;
  deleted: number;
  unchanged: number;
  dryRun: boolean;
  requests: RequestCounts;
  durationMs: number;
  /** What changed, for invalidation (deploy manifests have the same shape); none for a dry run. */
  manifest?: DeployManifest;
  invalidation?: InvalidateResult;
}

/** After a rollback or promote: invalidates what it changed on the distribution it names, as after a deploy. */
export async function invalidateChanges<T extends Pick<CopiedReleaseResult, 'manifest' | 'invalidation'>>(
  result: T,
  options: { requestTimeout?: number; log?: (line: string) => void },
): Promise<T> {
  if (result.manifest?.distributionId)
    result.invalidation = await invalidate({
      manifest: result.manifest,
      requestTimeoutSeconds: options.requestTimeout,
      log: options.log,
    });
  return result;
}
