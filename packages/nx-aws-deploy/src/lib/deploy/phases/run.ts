import type { BucketStore } from '../../bucket/store';
import type { LiveReleaseStore } from '../../releases/live-release';
import type { HashCache } from '../hash-cache';
import type { LocalFile } from '../local-files';
import type { DeployOptions } from '../options';
import type { PlannedFile } from '../plan';
import type { PreviewTarget } from '../../releases/previews';

/** What every phase of one deploy works with, once the deploy holds its bucket + prefix (see deploy.ts). */
export interface DeployRun {
  options: DeployOptions;
  log: (line: string) => void;
  started: number;
  /** Normalised: '' or ending in '/'. */
  prefix: string;
  concurrency: number;
  keepReleases: number;
  /** The bucket, opened under the lease with the deploy's stop signal. */
  store: BucketStore;
  signal: AbortSignal;
  /** The build folder as scanned, one record per file: the phases set their ETags in place. */
  files: (LocalFile & PlannedFile)[];
  /** MD5s this workspace took before, by size, mtime and inode (see hash-cache.ts). */
  hashes: HashCache;
  /** releaseMode "atomic": where the site's live release is (see releases/live-release.ts). */
  liveReleases?: LiveReleaseStore;
  /** A deploy of a pull request's preview: `prefix` and `liveReleases` are the preview's. */
  preview?: PreviewTarget;
}
