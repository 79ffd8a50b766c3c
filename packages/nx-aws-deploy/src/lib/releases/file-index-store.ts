import { FILE_INDEX_FILE } from '../bucket/bookkeeping';
import type { BucketStore } from '../bucket/store';
import { changedPaths, withWrites, type FileIndex, type FileIndexRecord, type IndexChange } from './file-index';
import { Interrupted } from '../util/interrupt';
import type { ReleaseIndex } from './history';
import {
  indexKey,
  readLiveRelease,
  storeBytes,
  switchLiveRelease,
  updateKeys,
  type LiveRelease,
  type LiveReleaseStore,
} from './live-release';

/**
 * The file index where a deploy keeps it: in the KeyValueStore for the release router, and its record in the
 * bucket (FILE_INDEX_FILE) for the next deploy, which reads that with one GET instead of paging through the store.
 */

/** What an atomic release reads first, while the deploy lists the bucket: the live release, the index's record. */
export interface AtomicReads {
  live: Promise<LiveRelease | undefined>;
  record: Promise<FileIndexRecord | undefined>;
}

/** Starts the reads (a failure surfaces where they are awaited, not as an unhandled rejection meanwhile). */
export function startAtomicReads(bucket: BucketStore, prefix: string, store: LiveReleaseStore): AtomicReads {
  const reads = { live: readLiveRelease(store), record: bucket.readJson<FileIndexRecord>(prefix + FILE_INDEX_FILE) };
  for (const read of Object.values(reads)) read.catch(() => undefined);
  return reads;
}

/** The site's index as the record has it, and what a deploy that stopped before its switch wrote beyond it. */
export interface RecordedIndex {
  /** The index the store holds for the live release and every release before. */
  index: FileIndex;
  /** Paths a deploy stopped before its switch wrote: whatever they hold, the next release writes them again. */
  rewrite?: string[];
}

/**
 * The recorded index of `site` (empty while no release is live through the store): the record's index with its last
 * writes, if they landed: their release is live (`live`), or in the release history (`history`), the same number
 * made by the same owner.
 */
export async function readFileIndex(
  { live, record: recordRead }: AtomicReads,
  site: string,
  history: ReleaseIndex | undefined,
): Promise<RecordedIndex> {
  const [record, liveNow] = await Promise.all([recordRead, live]);
  const writing = record?.writing;
  const recorded = (w: NonNullable<typeof writing>) =>
    Boolean(history?.releases.some((r) => r.number === w.release && r.by === w.by));
  const landed = writing !== undefined && (liveNow?.live === writing.release || recorded(writing));
  const ours = liveNow && record?.site === site;
  const index = ours ? (landed ? withWrites(record.index, writing) : record.index) : {};
  const rewrite = writing && !landed ? changedPaths(writing) : undefined;
  return { index, rewrite };
}

/** Every path the store may hold for `site`: what a site leaving atomic releases takes out of it. */
export async function indexedPaths(bucket: BucketStore, prefix: string, site: string): Promise<string[]> {
  const recorded = await bucket.readJson<FileIndexRecord>(prefix + FILE_INDEX_FILE);
  if (!recorded) return [];
  const paths = recorded.site === site ? Object.keys(recorded.index) : [];
  return [...new Set([...paths, ...(recorded.writing ? changedPaths(recorded.writing) : [])])];
}

/**
 * Writes a release's entries to the store. The record first says what is being written (see FileIndexRecord), so
 * that the next deploy knows whether they landed. Answers the store's ETag after the last write.
 */
async function writeFileIndex(
  bucket: BucketStore,
  prefix: string,
  store: LiveReleaseStore,
  { number, by, previous, index }: LiveReleaseToBe,
): Promise<string> {
  const writing = { release: number, by, puts: index.puts, deletes: index.deletes };
  await bucket.writeJson(prefix + FILE_INDEX_FILE, { version: 1, site: store.site, index: previous, writing });
  const entry = (path: string) =>
    Object.hasOwn(previous, path) ? [{ key: indexKey(store.site, path), value: previous[path] }] : [];
  const before = changedPaths(index).flatMap(entry);
  const puts = index.puts.map(({ path, value }) => ({ key: indexKey(store.site, path), value }));
  return updateKeys(store, {
    puts,
    deletes: index.deletes.map((path) => indexKey(store.site, path)),
    growth: storeBytes(puts) - storeBytes(before),
  });
}

/** A release about to go live: its number and owner, what was live, the index before it and its change. */
export interface LiveReleaseToBe {
  number: number;
  by: string;
  live: LiveRelease | undefined;
  previous: FileIndex;
  index: IndexChange & { keptViews: number[] };
}

/**
 * With every file of `release` in place: its entries in the file index (which no release made before sees), then
 * the one write that makes it live and names the releases kept, spared a read when it follows the index's own
 * writes. A stop (`signal`) that came during the index's writes comes before the switch. Answers what was live.
 */
export async function makeLive(
  bucket: BucketStore,
  prefix: string,
  store: LiveReleaseStore,
  release: LiveReleaseToBe,
  signal?: AbortSignal,
): Promise<LiveRelease | undefined> {
  const { index } = release;
  const etag = changedPaths(index).length ? await writeFileIndex(bucket, prefix, store, release) : undefined;
  if (signal?.aborted)
    throw new Interrupted(
      signal.reason,
      `Interrupted by ${signal.reason} before release ${release.number} went live: the live release is as it was (the index entries written are numbered after it). Run the deploy again.`,
    );
  const known = etag ? { etag, live: release.live } : undefined;
  const value = { live: release.number, kept: index.keptViews };
  return (await switchLiveRelease(store, () => value, known)).previous;
}
