/**
 * The file index of a site whose releases are atomic: for each file without a content hash in its name, which
 * release folder (`_releases/<folder>/<path>`) holds its bytes in each release. It lives in the KeyValueStore beside
 * the site's live release (key `<site>/<path>`), where the release router reads it, so a release stores and sends
 * only the files that changed since the newest release, and copies nothing: a file unchanged for ten releases is one
 * object and one entry.
 *
 * A path's value is a list of entries, oldest first, separated by spaces: `7` (from release 7 on, folder 7 holds it),
 * `9:4` (from release 9 on, folder 4 holds it: the bytes of release 4 came back), `12:-` (from release 12 on, no such
 * file). A release sees the last entry at or before its number. A new release only appends entries numbered after
 * every existing one, so nothing any earlier release sees changes until the site's live release names it.
 */

/** A site's file index: each path's value, as the store holds it. */
export type FileIndex = Record<string, string>;

/** The index as the bucket keeps it (FILE_INDEX_FILE), read by the next deploy instead of listing the store. */
export interface FileIndexRecord {
  version: 1;
  /** The site's key in the store: the index of another key is not this site's. */
  site: string;
  /** The index before `writing`. */
  index: FileIndex;
  /**
   * What the last deploy that changed the index wrote to the store, recorded before it wrote, for its `release`
   * (made `by` that lease owner). Its writes landed if that release went live (the writes come before the switch);
   * otherwise it stopped before, and the next deploy writes those paths again.
   */
  writing?: { release: number; by: string; puts: { path: string; value: string }[]; deletes: string[] };
  /**
   * A release staged, not made live (a preview built by a pull request, whose build may not write the store): the
   * value of the site's key that makes `writing`'s release live, which the pipeline's publish step writes after
   * `writing`'s keys. Its writes landed only when the store names that release.
   */
  staged?: { live: number; kept: number[] };
}

/** The paths a change to the index writes or deletes. */
export function changedPaths(change: Pick<IndexChange, 'puts' | 'deletes'>): string[] {
  return [...change.puts.map((p) => p.path), ...change.deletes];
}

/** The index with a deploy's writes made. */
export function withWrites(index: FileIndex, writing: NonNullable<FileIndexRecord['writing']>): FileIndex {
  const next = { ...index };
  for (const path of writing.deletes) delete next[path];
  for (const { path, value } of writing.puts) next[path] = value;
  return next;
}

/**
 * The folder whose `path` release `view` serves, from the path's value; null where the release has no such file.
 * Self-contained (the release router gets this very function's source) and written for CloudFront's runtime.
 */
export function resolveFolder(value: string | undefined, view: number): number | null {
  let folder: number | null = null;
  if (!value) return folder;
  const entries = value.split(' ');
  for (let i = 0; i < entries.length; i++) {
    const colon = entries[i].indexOf(':');
    const from = Number(colon < 0 ? entries[i] : entries[i].slice(0, colon));
    if (from > view) break;
    const to = colon < 0 ? String(from) : entries[i].slice(colon + 1);
    folder = to === '-' ? null : Number(to);
  }
  return folder;
}

/** The path's value once `release` holds it in `folder` (null: not at all); unchanged when it sees that already. */
export function withRelease(value: string | undefined, release: number, folder: number | null): string | undefined {
  if (resolveFolder(value, release) === folder) return value;
  const entry = folder === release ? String(release) : `${release}:${folder ?? '-'}`;
  return value ? `${value} ${entry}` : entry;
}

/**
 * The value with only the entries that some kept release sees (the last at or before each), and none before the
 * first file: what the releases no longer kept needed goes. Undefined when no kept release has the file.
 */
export function trimmed(value: string | undefined, keptViews: readonly number[]): string | undefined {
  if (!value) return undefined;
  const entries = value.split(' ');
  const froms = entries.map((e) => Number(e.split(':')[0]));
  const needed = new Set<number>();
  for (const view of keptViews) {
    let seen = -1;
    froms.forEach((from, i) => {
      if (from <= view) seen = i;
    });
    if (seen >= 0) needed.add(seen);
  }
  const kept = entries.filter((_, i) => needed.has(i));
  while (kept.length && kept[0].endsWith(':-')) kept.shift();
  return kept.length ? kept.join(' ') : undefined;
}

/** What a release writes to the index: each path's new value (undefined: the key deleted), changed ones only. */
export interface IndexChange {
  next: FileIndex;
  puts: { path: string; value: string }[];
  deletes: string[];
}

/**
 * The index once `release` goes live: each file of the build held in `folders` (path → folder), every other path
 * indexed so far absent from it, all trimmed to what `keptViews` (the releases kept, the new one among them) see.
 * `rewrite`: paths written by a deploy stopped before it recorded the index, written again whatever they hold.
 */
export function changeIndex(input: {
  previous: FileIndex;
  release: number;
  folders: ReadonlyMap<string, number>;
  keptViews: readonly number[];
  rewrite?: readonly string[];
}): IndexChange {
  const { previous, release, folders, keptViews } = input;
  const next: FileIndex = {};
  const change: IndexChange = { next, puts: [], deletes: [] };
  const paths = new Set([...Object.keys(previous), ...folders.keys()]);
  const rewrite = new Set(input.rewrite);
  for (const path of paths) {
    const before = Object.hasOwn(previous, path) ? previous[path] : undefined;
    const after = trimmed(withRelease(before, release, folders.get(path) ?? null), keptViews);
    if (after !== undefined) next[path] = after;
    if (after === before && !rewrite.has(path)) continue;
    if (after === undefined) change.deletes.push(path);
    else change.puts.push({ path, value: after });
  }
  for (const path of rewrite) if (!paths.has(path)) change.deletes.push(path);
  return change;
}

/** The folder of each path that release `view` serves. */
export function foldersAt(index: FileIndex, view: number): Map<string, number> {
  const folders = new Map<string, number>();
  for (const path in index) {
    if (!Object.hasOwn(index, path)) continue;
    const folder = resolveFolder(index[path], view);
    if (folder !== null) folders.set(path, folder);
  }
  return folders;
}

/** The folders any entry of a path's value names, newest first: where its bytes may already be. */
export function foldersOf(value: string | undefined): number[] {
  if (!value) return [];
  const folders = value.split(' ').flatMap((entry) => {
    const [from, to] = entry.split(':');
    return to === '-' ? [] : [Number(to ?? from)];
  });
  return [...new Set(folders.reverse())];
}

/** The bucket keys below `prefix` that the index names: every other key in the release folders can go. */
export function indexedKeys(index: FileIndex, prefix: string, folderFile: (folder: number, path: string) => string) {
  const keys = new Set<string>();
  for (const path in index)
    if (Object.hasOwn(index, path))
      for (const folder of foldersOf(index[path])) keys.add(prefix + folderFile(folder, path));
  return keys;
}
