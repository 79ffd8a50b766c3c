import { FILE_INDEX_FILE } from '../bucket/bookkeeping';
import type { BucketStore } from '../bucket/store';
import { changedPaths, withWrites, type FileIndex, type FileIndexRecord, type IndexChange } from './file-index';
import { Interrupted } from '../util/interrupt';
import type { ReleaseIndex } from './history';
import { UserError } from '../util/errors';
import {
  checkIndexKey,
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
  const landed = writing !== undefined && (liveNow?.live === writing.release || (!record?.staged && recorded(writing)));
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
 * The record of a release's entries before they are written (see FileIndexRecord), so that the next deploy knows
 * whether they landed; `staged`: the switch too, for the pipeline's publish step to write.
 */
function recordFileIndex(
  bucket: BucketStore,
  prefix: string,
  site: string,
  { number, by, previous, index }: LiveReleaseToBe,
  staged?: FileIndexRecord['staged'],
): Promise<unknown> {
  const writing = { release: number, by, puts: index.puts, deletes: index.deletes };
  const record: FileIndexRecord = { version: 1, site, index: previous, writing, ...(staged ? { staged } : {}) };
  return bucket.writeJson(prefix + FILE_INDEX_FILE, record);
}

/** Writes a release's entries to the store (`previous`: the index before them). Answers the store's ETag after. */
function writeFileIndex(
  store: LiveReleaseStore,
  previous: FileIndex,
  index: Pick<IndexChange, 'puts' | 'deletes'>,
): Promise<string> {
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
  const changed = changedPaths(index).length > 0;
  if (changed) await recordFileIndex(bucket, prefix, store.site, release);
  const etag = changed ? await writeFileIndex(store, release.previous, index) : undefined;
  if (signal?.aborted)
    throw new Interrupted(
      signal.reason,
      `Interrupted by ${signal.reason} before release ${release.number} went live: the live release is as it was (the index entries written are numbered after it). Run the deploy again.`,
    );
  const known = etag ? { etag, live: release.live } : undefined;
  const value = { live: release.number, kept: index.keptViews };
  return (await switchLiveRelease(store, () => value, known)).previous;
}

/**
 * A release staged for the pipeline's publish step instead of made live (see FileIndexRecord's `staged`): its
 * record, with its entries and the switch, is all it writes; the store is not touched.
 */
export async function stageRelease(
  bucket: BucketStore,
  prefix: string,
  site: string,
  release: LiveReleaseToBe,
): Promise<void> {
  await recordFileIndex(bucket, prefix, site, release, { live: release.number, kept: release.index.keptViews });
}

/** A value of the file index, as changeIndex writes them: entries `7`, `9:4` or `12:-`. */
const INDEX_VALUE = /^[1-9]\d*(:([1-9]\d*|-))?( [1-9]\d*(:([1-9]\d*|-))?)*$/;

/**
 * Makes a staged release live (`store.site`: the key it was staged for): its record's entries, then the switch,
 * exactly as the deploy would have written them. The record comes from a build that may run code nobody reviewed
 * (a pull request's), so nothing in it is trusted beyond the keys of `store.site`: every key written is derived
 * here from that site and a path, every value must be one of the index's or the switch's own shape. Answers the
 * release made live, or why there was nothing to publish.
 */
export async function publishStaged(
  bucket: BucketStore,
  prefix: string,
  store: LiveReleaseStore,
): Promise<{ published: number; previous?: number } | { nothing: string }> {
  const record = await bucket.readJson<FileIndexRecord>(prefix + FILE_INDEX_FILE);
  const where = `s3://${bucket.bucket}/${prefix}${FILE_INDEX_FILE}`;
  if (!record?.staged || !record.writing) return { nothing: `no release is staged in ${where}` };
  const { staged, writing } = record;
  const refuse = (why: string) =>
    new UserError(`The staged release in ${where} is refused: ${why}; nothing was written to the store.`);
  if (record.site !== store.site) throw refuse(`it is staged for "${record.site}", not "${store.site}"`);
  const numbers = [staged.live, writing.release, ...(Array.isArray(staged.kept) ? staged.kept : [NaN])];
  if (!numbers.every((n) => Number.isInteger(n) && n > 0) || staged.live !== writing.release)
    throw refuse('its release numbers are not those of one release');
  const strings = (values: unknown[]) => values.every((v) => typeof v === 'string' && v.length > 0);
  if (!Array.isArray(writing.puts) || !Array.isArray(writing.deletes) || !strings(writing.deletes))
    throw refuse('its index changes are not lists of paths');
  for (const { path, value } of writing.puts) {
    if (!strings([path]) || typeof value !== 'string' || !INDEX_VALUE.test(value))
      throw refuse(`the entry of "${String(path)}" is not a file index value`);
  }
  for (const path of changedPaths(writing)) checkIndexKey(store.site, path);
  const index = record.index && typeof record.index === 'object' ? record.index : {};
  const live = await readLiveRelease(store);
  if (live?.live === staged.live) return { nothing: `release ${staged.live} is live already` };
  const etag = await writeFileIndex(store, index, writing);
  const value = { live: staged.live, kept: staged.kept };
  await switchLiveRelease(store, () => value, { etag, live });
  return { published: staged.live, previous: live?.live };
}
