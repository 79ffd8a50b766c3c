import { switchLiveRelease } from '../../releases/live-release';
import { Interrupted } from '../../util/interrupt';
import type { Planned } from './plan';
import type { DeployRun } from './run';

/**
 * Phase 4b of an atomic release, every file of it in place: the one write of the KeyValueStore that makes it live
 * (the release router serves it from then on, each edge within seconds). Before it, nothing a visitor is served
 * has changed; a stop before it leaves the live release as it was.
 */
export async function goLive(run: DeployRun, { atomic }: Planned): Promise<void> {
  if (!atomic || !run.liveReleases) return;
  if (run.signal.aborted)
    throw new Interrupted(
      run.signal.reason,
      `Interrupted by ${run.signal.reason} before release ${atomic.release} went live: the live release is as it was. Run the deploy again.`,
    );
  const { previous } = await switchLiveRelease(run.liveReleases, () => ({ live: atomic.release }));
  run.log(
    `Release ${atomic.release} is live${previous ? ` (was ${previous.live})` : ''}: "${run.liveReleases.site}" in ${run.liveReleases.storeArn}.`,
  );
}
