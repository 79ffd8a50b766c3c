import { FILE_INDEX_FILE, RELEASE_FOLDERS, releaseFolderFile } from '../bucket/bookkeeping';
import type { BucketStore, RemoteObject } from '../bucket/store';
import {
  changeIndex,
  foldersAt,
  foldersOf,
  indexedKeys,
  type FileIndex,
  type IndexChange,
} from '../releases/file-index';
import { indexedPaths } from '../releases/file-index-store';
import { releaseFolder, type ReleaseSummary } from '../releases/history';
import { checkIndexKey } from '../releases/live-release';
import { headersFingerprint, isContentHashed } from './headers';
import type { DeployPlan, DeployState, PlannedFile, PlannedUpload } from './plan';

/**
 * Atomic releases (releaseMode "atomic"): files whose names carry a content hash stay at their own keys, shared by
 * every release (one name is always the same bytes); every other file is below the prefix in a release folder,
 * `_releases/<n>/`: the folder of the release that first had its bytes, which the file index names (see
 * releases/file-index.ts). Nothing a visitor is served changes until the store's value names the new release (see
 * the release router): going live, and rolling back, is that one write.
 */
/** Hours a release that stopped being live stays, by default, for tabs still open on it. */
export const DEFAULT_SKEW_PROTECTION_HOURS = 24;

/**
 * The folder of each of a release's `paths` without a content hash in its name: the newest folder the index names
 * for it that `holds` its bytes already (the key it would have there), else the release's own. Refuses a path
 * whose index key CloudFront would not take.
 */
export function chooseFolders(input: {
  paths: Iterable<string>;
  index: FileIndex;
  release: number;
  site: string;
  prefix: string;
  holds: (path: string, key: string) => boolean;
}): Map<string, number> {
  const { index, release, prefix, holds } = input;
  const folders = new Map<string, number>();
  for (const path of input.paths) {
    if (isContentHashed(path)) continue;
    checkIndexKey(input.site, path);
    const held = foldersOf(index[path]).find((folder) => holds(path, prefix + releaseFolderFile(folder, path)));
    folders.set(path, held ?? release);
  }
  return folders;
}

/**
 * Whether the live release (`live`, whose record has `liveFiles` files) is this build: as many files, each file
 * without a content hash served from the folder chosen for it. (What a stopped deploy wrote for a release never made
 * live is numbered after it: no release sees it.)
 */
export function servesAlready(
  index: FileIndex,
  live: number,
  liveFiles: number,
  files: number,
  folders: ReadonlyMap<string, number>,
): boolean {
  const served = foldersAt(index, live);
  return (
    liveFiles === files &&
    served.size === folders.size &&
    [...folders].every(([path, folder]) => served.get(path) === folder)
  );
}

/**
 * An in-place deploy of a site whose live release is atomic: its key and the file index's paths to take out of
 * the store, and the release folders and the index's record to delete (after the store no longer names them).
 */
export async function leavingAtomic(
  bucket: BucketStore,
  prefix: string,
  store: { keyValueStoreArn: string; site: string },
  remote: ReadonlyMap<string, RemoteObject>,
) {
  const indexFile = prefix + FILE_INDEX_FILE;
  const deletes = [...remote.keys()].filter((k) => k.startsWith(prefix + RELEASE_FOLDERS) || k === indexFile);
  return { store, indexPaths: await indexedPaths(bucket, prefix, store.site), deletes };
}

/**
 * Whether the object at `key` holds `file` already: the same bytes, as listed, with the same headers, as the last
 * deploy's state (or a HEAD) says.
 */
export function holdsFile(
  file: PlannedFile,
  key: string,
  remote: ReadonlyMap<string, RemoteObject>,
  headersAt: (key: string, etag: string) => string | undefined,
): boolean {
  const listed = remote.get(key);
  return (
    listed !== undefined &&
    file.etags.includes(listed.etag) &&
    headersAt(key, listed.etag) === headersFingerprint(file.headers)
  );
}

/** A file of the first atomic release that the site deployed in place has: copied in the bucket, not sent. */
export interface PlannedCopy {
  path: string;
  from: string;
  to: string;
  size: number;
}

/**
 * Splits the plan's uploads into what the build machine sends and what S3 copies: a file of the first atomic
 * release whose bytes and headers the site deployed in place has (at `liveKeyOf(path)`, as the listing and the last
 * deploy's state say) is copied from there. `files`: those that may be, by path (the ones that change keys). Later
 * releases need no copies: the file index names the folder that holds each file already.
 */
export function copiesFromLive(
  plan: Pick<DeployPlan, 'uploads'>,
  files: ReadonlyMap<string, { etags: string[] }>,
  remote: ReadonlyMap<string, RemoteObject>,
  state: DeployState | undefined,
  liveKeyOf: (path: string) => string,
): { uploads: PlannedUpload[]; copies: PlannedCopy[] } {
  const uploads: PlannedUpload[] = [];
  const copies: PlannedCopy[] = [];
  for (const upload of plan.uploads) {
    const from = liveKeyOf(upload.path);
    const live = remote.get(from);
    const recorded = state?.objects[from];
    const same =
      from !== upload.key &&
      live !== undefined &&
      files.get(upload.path)!.etags.includes(live.etag) &&
      recorded?.etag === live.etag &&
      recorded.headers === headersFingerprint(upload.headers);
    if (same) copies.push({ path: upload.path, from, to: upload.key, size: upload.size });
    else uploads.push(upload);
  }
  return { uploads, copies };
}

/** The keys in the release folders below `prefix` that the file index `next` no longer names: what retention deletes. */
export function unindexedReleaseFiles(
  remote: ReadonlyMap<string, RemoteObject>,
  prefix: string,
  next: FileIndex,
): string[] {
  const indexed = indexedKeys(next, prefix, releaseFolderFile);
  const folders = prefix + RELEASE_FOLDERS;
  return [...remote.keys()].filter((key) => key.startsWith(folders) && !indexed.has(key));
}

/**
 * The releases whose files stay: the new one and the newest keep - 1 kept now, the live one, and those that stopped
 * being live less than skewProtectionMs ago (a tab opened on them still loads their files). A rollback's release is
 * the release it brought back, by its number.
 */
export function keptReleaseNumbers(input: {
  /** Newest first, as the release index holds them. */
  releases: readonly Pick<ReleaseSummary, 'number' | 'kept' | 'at' | 'atomic'>[];
  release: number;
  live: number | undefined;
  keep: number;
  skewProtectionMs: number;
  now: number;
}): Set<number> {
  const { releases, now } = input;
  const kept = new Set([
    input.release,
    ...releases
      .filter((r) => r.kept)
      .slice(0, input.keep - 1)
      .map(releaseFolder),
  ]);
  if (input.live !== undefined) kept.add(input.live);
  // Each release stopped being live when the one before it in the list went live; the newest stops now.
  releases.forEach((r, i) => {
    const stoppedAt = i === 0 ? now : Date.parse(releases[i - 1].at);
    if (now - stoppedAt < input.skewProtectionMs) kept.add(releaseFolder(r));
  });
  return kept;
}

/**
 * The file index once `release` (each file in `folders`) goes live, trimmed to what the releases kept then see
 * (see keptReleaseNumbers, `keptViews`), and the keys to write for it.
 */
export function indexOfRelease(input: {
  previous: FileIndex;
  release: number;
  folders: ReadonlyMap<string, number>;
  rewrite?: readonly string[];
  releases: readonly Pick<ReleaseSummary, 'number' | 'kept' | 'at' | 'atomic'>[];
  live: number | undefined;
  keep: number;
  skewProtectionHours?: number;
}): IndexChange & { keptViews: number[] } {
  const kept = keptReleaseNumbers({
    ...input,
    skewProtectionMs: (input.skewProtectionHours ?? DEFAULT_SKEW_PROTECTION_HOURS) * 3600_000,
    now: Date.now(),
  });
  const { previous, release, folders, rewrite } = input;
  const keptViews = [...kept].sort((a, b) => a - b);
  return { ...changeIndex({ previous, release, folders, keptViews, rewrite }), keptViews };
}
