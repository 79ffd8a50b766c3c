import { RELEASE_FOLDERS } from '../../bucket/bookkeeping';
import type { FileIndex, IndexChange } from '../../releases/file-index';
import type { LiveRelease } from '../../releases/live-release';
import type { Staying } from '../../releases/book';
import { snapshotsToTake, type Snapshot } from '../../releases/history';
import { leavingAtomic, type PlannedCopy } from '../atomic';
import { changedKeys, DEFAULT_MAX_DELETES, planDeploy, type DeployPlan } from '../plan';
import type { Comparison } from './compare';
import type { DeployRun } from './run';

/** What the deploy will do, and what of the kept releases it must respect. */
export interface Planned {
  plan: DeployPlan;
  /** Uploads, header updates and deletes: 0 for a no-op deploy. */
  changes: number;
  /** The releases that stay kept beside the one this deploy records; none when it records none. */
  staying?: Staying;
  /** Copies of what the live release has at keys about to change, taken before they change. */
  snapshots: Snapshot[];
  /** releaseMode "atomic": the release this deploy makes live, and what it needs beside the plan. */
  atomic?: AtomicRelease;
  /**
   * An in-place deploy of a site whose live release is atomic: the store key and the file index's paths to clear,
   * the release folders and the index's record to delete.
   */
  leavesAtomic?: { store: { keyValueStoreArn: string; site: string }; indexPaths: string[]; deletes: string[] };
}

export interface AtomicRelease {
  release: number;
  /** What the store named live when the deploy planned (the lease keeps other deploys of the site out). */
  live: LiveRelease | undefined;
  keyOf: (path: string) => string;
  /** The folder that holds each file without a content hash in its name. */
  folders: ReadonlyMap<string, number>;
  /** Moving from in place: the first release's files the site has, copied in the bucket. */
  copies: PlannedCopy[];
  /** The file index once the release is live, its keys to write before the switch, and the releases kept. */
  index: IndexChange & { keptViews: number[] };
  /** The index the store holds for the releases made so far (the bucket's record of it, FILE_INDEX_FILE). */
  previousIndex: FileIndex;
  /** Keys in release folders that the index no longer names (no kept release has them): deleted after the switch. */
  retention: string[];
}

/**
 * Phase 3, pure but for reading the kept release records: the plan by content (planDeploy: uploads, assets before
 * entry files; header updates; deletes behind the guards). A deploy that changes something (or starts the
 * history) records a release: the kept releases' assets are then not pruned, and what the live one has at a key
 * about to change is snapshotted first, for a rollback.
 */
export async function plan(run: DeployRun, { remote, state, headed, releases }: Comparison): Promise<Planned> {
  const index = releases.index;
  const atomicLive = index?.releases.find((r) => r.number === index.live)?.atomic;
  const input = {
    ...planInput(run, { remote, state, headed }),
    ...(atomicLive ? { keep: (relativeKey: string) => relativeKey.startsWith(RELEASE_FOLDERS) } : {}),
  };
  const draft = planDeploy({ ...input, maxDeletes: Infinity });
  const changes = draft.uploads.length + draft.metadataUpdates.length + draft.deletes.length;
  // This deploy's release will be kept with the newest keepReleases - 1 of those kept now.
  const staying = changes > 0 || !releases.index ? await releases.staying(run.keepReleases, remote) : undefined;
  // Without changes there is nothing to prune or keep: the draft stands.
  const final = staying ? planDeploy({ ...input, releaseAssets: staying.assets }) : draft;
  const live = staying?.liveStays ? staying.live : undefined;
  const snapshots = snapshotsToTake(live, run.prefix, changedKeys(final), remote);
  // Leaving atomic releases: their folders go once the store no longer names one (see goLive), not by the prune.
  const leavesAtomic = atomicLive ? await leavingAtomic(run.store, run.prefix, atomicLive, remote) : undefined;
  return { plan: final, changes, staying, snapshots, leavesAtomic };
}

/** The plan's input from the run's options and the comparison. */
export function planInput(run: DeployRun, { remote, state, headed }: Pick<Comparison, 'remote' | 'state' | 'headed'>) {
  const { options } = run;
  return {
    bucket: options.bucket,
    files: run.files,
    prefix: run.prefix,
    remote,
    state,
    headedFingerprints: headed,
    prune: options.prune ?? true,
    maxDeletes: options.maxDeletes ?? DEFAULT_MAX_DELETES,
    pruneOlderThanDeploys: options.pruneOlderThanDeploys ?? 0,
    exclude: options.exclude,
  };
}
