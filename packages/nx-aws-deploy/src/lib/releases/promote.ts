import { checkBucketName } from '../bucket/name';
import { DEFAULT_CONCURRENCY, type BucketStore, type Written } from '../bucket/store';
import { isEntryFile } from '../deploy/headers';
import { underLease } from '../bucket/lease';
import { normalizePrefix } from '../bucket/name';
import { byKey, DEFAULT_MAX_DELETES, planPrune } from '../deploy/plan';
import { openS3Store } from '../bucket/s3-target';
import { forEachLimit } from '../util/concurrency';
import { UserError } from '../util/errors';
import { Interrupted } from '../util/interrupt';
import { collectNow, collectSooner } from '../util/memory';
import { ReleaseBook } from './book';
import { makeLive } from './file-index-store';
import { copiedReleaseManifest, invalidateChanges, type CopiedReleaseResult } from './invalidation';
import { openLiveReleaseStore, type LiveReleaseStore } from './live-release';
import { planAtomicPromotion } from './promote-atomic';
import {
  checkKeepReleases,
  locateRelease,
  recordedFolders,
  recordKeys,
  recordVersions,
  snapshotsToTake,
  type ReleaseRecord,
} from './history';

export interface PromoteOptions {
  /** Where the tested release is (staging). */
  fromBucket: string;
  fromPrefix?: string;
  /** Default: the live release there. */
  release?: number;
  /** Where it goes (prod). */
  bucket: string;
  prefix?: string;
  region?: string;
  distributionId?: string;
  prune?: boolean;
  maxDeletes?: number;
  exclude?: string[];
  keepReleases?: number;
  /**
   * "atomic": the target's releases are atomic (see DeployOptions.releaseMode): the release goes there in its
   * layout, its file index and one write of `keyValueStoreArn` (`site`, default the release's project) make it live.
   */
  releaseMode?: 'in-place' | 'atomic';
  keyValueStoreArn?: string;
  site?: string;
  skewProtectionHours?: number;
  dryRun?: boolean;
  concurrency?: number;
  requestTimeout?: number;
  lockTimeout?: number;
  leaseOwner: string;
  log?: (line: string) => void;
  signal?: AbortSignal;
}

export interface PromoteResult extends CopiedReleaseResult {
  from: string;
  to: string;
  /** The release promoted (its number in the source). */
  promoted: number;
  copied: number;
}

interface PlannedCopy {
  path: string;
  /** Key in the source bucket: the live object (or its version `versionId`), or the snapshot of the release's bytes. */
  from: string;
  versionId?: string;
  etag: string;
  to: string;
  /** A live source key is copied only while it still has the release's bytes (a deploy there may be running). */
  ifMatch?: string;
}

/**
 * Build once, ship the tested bytes: copies a release of one bucket + prefix (staging) into another (prod) with
 * server-side copies, as a deploy would ship it (assets, then entry files, then prune behind the same guards),
 * and records it there as a release. Nothing is built or read from disk.
 */
export async function promote(options: PromoteOptions): Promise<PromoteResult> {
  const concurrency = options.concurrency ?? DEFAULT_CONCURRENCY;
  const result = await promoteWith(
    {
      source: openS3Store({ ...options, bucket: options.fromBucket, concurrency }),
      target: openS3Store({ ...options, concurrency }),
    },
    options,
  );
  return invalidateChanges(result, options);
}

export async function promoteWith(
  open: { source: (signal: AbortSignal) => BucketStore; target: (signal: AbortSignal) => BucketStore },
  options: PromoteOptions,
): Promise<PromoteResult> {
  const started = Date.now();
  const log = options.log ?? ((line: string) => console.log(line));
  const fromPrefix = normalizePrefix(options.fromPrefix);
  const prefix = normalizePrefix(options.prefix);
  if (!options.fromBucket) throw new UserError('The "fromBucket" option is required: the bucket to promote from.');
  if (!options.bucket) throw new UserError('The "bucket" option is required: the bucket to promote to.');
  checkBucketName(options.fromBucket, 'the "fromBucket" option');
  checkBucketName(options.bucket, 'the "bucket" option');
  const from = `s3://${options.fromBucket}/${fromPrefix}`;
  const to = `s3://${options.bucket}/${prefix}`;
  if (from === to) throw new UserError(`Promote needs two places: ${from} is both the source and the target.`);
  if (options.release !== undefined && (!Number.isInteger(options.release) || options.release < 1))
    throw new UserError(`"release" must be a release number of ${from}, not ${options.release}.`);
  const keep = checkKeepReleases(options.keepReleases);
  const concurrency = options.concurrency ?? DEFAULT_CONCURRENCY;
  // Checked before any request; the site's key defaults to the release's project, known once its record is read.
  const atomicStore = openLiveReleaseStore(options, '');
  try {
    return await promoteUnderLease(open, options, {
      from,
      to,
      fromPrefix,
      prefix,
      keep,
      concurrency,
      log,
      started,
      atomicStore,
    });
  } finally {
    atomicStore?.client.destroy();
  }
}

async function promoteUnderLease(
  open: { source: (signal: AbortSignal) => BucketStore; target: (signal: AbortSignal) => BucketStore },
  options: PromoteOptions,
  context: {
    from: string;
    to: string;
    fromPrefix: string;
    prefix: string;
    keep: number;
    concurrency: number;
    log: (line: string) => void;
    started: number;
    atomicStore: LiveReleaseStore | undefined;
  },
): Promise<PromoteResult> {
  const { from, to, fromPrefix, prefix, keep, concurrency, log, started, atomicStore } = context;
  let source!: BucketStore;
  let copies!: { record: ReleaseRecord; planned: PlannedCopy[] };
  return underLease(
    open.target,
    {
      ...options,
      prefix,
      log,
      // The source is only read: a release that is not there, or is not whole, is refused before the lease.
      beforeLease: async () => {
        source = open.source(options.signal ?? new AbortController().signal);
        copies = await sourceCopies(source, fromPrefix, from, prefix, options.release, concurrency);
      },
    },
    async (target, signal) => {
      const { record, planned } = copies;
      collectSooner(record.summary.files);
      // The bucket is listed while the history and the kept records are read (awaited below: a failure to read
      // the history first must not leave the listing's own failure unhandled).
      // Split where the target would hold the release's files (a target that has it already, or an older one).
      const listing = target.list(prefix, { likelyKeys: recordKeys(record, prefix) }).then(byKey);
      listing.catch(() => undefined);
      const book = await ReleaseBook.open(target, prefix);
      const staying = await book.staying(keep, listing);
      const listed = await listing;
      const targetLive = book.index?.releases.find((r) => r.number === book.index?.live);
      if (targetLive?.atomic && !atomicStore)
        throw new UserError(
          `The live release of ${to} is atomic (through "${targetLive.atomic.site}" in ${targetLive.atomic.keyValueStoreArn}): promote into it with releaseMode "atomic" and that keyValueStoreArn. Nothing was changed.`,
        );
      const store = atomicStore && { ...atomicStore, site: atomicStore.site || record.summary.project };
      const atomic =
        store &&
        (await planAtomicPromotion(target, prefix, store, book, record, listed, {
          keep,
          skewProtectionHours: options.skewProtectionHours,
        }));
      if (atomic) for (const c of planned) c.to = atomic.keyOf(c.path);
      const changed = planned.filter((c) => listed.get(c.to)?.etag !== c.etag);
      const inRelease = new Set(planned.map((c) => c.to));
      const pruned =
        options.prune === false
          ? { deletes: [], kept: [], siblings: [] }
          : planPrune(
              {
                bucket: options.bucket,
                prefix,
                remote: listed,
                maxDeletes: options.maxDeletes ?? DEFAULT_MAX_DELETES,
                exclude: options.exclude,
                releaseAssets: staying.assets,
                keep: atomic?.keep,
                what: 'This promote',
                check: `Check "prefix" and that ${from} is the site meant for ${to}`,
              },
              (key) => inRelease.has(key),
            );
      const result: PromoteResult = {
        from,
        to,
        promoted: record.summary.number,
        copied: changed.length,
        deleted: pruned.deletes.length,
        unchanged: planned.length - changed.length,
        dryRun: Boolean(options.dryRun),
        requests: target.requests,
        durationMs: 0,
      };
      const what = `release ${record.summary.number} of ${from}${record.summary.commit ? ` (${record.summary.commit.slice(0, 12)})` : ''}`;
      if (options.dryRun) {
        log(
          [
            `Dry run: promoting ${what} to ${to} would:`,
            ...changed.map((c) => `  copy     ${c.to} (from ${c.from}${c.versionId ? ` version ${c.versionId}` : ''})`),
            ...pruned.deletes.map((key) => `  delete   ${key}`),
            `  leave ${result.unchanged} unchanged`,
          ].join('\n'),
        );
        return { ...result, durationMs: Date.now() - started };
      }
      // What planning made and no longer needs is freed before many copies in flight promote their garbage.
      collectNow(record.summary.files);
      log(
        `Promoting ${what} to ${to}: ${changed.length} to copy, ${pruned.deletes.length} to delete, ${result.unchanged} unchanged.`,
      );
      const written = new Map<string, Written>();
      const done = { copied: 0, deleted: 0 };
      const copy = (batch: PlannedCopy[]) =>
        forEachLimit(
          batch,
          concurrency,
          async (c) => {
            written.set(
              c.to,
              await target.copy(c.from, c.to, {
                fromBucket: options.fromBucket,
                versionId: c.versionId,
                ifMatch: c.ifMatch,
              }),
            );
            done.copied++;
          },
          signal,
        );
      let released: { number: number; at: string } | undefined;
      try {
        // Atomic: nothing live changes before the switch, so nothing needs a snapshot.
        if (!atomic)
          await book.takeSnapshots(
            snapshotsToTake(
              staying.liveStays ? staying.live : undefined,
              prefix,
              [...changed.map((c) => c.to), ...pruned.deletes],
              listed,
            ),
            concurrency,
            signal,
          );
        // As a deploy ships: every asset before the entry files that name it, deletes once all is in place.
        await copy(changed.filter((c) => !isEntryFile(c.path)));
        if (signal.aborted) throw signal.reason;
        await copy(changed.filter((c) => isEntryFile(c.path)));
        if (signal.aborted) throw signal.reason;
        if (atomic) {
          await makeLive(
            target,
            prefix,
            store!,
            {
              ...{ number: atomic.release, by: options.leaseOwner, live: atomic.live },
              ...{ previous: atomic.previous, index: atomic.index },
            },
            signal,
          );
          if (atomic.retention.length) await target.delete(atomic.retention);
        }
        if (pruned.deletes.length) await target.delete(pruned.deletes, (n) => (done.deleted += n));
        // The record read from the source becomes the new one's, in place: at 100 000 files a copy costs megabytes.
        const { restorable, assets } = record;
        const keyOf = atomic?.keyOf ?? ((path: string) => prefix + path);
        for (const files of [restorable, assets])
          for (const path in files)
            if (Object.hasOwn(files, path)) files[path] = written.get(keyOf(path))?.etag ?? files[path];
        const release = await book.add(
          {
            at: new Date().toISOString(),
            project: record.summary.project,
            commit: record.summary.commit,
            by: options.leaseOwner,
            promotedFrom: `${from}#${record.summary.number}`,
            changed: changed.length + pruned.deletes.length,
            files: record.summary.files,
            bytes: record.summary.bytes,
            ...(atomic && { atomic: { keyValueStoreArn: store!.storeArn, site: store!.site } }),
          },
          atomic
            ? { restorable, assets, folders: recordedFolders(atomic.folders, atomic.release) }
            : { restorable, assets, versions: recordVersions(restorable, prefix, written, staying.live) },
          keep,
          listed.keys(),
          staying,
          atomic?.release,
        );
        result.release = release.number;
        released = release;
      } catch (error) {
        if (!signal.aborted) throw error;
        throw new Interrupted(
          signal.reason,
          `Interrupted by ${signal.reason} while promoting: copied ${done.copied} of ${changed.length} files, deleted ${done.deleted} of ${pruned.deletes.length}. ` +
            'Every page served names files that are in the bucket. Run the same promote again to finish it.',
        );
      }
      // Atomic: the switch is new cache keys, nothing to invalidate.
      if (!atomic)
        result.manifest = copiedReleaseManifest(
          record,
          { ...options, prefix },
          released!,
          [
            ...changed.map((c) => ({
              key: c.to,
              action: listed.has(c.to) ? ('replaced' as const) : ('created' as const),
              immutable: Object.hasOwn(record.assets, c.path),
            })),
            ...pruned.deletes.map((key) => ({ key, action: 'deleted' as const, immutable: false })),
          ],
          result.unchanged,
        );
      result.durationMs = Date.now() - started;
      log(
        `Release ${result.release} of ${to} is ${what}: ${changed.length} copied, ${pruned.deletes.length} deleted, ${result.unchanged} unchanged in ${(result.durationMs / 1000).toFixed(1)} s${atomic ? `, made live with one write of "${store!.site}" in ${store!.storeArn}; nothing to invalidate` : ''}.`,
      );
      return result;
    },
  );
}

/**
 * Where each file of the source release is now: its live key, its version (versioned buckets), or the snapshot of
 * its bytes; refuses when gone.
 */
async function sourceCopies(
  source: BucketStore,
  fromPrefix: string,
  from: string,
  prefix: string,
  release: number | undefined,
  concurrency: number,
): Promise<{ record: ReleaseRecord; planned: PlannedCopy[] }> {
  // The source is listed while its release is looked up, split at that release's files once its record is in.
  const opened = ReleaseBook.open(source, fromPrefix);
  const wanted = opened.then(async (history) => {
    const number = release ?? history.index?.live;
    const kept = history.index?.releases.filter((r) => r.kept) ?? [];
    return { number, kept, record: kept.some((r) => r.number === number) ? await history.record(number!) : undefined };
  });
  const [book, remote] = await Promise.all([
    opened,
    source.list(fromPrefix, {
      likelyKeys: wanted.then(({ record }) => (record ? recordKeys(record, fromPrefix) : [])),
    }),
  ]);
  if (!book.index?.releases.length)
    throw new UserError(
      `No releases are recorded in ${from}: deploy there first (with nx-aws-deploy 0.2 or later), or check "fromBucket" and "fromPrefix".`,
    );
  const { number, kept, record } = await wanted;
  if (!record)
    throw new UserError(
      `Release ${number} of ${from} is not kept there (kept: ${kept.map((r) => r.number).join(', ')}); nothing was changed.`,
    );
  const listed = byKey(remote);
  // Where each file is now; a live source key is copied only while it still has the release's bytes.
  const locate = (goneVersions: ReadonlySet<string>) => {
    const { located, missing } = locateRelease(record, fromPrefix, listed, goneVersions);
    const planned = located.map(({ path, etag, from, versionId, live }) => ({
      path,
      from,
      versionId,
      etag,
      to: prefix + path,
      ...(live && { ifMatch: etag }),
    }));
    return { planned, missing };
  };
  const { plan: located } = await book.planWithGoneVersions(
    locate,
    ({ planned }) => planned.map((c) => ({ key: c.from, versionId: c.versionId })),
    concurrency,
  );
  const { planned, missing } = located;
  if (missing.length)
    throw new UserError(
      `Cannot promote release ${number} of ${from}: ${missing.length} of its files are gone (${missing.sort().slice(0, 10).join(', ')}${missing.length > 10 ? ', …' : ''}). Nothing was changed; deploy it there again.`,
    );
  return { record, planned };
}
