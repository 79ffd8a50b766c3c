import { RELEASE_FOLDERS, releaseFolderFile } from '../bucket/bookkeeping';
import type { BucketStore } from '../bucket/store';
import { createKeyValueStoreClient } from '../aws/kvs-client';
import { UserError } from '../util/errors';
import type { ReleaseBook } from './book';
import { ownFolder, releaseFolder, rollbackSummary, type ReleaseSummary } from './history';
import { markRolledBack } from './marker';
import { switchLiveRelease } from './live-release';
import type { RollbackOptions, RollbackResult } from './rollback-options';

/**
 * A rollback of a site whose releases are atomic: the one KeyValueStore write that makes the target's folder live
 * again (nothing copied, nothing to invalidate), recorded as a release that names that folder.
 */
export async function rollbackAtomic(
  store: BucketStore,
  book: ReleaseBook,
  target: ReleaseSummary,
  options: RollbackOptions & { prefix: string; keep: number; log: (line: string) => void; started: number },
): Promise<RollbackResult> {
  const where = `s3://${options.bucket}/${options.prefix}`;
  const atomic = target.atomic;
  if (!atomic)
    throw new UserError(
      `Release ${target.number} of ${where} was deployed in place, the live one atomically: deploy that commit again instead. Nothing was changed.`,
    );
  const folder = releaseFolder(target);
  const record = await book.record(target.number);
  if (!record)
    throw new UserError(`The record of release ${target.number} is missing from ${where}; nothing was changed.`);
  // Its files are there while one of them is (retention deletes what no kept release has): one HEAD, not a listing.
  const [own] = Object.keys(record.restorable);
  if (own !== undefined) {
    const key = `${options.prefix}${releaseFolderFile(ownFolder(record, own), own)}`;
    await store.headers(key).catch((error: Error) => {
      throw new UserError(
        `The files of release ${target.number} are gone from ${where}${RELEASE_FOLDERS} (${key}: ${error.message}): it cannot be brought back. Nothing was changed; deploy that commit again instead.`,
      );
    });
  }
  const result: RollbackResult = {
    bucket: options.bucket,
    prefix: options.prefix,
    to: target.number,
    restored: 0,
    deleted: 0,
    unchanged: record.summary.files,
    dryRun: Boolean(options.dryRun),
    requests: store.requests,
    durationMs: 0,
  };
  const what = `release ${target.number} (${target.at}${target.commit ? `, ${target.commit.slice(0, 12)}` : ''})`;
  if (options.dryRun) {
    options.log(`Dry run: rolling ${where} back to ${what} would make its files live: one write.`);
    return { ...result, durationMs: Date.now() - options.started };
  }
  const client = createKeyValueStoreClient({ requestTimeoutSeconds: options.requestTimeout });
  try {
    // Nothing is deleted by a rollback: the releases kept before it still are.
    await switchLiveRelease({ client, storeArn: atomic.keyValueStoreArn, site: atomic.site }, (current) => ({
      live: folder,
      kept: [...new Set([...(current?.kept ?? []), folder])].sort((a, b) => a - b),
    }));
  } finally {
    client.destroy();
  }
  const release = await book.add(
    { ...rollbackSummary(record, target.number, options.leaseOwner, 0), atomic: { ...atomic, folder } },
    { restorable: record.restorable, assets: record.assets, folders: record.folders },
    options.keep,
    [],
    { liveStays: true, assets: new Map(), namedSnapshots: new Set() },
  );
  await markRolledBack(store, options.prefix, record, release.at);
  result.release = release.number;
  result.durationMs = Date.now() - options.started;
  options.log(
    `Release ${release.number} is live: ${where} serves release ${target.number}'s files again, made live with one write of "${atomic.site}" in ${atomic.keyValueStoreArn}, in ${(result.durationMs / 1000).toFixed(1)} s. The edges serve it within seconds; nothing to invalidate.`,
  );
  return result;
}
