import { checkBucketName } from '../bucket/name';
import { DEFAULT_CONCURRENCY, type BucketStore, type Written } from '../bucket/store';
import { RELEASES_DIR } from '../bucket/bookkeeping';
import { isEntryFile } from '../deploy/headers';
import { underLease } from '../bucket/lease';
import { normalizePrefix } from '../bucket/name';
import { byKey } from '../deploy/plan';
import { openS3Store } from '../bucket/s3-target';
import { forEachLimit } from '../util/concurrency';
import { UserError } from '../util/errors';
import { Interrupted } from '../util/interrupt';
import { collectSooner } from '../util/memory';
import { rollbackAtomic } from './atomic-rollback';
import type { RollbackOptions, RollbackResult } from './rollback-options';
import { ReleaseBook } from './book';
import { markRolledBack } from './marker';
import { copiedReleaseManifest, invalidateChanges } from './invalidation';
import {
  checkKeepReleases,
  planRollback,
  recordKeys,
  recordVersions,
  rollbackSummary,
  rollbackTarget,
  snapshotsToTake,
  type RollbackPlan,
} from './history';

export type { RollbackOptions, RollbackResult } from './rollback-options';

/** Brings a kept release back without a build: server-side copies of its files, then the index says it is live. */
export async function rollback(options: RollbackOptions): Promise<RollbackResult> {
  const result = await rollbackWith(
    openS3Store({ ...options, concurrency: options.concurrency ?? DEFAULT_CONCURRENCY }),
    options,
  );
  // Exactly the restored and deleted paths, as after a deploy.
  return invalidateChanges(result, options);
}

export async function rollbackWith(
  openStore: (signal: AbortSignal) => BucketStore,
  options: RollbackOptions,
): Promise<RollbackResult> {
  const started = Date.now();
  const log = options.log ?? ((line: string) => console.log(line));
  const prefix = normalizePrefix(options.prefix);
  const where = `s3://${options.bucket}/${prefix}`;
  if (!options.bucket) throw new UserError('The "bucket" option is required: the S3 bucket to roll back.');
  checkBucketName(options.bucket, 'the "bucket" option');
  if (options.to !== undefined && (!Number.isInteger(options.to) || options.to < 1))
    throw new UserError(`"to" must be a release number (see \`nx-aws-deploy releases\`), not ${options.to}.`);
  const keep = checkKeepReleases(options.keepReleases);
  const concurrency = options.concurrency ?? DEFAULT_CONCURRENCY;

  return underLease(
    openStore,
    {
      ...options,
      prefix,
      log,
      // Nothing to roll back to is said before the lease is taken; under it, the history is read again.
      beforeLease: async (store) =>
        void rollbackTarget((await ReleaseBook.open(store, prefix)).index, where, options.to),
    },
    async (store, signal) => {
      const book = await ReleaseBook.open(store, prefix);
      const target = rollbackTarget(book.index, where, options.to);
      // A site whose live release went live through the KeyValueStore rolls back with one write of it.
      if (book.index!.releases.find((r) => r.number === book.index!.live)?.atomic)
        return rollbackAtomic(store, book, target, { ...options, prefix, keep, log, started });
      collectSooner(target.files);
      // The bucket is listed while the kept records are read, split at the live release's files.
      const listing = store
        .list(prefix, { likelyKeys: book.liveRecord().then((live) => (live ? recordKeys(live, prefix) : [])) })
        .then(byKey);
      const staying = await book.staying(keep, listing, target.number);
      const remote = await listing;
      const { live } = staying;
      const record = staying.asked ?? (await book.record(target.number));
      if (!record)
        throw new UserError(
          `The record of release ${target.number} is missing from ${where}${RELEASES_DIR}; it cannot be brought back. Nothing was changed.`,
        );
      const { plan, gone } = await book.planWithGoneVersions(
        (goneVersions) => planRollback(record, live, prefix, remote, goneVersions),
        (planned) => planned.restores,
        concurrency,
        signal,
      );
      if (plan.missing.length)
        throw new UserError(
          `Cannot roll back ${where} to release ${target.number}: ${plan.missing.length} of its files are gone from the bucket (${plan.missing.slice(0, 10).join(', ')}${plan.missing.length > 10 ? ', …' : ''})${gone.size ? `, ${gone.size} of them as versions the bucket's lifecycle rule expired` : ''}. Nothing was changed; deploy that commit again instead.`,
        );
      const result: RollbackResult = {
        bucket: options.bucket,
        prefix,
        to: target.number,
        restored: plan.restores.length,
        deleted: plan.deletes.length,
        unchanged: plan.unchanged,
        dryRun: Boolean(options.dryRun),
        requests: store.requests,
        durationMs: 0,
      };
      const what = `release ${target.number} (${target.at}${target.commit ? `, ${target.commit.slice(0, 12)}` : ''})`;
      if (options.dryRun) {
        log(dryRunReport(`rolling ${where} back to ${what}`, plan));
        return { ...result, durationMs: Date.now() - started };
      }
      log(
        `Rolling ${where} back to ${what}: ${plan.restores.length} to restore, ${plan.deletes.length} to delete, ${plan.unchanged} unchanged.`,
      );
      const written = new Map<string, Written>();
      const done = { restored: 0, deleted: 0 };
      let released: { number: number; at: string } | undefined;
      const restore = (batch: RollbackPlan['restores']) =>
        forEachLimit(
          batch,
          concurrency,
          async (r) => {
            written.set(r.key, await store.copy(r.from, r.key, { versionId: r.versionId }));
            done.restored++;
          },
          signal,
        );
      try {
        // The live release's files are kept first (rolling forward again is a rollback too); then, as in a
        // deploy, everything else before the entry files that name it.
        await book.takeSnapshots(
          snapshotsToTake(live, prefix, [...plan.restores.map((r) => r.key), ...plan.deletes], remote),
          concurrency,
          signal,
        );
        await restore(plan.restores.filter((r) => !isEntryFile(r.key)));
        if (signal.aborted) throw signal.reason;
        await restore(plan.restores.filter((r) => isEntryFile(r.key)));
        if (signal.aborted) throw signal.reason;
        if (plan.deletes.length) await store.delete(plan.deletes, (n) => (done.deleted += n));
        const restorable = Object.fromEntries(
          Object.entries(record.restorable).map(([path, etag]) => [path, written.get(prefix + path)?.etag ?? etag]),
        );
        const release = await book.add(
          rollbackSummary(record, target.number, options.leaseOwner, plan.restores.length + plan.deletes.length),
          { restorable, assets: record.assets, versions: recordVersions(restorable, prefix, written, live) },
          keep,
          remote.keys(),
          staying,
        );
        result.release = release.number;
        released = release;
        await markRolledBack(store, prefix, record, release.at);
      } catch (error) {
        if (!signal.aborted) throw error;
        throw new Interrupted(
          signal.reason,
          `Interrupted by ${signal.reason} while rolling back: restored ${done.restored} of ${plan.restores.length} files, deleted ${done.deleted} of ${plan.deletes.length}. ` +
            `Every page served names files that are in the bucket. Run the same rollback again to finish it.`,
        );
      }
      result.manifest = copiedReleaseManifest(
        record,
        { ...options, prefix },
        released!,
        [
          ...plan.restores.map((r) => ({ key: r.key, action: 'replaced' as const, immutable: false })),
          ...plan.deletes.map((key) => ({ key, action: 'deleted' as const, immutable: false })),
        ],
        plan.unchanged,
      );
      result.durationMs = Date.now() - started;
      log(
        `Release ${result.release} is live: ${where} serves release ${target.number}'s files again (${plan.restores.length} restored, ${plan.deletes.length} deleted, ${plan.unchanged} unchanged) in ${(result.durationMs / 1000).toFixed(1)} s.`,
      );
      return result;
    },
  );
}

function dryRunReport(what: string, plan: RollbackPlan): string {
  return [
    `Dry run: ${what} would:`,
    ...plan.restores.map((r) => `  restore  ${r.key} (from ${r.versionId ? `version ${r.versionId}` : r.from})`),
    ...plan.deletes.map((key) => `  delete   ${key}`),
    `  leave ${plan.unchanged} unchanged`,
  ].join('\n');
}
