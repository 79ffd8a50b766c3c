import { RELEASE_FOLDERS, releaseFolderFile } from '../../bucket/bookkeeping';
import { readFileIndex, type AtomicReads } from '../../releases/file-index-store';
import { nextReleaseNumber } from '../../releases/history';
import type { LiveReleaseStore } from '../../releases/live-release';
import {
  chooseFolders,
  copiesFromLive,
  holdsFile,
  indexOfRelease,
  servesAlready,
  unindexedReleaseFiles,
} from '../atomic';
import { isContentHashed } from '../headers';
import { planDeploy } from '../plan';
import type { Comparison } from './compare';
import { planInput, type Planned } from './plan';
import type { DeployRun } from './run';

/**
 * An atomic release: where each file of release N is (content-hashed ones at their own keys; every other one in
 * the newest release folder that holds its bytes already, else in N's), the file index that says so, and what no
 * kept release needs any more. Only files that changed are sent; the first release of a site deployed in place
 * copies its files in the bucket. No snapshots: nothing live changes. A build equal to the live release makes no
 * release at all.
 */
export async function planAtomic(
  run: DeployRun,
  { remote, state, headed, releases }: Comparison,
  liveReleases: LiveReleaseStore,
  reads: AtomicReads,
): Promise<Planned> {
  const { prefix } = run;
  const { index: previous, rewrite } = await readFileIndex(reads, liveReleases.site, releases.index);
  const liveNow = await reads.live;
  // After a switch whose recording was interrupted, the store is ahead of the index: never reuse its number.
  const release = Math.max(nextReleaseNumber(releases.index), (liveNow?.live ?? 0) + 1);
  const headersAt = (key: string, etag: string) =>
    state?.objects[key]?.etag === etag ? state.objects[key].headers : headed.get(key);
  // Only the files without a content hash go in folders: kept apart, they are few where a bundler names the rest.
  const unhashed = new Map(run.files.filter((f) => !isContentHashed(f.path)).map((f) => [f.path, f]));
  const folders = chooseFolders({
    paths: unhashed.keys(),
    ...{ index: previous, release, site: liveReleases.site, prefix },
    holds: (path, key) => holdsFile(unhashed.get(path)!, key, remote, headersAt),
  });
  const keyOf = (path: string) => prefix + (isContentHashed(path) ? path : releaseFolderFile(folders.get(path)!, path));
  const input = {
    ...planInput(run, { remote, state, headed }),
    keyOf,
    // Release folders go by the index below; the files of the site as it was in place (not content-hashed) stay,
    // served only while no release is live through the store.
    keep: (relativeKey: string) => relativeKey.startsWith(RELEASE_FOLDERS) || !isContentHashed(relativeKey),
  };
  const staying = await releases.staying(run.keepReleases, remote);
  const plan = planDeploy({ ...input, releaseAssets: staying.assets });
  // Moving from in place: the first release's files that the site has at their own keys are copied.
  const { uploads, copies } = liveNow
    ? { uploads: plan.uploads, copies: [] }
    : copiesFromLive(plan, unhashed, remote, state, (path) => prefix + path);
  plan.uploads = uploads;
  const index = indexOfRelease({
    ...{ previous, release, folders, rewrite, live: liveNow?.live, keep: run.keepReleases },
    releases: releases.index?.releases ?? [],
    skewProtectionHours: run.options.skewProtectionHours,
  });
  const liveRecord = liveNow && !uploads.length && !plan.metadataUpdates.length && (await releases.liveRecord());
  const liveFiles = liveRecord ? Object.keys(liveRecord.restorable).length + Object.keys(liveRecord.assets).length : -1;
  if (liveNow && servesAlready(previous, liveNow.live, liveFiles, run.files.length, folders)) {
    // Nothing to make live: no release, no index write, no switch, no state written.
    const noop = { ...plan, uploads: [], metadataUpdates: [], deletes: [], unchanged: run.files };
    return { plan: { ...noop, nextState: state ?? plan.nextState }, changes: 0, snapshots: [] };
  }
  const retention = unindexedReleaseFiles(remote, prefix, index.next);
  const changes = plan.uploads.length + plan.metadataUpdates.length + copies.length + plan.deletes.length;
  return {
    plan,
    changes,
    staying,
    snapshots: [],
    atomic: { release, live: liveNow, keyOf, folders, copies, retention, index, previousIndex: previous },
  };
}
