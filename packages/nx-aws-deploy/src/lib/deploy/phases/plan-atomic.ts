import { RELEASE_FOLDERS } from '../../bucket/bookkeeping';
import { nextReleaseNumber } from '../../releases/history';
import { readLiveRelease, type LiveReleaseStore } from '../../releases/live-release';
import {
  copiesFromLive,
  DEFAULT_SKEW_PROTECTION_HOURS,
  keptReleaseNumbers,
  releaseKey,
  unkeptReleaseFolders,
} from '../atomic';
import { isContentHashed } from '../headers';
import { planDeploy } from '../plan';
import type { Comparison } from './compare';
import { planInput, type Planned } from './plan';
import type { DeployRun } from './run';

/**
 * An atomic release: the plan of release N's keys (its own files in its folder, content-hashed ones shared), the
 * files the live release has copied in the bucket rather than sent, and the retention of release folders no
 * longer kept. No snapshots: nothing live changes. A build equal to the live release makes no release at all.
 */
export async function planAtomic(
  run: DeployRun,
  { remote, state, headed, releases }: Comparison,
  liveReleases: LiveReleaseStore,
): Promise<Planned> {
  const { prefix } = run;
  const liveNow = await readLiveRelease(liveReleases);
  // After a switch whose recording was interrupted, the store is ahead of the index: never reuse its number.
  const release = Math.max(nextReleaseNumber(releases.index), (liveNow?.live ?? 0) + 1);
  const keyOf = (path: string) => releaseKey(prefix, release, path);
  const liveKeyOf = liveNow
    ? (path: string) => releaseKey(prefix, liveNow.live, path)
    : (path: string) => prefix + path;
  const input = {
    ...planInput(run, { remote, state, headed }),
    keyOf,
    // Release folders go by retention below; the files of the site as it was in place (not content-hashed) stay,
    // served only while no release is live through the store.
    keep: (relativeKey: string) => relativeKey.startsWith(RELEASE_FOLDERS) || !isContentHashed(relativeKey),
  };
  const staying = await releases.staying(run.keepReleases, remote.keys());
  const plan = planDeploy({ ...input, releaseAssets: staying.assets });
  const filesByPath = new Map(run.files.map((f) => [f.path, f]));
  const { uploads, copies } = copiesFromLive(plan, filesByPath, remote, state, liveKeyOf);
  plan.uploads = uploads;
  const liveFiles = await releases
    .liveRecord()
    .then((r) => (r ? Object.keys(r.restorable).length + Object.keys(r.assets).length : -1));
  const unchanged = liveNow && !uploads.length && !plan.metadataUpdates.length && liveFiles === run.files.length;
  if (unchanged) {
    // Nothing to make live: no release, no copies, no switch, no state written.
    const noop = { ...plan, uploads: [], metadataUpdates: [], deletes: [], unchanged: run.files };
    return { plan: { ...noop, nextState: state ?? plan.nextState }, changes: 0, snapshots: [] };
  }
  const kept = keptReleaseNumbers({
    releases: releases.index?.releases ?? [],
    release,
    live: liveNow?.live,
    keep: run.keepReleases,
    skewProtectionMs: (run.options.skewProtectionHours ?? DEFAULT_SKEW_PROTECTION_HOURS) * 3600_000,
    now: Date.now(),
  });
  const retention = unkeptReleaseFolders(remote, prefix, kept);
  const changes = plan.uploads.length + plan.metadataUpdates.length + copies.length + plan.deletes.length;
  return { plan, changes, staying, snapshots: [], atomic: { release, keyOf, copies, retention } };
}
