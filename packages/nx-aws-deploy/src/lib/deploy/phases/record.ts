import { MARKER_FILE, STATE_FILE, type DeployMarker } from '../../bucket/bookkeeping';
import type { Written } from '../../bucket/store';
import { recordedFolders, recordVersions, type ReleaseRecord } from '../../releases/history';
import { Interrupted } from '../../util/interrupt';
import { isContentHashed } from '../headers';
import { recordUploadedEtags, shouldWriteState, type DeployState } from '../plan';
import type { Comparison } from './compare';
import type { Planned } from './plan';
import type { DeployRun } from './run';
import type { Transferred } from './stopped';

/**
 * Phase 6, every file in place: the state (the ETags S3 answered, so the next deploy trusts them without a HEAD;
 * only when enough changed), in CodeBuild the deployed commit for `set-shas`, and the release. Answers the
 * release's number, if it recorded one.
 */
export async function record(
  run: DeployRun,
  { remote, state, releases }: Comparison,
  { plan, changes, staying, atomic }: Planned,
  { written }: Transferred,
): Promise<number | undefined> {
  const { options, store, prefix } = run;
  const nextState = recordUploadedEtags(plan.nextState, written);
  try {
    // An atomic release's files have new keys: its state is always new (the next one knows their headers by it).
    if ((atomic && staying) || shouldWriteState(state, nextState, options.pruneOlderThanDeploys ?? 0))
      await store.writeJson(prefix + STATE_FILE, nextState);
    // Only when it moved: a re-run makes no PUT.
    const { commit } = options;
    if (commit && (await store.readJson<Partial<DeployMarker>>(prefix + MARKER_FILE))?.commit !== commit) {
      const marker: DeployMarker = { commit, project: options.project, deployedAt: new Date().toISOString() };
      await store.writeJson(prefix + MARKER_FILE, marker);
    }
    if (!staying) return undefined;
    const summary = {
      at: new Date().toISOString(),
      project: options.project,
      commit,
      by: options.leaseOwner,
      pipelineExecution: options.pipelineExecution,
      changed: changes,
      files: run.files.length,
      bytes: run.files.reduce((n, f) => n + f.size, 0),
      ...(atomic && run.liveReleases
        ? { atomic: { keyValueStoreArn: run.liveReleases.storeArn, site: run.liveReleases.site } }
        : {}),
    };
    const keyOf = atomic?.keyOf ?? ((path: string) => prefix + path);
    const files = releaseFiles(run, nextState, written, staying.live, keyOf);
    if (atomic) files.folders = recordedFolders(atomic.folders, atomic.release);
    return (await releases.add(summary, files, run.keepReleases, remote.keys(), staying, atomic?.release)).number;
  } catch (error) {
    if (!run.signal.aborted) throw error;
    throw new Interrupted(
      run.signal.reason,
      `Interrupted by ${run.signal.reason} after every file landed: the site is complete. ` +
        "The deploy's bookkeeping and manifest were not written, so nothing was invalidated: run the deploy again to record it (it uploads nothing).",
    );
  }
}

/**
 * A release's files by path and ETag: content-hashed ones are kept, the others restored from their versions
 * (versioned buckets) or snapshots.
 */
function releaseFiles(
  run: DeployRun,
  state: DeployState,
  written: ReadonlyMap<string, Written>,
  live: ReleaseRecord | undefined,
  keyOf: (path: string) => string,
): Pick<ReleaseRecord, 'restorable' | 'assets' | 'versions' | 'folders'> {
  const restorable: Record<string, string> = {};
  const assets: Record<string, string> = {};
  for (const f of run.files)
    (isContentHashed(f.path) ? assets : restorable)[f.path] = state.objects[keyOf(f.path)].etag;
  return { restorable, assets, versions: recordVersions(restorable, run.prefix, written, live) };
}
