import type { Planned } from './plan';
import type { DeployRun } from './run';
import { stopped, type Transferred } from './stopped';

/**
 * Phase 5, once everything new is in place: the stale keys deleted (never the bookkeeping, excluded keys, other
 * deploys' or a kept release's assets; never more than maxDeletes, which planning already refused).
 */
export async function prune(run: DeployRun, { plan }: Planned, transferred: Transferred): Promise<void> {
  try {
    if (plan.deletes.length) await run.store.delete(plan.deletes, (n) => (transferred.done.deletes += n));
    if (run.signal.aborted) throw run.signal.reason;
  } catch (error) {
    throw await stopped(run, plan, transferred, 'prune', error);
  }
}
