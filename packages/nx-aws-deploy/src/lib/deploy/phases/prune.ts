import type { Planned } from './plan';
import type { DeployRun } from './run';
import { stopped, type Transferred } from './stopped';

/**
 * Phase 5, once everything new is in place (and live, for an atomic release): the stale keys deleted (never the bookkeeping, excluded keys, other
 * deploys' or a kept release's assets; never more than maxDeletes, which planning already refused).
 */
export async function prune(
  run: DeployRun,
  { plan, atomic, leavesAtomic }: Planned,
  transferred: Transferred,
): Promise<void> {
  try {
    if (plan.deletes.length) await run.store.delete(plan.deletes, (n) => (transferred.done.deletes += n));
    // Release folders no longer kept: expected, so not held to maxDeletes (a release may have 100 000 files).
    if (atomic?.retention.length) await run.store.delete(atomic.retention);
    if (leavesAtomic?.deletes.length) await run.store.delete(leavesAtomic.deletes);
    if (run.signal.aborted) throw run.signal.reason;
  } catch (error) {
    throw await stopped(run, plan, transferred, 'prune', error);
  }
}
