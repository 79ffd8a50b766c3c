import { forEachLimit } from '../../util/concurrency';
import { collectNow } from '../../util/memory';
import type { PlannedUpload } from '../plan';
import { Progress } from '../progress';
import type { Comparison } from './compare';
import type { Planned } from './plan';
import type { DeployRun } from './run';
import { stopped, type Transferred } from './stopped';
import { uploadFile } from './upload';

/**
 * Phase 4: the snapshots of what the live release has at keys about to change (a rollback copies them back),
 * then every asset, then the entry files that name them: a visitor never gets a page whose assets are missing.
 */
export async function transfer(
  run: DeployRun,
  { remote, releases }: Comparison,
  { plan, snapshots, atomic }: Planned,
): Promise<Transferred> {
  const { store, signal, concurrency } = run;
  // What planning made and no longer needs is freed before many requests in flight promote their garbage.
  collectNow(run.files.length + remote.size);
  const copies = atomic?.copies ?? [];
  run.log(
    `Deploying ${run.options.sourceDir} to s3://${run.options.bucket}/${run.prefix}${atomic ? ` as release ${atomic.release}` : ''}: ${plan.uploads.length} to upload, ${copies.length ? `${copies.length} to copy from the site as it was deployed in place, ` : ''}${plan.metadataUpdates.length} to update, ${plan.unchanged.length} unchanged, ${plan.deletes.length} to delete.`,
  );
  const bytes = plan.uploads.reduce((n, u) => n + u.size, 0);
  const progress = new Progress(
    'upload',
    plan.uploads.length + plan.metadataUpdates.length,
    bytes,
    run.log,
    Boolean(run.options.redrawProgress),
  );
  const transferred: Transferred = { written: new Map(), done: { uploads: 0, updates: 0, deletes: 0 } };
  const { written, done } = transferred;
  const byPath = new Map(plan.uploads.length ? run.files.map((f) => [f.path, f]) : []);
  const push = (batch: PlannedUpload[]) =>
    forEachLimit(
      batch,
      concurrency,
      async (u) => {
        written.set(u.key, await uploadFile(run, byPath.get(u.path)!, u, progress));
        done.uploads++;
        progress.advance(1);
      },
      signal,
    );
  const update = (batch: PlannedUpload[]) =>
    forEachLimit(
      batch,
      concurrency,
      async (u) => {
        written.set(u.key, await store.updateHeaders(u.key, u.headers));
        done.updates++;
        progress.advance(1);
      },
      signal,
    );
  const ship = async (entries: boolean) => {
    await push(plan.uploads.filter((u) => u.entry === entries));
    await update(plan.metadataUpdates.filter((u) => u.entry === entries));
    if (signal.aborted) throw signal.reason;
  };
  let entries = false;
  try {
    await releases.takeSnapshots(snapshots, concurrency, signal);
    if (signal.aborted) throw signal.reason;
    // The first atomic release's files the site deployed in place has: copied in the bucket, before anything names them.
    await forEachLimit(
      copies,
      concurrency,
      async (c) => {
        written.set(c.to, await store.copy(c.from, c.to));
      },
      signal,
    );
    if (signal.aborted) throw signal.reason;
    await ship(entries);
    await ship((entries = true));
  } catch (error) {
    throw await stopped(run, plan, transferred, entries ? 'entries' : 'assets', error);
  }
  run.hashes.save(run.files);
  return transferred;
}
