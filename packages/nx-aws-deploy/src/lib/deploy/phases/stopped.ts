import type { Written } from '../../bucket/store';
import { Interrupted } from '../../util/interrupt';
import type { DeployPlan } from '../plan';
import type { DeployRun } from './run';

/** What landed so far: by key what each write left (ETag, version), and counts for a stop's message. */
export interface Transferred {
  written: Map<string, Written>;
  done: { uploads: number; updates: number; deletes: number };
}

/**
 * A failure in the middle of a change, as it goes on: a stop (the signal) aborts the multipart uploads left
 * open and says what landed, what visitors get now, and that running the deploy again finishes it.
 */
export async function stopped(
  run: DeployRun,
  plan: DeployPlan,
  { done }: Transferred,
  phase: 'assets' | 'entries' | 'prune',
  error: unknown,
): Promise<unknown> {
  const { signal } = run;
  if (!signal.aborted) return error;
  const aborted = await run.store.abortOpenUploads();
  const doing = { assets: 'uploading assets', entries: 'uploading entry files', prune: 'pruning' }[phase];
  const live =
    phase === 'assets'
      ? "The live entry files (HTML) are still the previous deploy's."
      : 'Every entry file already replaced names only assets that are in the bucket.';
  return new Interrupted(
    signal.reason,
    [
      `Interrupted by ${signal.reason} while ${doing}: uploaded ${done.uploads} of ${plan.uploads.length} files,`,
      `updated headers of ${done.updates} of ${plan.metadataUpdates.length}, deleted ${done.deletes} of ${plan.deletes.length}${aborted ? `, aborted ${aborted} unfinished multipart upload(s)` : ''}.`,
      `${live} Run the deploy again to finish: what already landed is not uploaded again.`,
    ].join(' '),
  );
}
