import { RELEASE_FOLDERS, releaseFolderFile } from '../bucket/bookkeeping';
import type { BucketStore, RemoteObject } from '../bucket/store';
import { chooseFolders, indexOfRelease, unindexedReleaseFiles } from '../deploy/atomic';
import { isContentHashed } from '../deploy/headers';
import type { ReleaseBook } from './book';
import type { FileIndex, IndexChange } from './file-index';
import { readFileIndex, startAtomicReads } from './file-index-store';
import { nextReleaseNumber, type ReleaseRecord } from './history';
import type { LiveRelease, LiveReleaseStore } from './live-release';

/**
 * A promote into a site whose releases are atomic: the promoted release's files in the target's layout
 * (content-hashed ones at their own keys, every other one in the newest target folder that holds its bytes already,
 * else the new release's), its entries in the target's file index, then the one switch; nothing to invalidate.
 */
export interface AtomicPromotion {
  release: number;
  live: LiveRelease | undefined;
  /** Where each file of the release goes in the target. */
  keyOf: (path: string) => string;
  /** The folder of each of its files without a content hash. */
  folders: ReadonlyMap<string, number>;
  previous: FileIndex;
  index: IndexChange & { keptViews: number[] };
  /** What the target's kept releases no longer name in their folders: deleted after the switch. */
  retention: string[];
  /** Keys a prune keeps (relative to the prefix): the release folders, the files of the site as it was in place. */
  keep: (relativeKey: string) => boolean;
}

export async function planAtomicPromotion(
  target: BucketStore,
  prefix: string,
  store: LiveReleaseStore,
  book: ReleaseBook,
  record: ReleaseRecord,
  listed: ReadonlyMap<string, RemoteObject>,
  options: { keep: number; skewProtectionHours?: number },
): Promise<AtomicPromotion> {
  const reads = startAtomicReads(target, prefix, store);
  const { index: previous, rewrite } = await readFileIndex(reads, store.site, book.index);
  const live = await reads.live;
  // After a switch whose recording was interrupted, the store is ahead of the history: never reuse its number.
  const release = Math.max(nextReleaseNumber(book.index), (live?.live ?? 0) + 1);
  const folders = chooseFolders({
    paths: Object.keys(record.restorable),
    ...{ index: previous, release, site: store.site, prefix },
    holds: (path, key) => listed.get(key)?.etag === record.restorable[path],
  });
  const index = indexOfRelease({
    ...{ previous, release, folders, rewrite, live: live?.live, keep: options.keep },
    releases: book.index?.releases ?? [],
    skewProtectionHours: options.skewProtectionHours,
  });
  return {
    release,
    live,
    keyOf: (path) => prefix + (isContentHashed(path) ? path : releaseFolderFile(folders.get(path)!, path)),
    folders,
    previous,
    index,
    retention: unindexedReleaseFiles(listed, prefix, index.next),
    keep: (relativeKey) => relativeKey.startsWith(RELEASE_FOLDERS) || !isContentHashed(relativeKey),
  };
}
