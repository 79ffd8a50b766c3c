import { MARKER_FILE, type DeployMarker } from '../bucket/bookkeeping';
import type { BucketStore } from '../bucket/store';
import type { ReleaseRecord } from './history';

/**
 * After a rollback, the deploy marker (where there is one) names the commit now live, so that `set-shas` takes it
 * as the base of the next affected build.
 */
export async function markRolledBack(
  store: BucketStore,
  prefix: string,
  record: ReleaseRecord,
  at: string,
): Promise<void> {
  const { commit, project } = record.summary;
  if (!commit || !(await store.readJson<DeployMarker>(prefix + MARKER_FILE))) return;
  const marker: DeployMarker = { commit, project, deployedAt: at };
  await store.writeJson(prefix + MARKER_FILE, marker);
}
