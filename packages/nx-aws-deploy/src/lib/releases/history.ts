import { UserError } from '../util/errors';
import { isEntryFile } from '../deploy/headers';
import { releaseFile, releaseFolderFile, RELEASES_DIR, SNAPSHOTS_DIR, snapshotFile } from '../bucket/bookkeeping';
import type { RemoteObject } from '../bucket/store';
import { byKey, type Listing } from '../deploy/plan';
import { compareKeys } from '../bucket/listing';

/**
 * Releases: every deploy that changes the site (and every rollback) is one. What makes a kept release
 * restorable without a build:
 * - files whose names carry a content hash (`assets`) never change in place, so they only need to stay: a deploy
 *   does not prune an asset that a kept release has;
 * - every other file (`restorable`: HTML, service workers, manifests, unhashed images) may be overwritten or
 *   deleted by a later deploy. In a versioned bucket S3 keeps the version it replaces: the release records each
 *   such file's version id, and a rollback copies that version back. Where no version id is known (an unversioned
 *   bucket, a file deployed before versioning was on), the deploy first copies the file (server-side) into the
 *   bookkeeping as a snapshot, once per path and ETag, and a rollback copies that back.
 */
export const DEFAULT_KEEP_RELEASES = 10;
/** Summaries shown by `releases`, kept or not. */
export const HISTORY_LENGTH = 100;

export interface ReleaseSummary {
  number: number;
  /** ISO time the release went live. */
  at: string;
  project: string;
  /** The commit CodeBuild built, when it was built there. */
  commit?: string;
  /** Who made it: the CodeBuild build ARN or user@host:pid. */
  by: string;
  /** The CodePipeline execution whose build made it, when there is one. */
  pipelineExecution?: string;
  /** A rollback: the release whose files it brought back. */
  rollbackTo?: number;
  /** A promotion: the release it copied, as `s3://bucket/prefix#number`. */
  promotedFrom?: string;
  /** Files uploaded, updated, restored or deleted. */
  changed: number;
  files: number;
  bytes: number;
  /** Its record and snapshots are still there: it can be rolled back to. */
  kept: boolean;
  /**
   * Made live by one write of the site's key in a KeyValueStore (releaseMode "atomic"): the release the store names,
   * `folder` (the file index resolves each file's folder for it): its own number, or for a rollback the number of
   * the release it brought back.
   */
  atomic?: { keyValueStoreArn: string; site: string; folder?: number };
}

/** The release an atomic release's files are served as: what the store names while it is live. */
export function releaseFolder(release: Pick<ReleaseSummary, 'number' | 'atomic'>): number {
  return release.atomic?.folder ?? release.number;
}

export interface ReleaseIndex {
  version: 1;
  /** The release that is live (the newest). */
  live: number;
  /** Newest first, at most HISTORY_LENGTH. */
  releases: ReleaseSummary[];
}

/** What a kept release needs to be brought back, by path below the prefix and ETag. */
export interface ReleaseRecord {
  version: 1;
  summary: ReleaseSummary;
  restorable: Record<string, string>;
  assets: Record<string, string>;
  /** Version ids of restorable files, by path, in a versioned bucket: these need no snapshot. */
  versions?: Record<string, string>;
  /**
   * An atomic release's restorable files held in the folder of an earlier release (it had the same bytes), by path:
   * the others are in the release's own folder.
   */
  folders?: Record<string, number>;
}

/** The keys a release's files have below `prefix`, in S3's order: what a bucket with it live most likely holds. */
export function recordKeys(record: Pick<ReleaseRecord, 'restorable' | 'assets'>, prefix: string): string[] {
  const keys: string[] = [];
  for (const files of [record.assets, record.restorable])
    for (const path in files) if (Object.hasOwn(files, path)) keys.push(prefix + path);
  return keys.sort(compareKeys);
}

export function checkKeepReleases(keep: number | undefined): number {
  const value = keep ?? DEFAULT_KEEP_RELEASES;
  if (!Number.isInteger(value) || value < 1)
    throw new UserError(
      `"keepReleases" must be a whole number of at least 1 (the live release), not ${keep}: it is how many releases stay restorable.`,
    );
  return value;
}

/** The number the next release gets: after the newest recorded. */
export function nextReleaseNumber(index: ReleaseIndex | undefined): number {
  return (index?.releases[0]?.number ?? 0) + 1;
}

/**
 * The index after `summary` went live: numbered after the newest (or `number`, a higher one an atomic release
 * took), the newest `keep` marked kept.
 */
export function addRelease(
  index: ReleaseIndex | undefined,
  summary: Omit<ReleaseSummary, 'number' | 'kept'>,
  keep: number,
  number = nextReleaseNumber(index),
): { index: ReleaseIndex; release: ReleaseSummary } {
  const release: ReleaseSummary = { ...summary, number, kept: true };
  const releases = [release, ...(index?.releases ?? [])]
    .slice(0, HISTORY_LENGTH)
    .map((r, i) => (r.kept && i >= keep ? { ...r, kept: false } : r));
  return { index: { version: 1, live: release.number, releases }, release };
}

export interface Snapshot {
  /** The live key. */
  key: string;
  /** Where its bytes and headers are kept. */
  snapshot: string;
}

/**
 * The copies to take before the `changing` keys (about to be overwritten or deleted) lose what the live release
 * has there. A key whose bytes (as `listing` has them) are not the live release's (a deploy interrupted earlier)
 * is not a release's and is not kept; an existing snapshot is not taken again.
 */
export function snapshotsToTake(
  live: ReleaseRecord | undefined,
  prefix: string,
  changing: Iterable<string>,
  listing: ReadonlyMap<string, RemoteObject>,
): Snapshot[] {
  if (!live) return [];
  const snapshots: Snapshot[] = [];
  for (const key of changing) {
    const etag = listing.get(key)?.etag;
    const path = key.slice(prefix.length);
    // S3 keeps the replaced version of a versioned file itself.
    if (etag === undefined || live.restorable[path] !== etag || live.versions?.[path]) continue;
    const snapshot = prefix + snapshotFile(path, etag);
    if (!listing.has(snapshot)) snapshots.push({ key, snapshot });
  }
  return snapshots;
}

/**
 * The version ids of a new release's restorable files: the versions its own writes made (`written`, by key), and
 * for files it left as they were the ids the live release recorded for the same bytes. A file without one gets a
 * snapshot when a later change replaces it.
 */
export function recordVersions(
  restorable: Record<string, string>,
  prefix: string,
  written: ReadonlyMap<string, { versionId?: string }>,
  live: ReleaseRecord | undefined,
): Record<string, string> | undefined {
  const versions: Record<string, string> = {};
  for (const path in restorable) {
    if (!Object.hasOwn(restorable, path)) continue;
    const etag = restorable[path];
    const write = written.get(prefix + path);
    const id = write ? write.versionId : live?.restorable[path] === etag ? live.versions?.[path] : undefined;
    if (id) versions[path] = id;
  }
  return Object.keys(versions).length ? versions : undefined;
}

/** Whether `record` names the snapshot at `relative` (`releases/files/<etag>/<path>`, below the prefix). */
export function namesSnapshot(record: Pick<ReleaseRecord, 'restorable'>, relative: string): boolean {
  // The path starts after the ETag's folder.
  const path = relative.slice(relative.indexOf('/', SNAPSHOTS_DIR.length) + 1);
  return Object.hasOwn(record.restorable, path) && snapshotFile(path, record.restorable[path]) === relative;
}

/**
 * Bookkeeping objects no kept release needs any more: records of releases no longer kept, and snapshots that no
 * kept release names (`named`, asked of each snapshot listed, relative to the prefix).
 */
export function unneededBookkeeping(
  index: ReleaseIndex,
  named: (relative: string) => boolean,
  prefix: string,
  listedKeys: Iterable<string>,
): string[] {
  const keptRecords = new Set(index.releases.filter((r) => r.kept).map((r) => releaseFile(r.number)));
  const unneeded: string[] = [];
  for (const key of listedKeys) {
    const relative = key.slice(prefix.length);
    if (relative.startsWith(SNAPSHOTS_DIR)) {
      if (!named(relative)) unneeded.push(key);
    } else if (
      relative.startsWith(RELEASES_DIR) &&
      /^\d+\.json$/.test(relative.slice(RELEASES_DIR.length)) &&
      !keptRecords.has(relative)
    )
      unneeded.push(key);
  }
  return unneeded;
}

/** The release a rollback brings back: `to`, or the one before the release whose files are live. */
export function rollbackTarget(index: ReleaseIndex | undefined, where: string, to?: number): ReleaseSummary {
  if (!index?.releases.length)
    throw new UserError(
      `No releases are recorded in ${where}: nothing to roll back to. Releases are recorded by deploys of nx-aws-deploy 0.2 and later; check "bucket" and "prefix".`,
    );
  const live = index.releases.find((r) => r.number === index.live) ?? index.releases[0];
  const liveFiles = live.rollbackTo ?? live.number;
  const kept = index.releases.filter((r) => r.kept);
  const keptList = kept.map((r) => r.number).join(', ');
  if (to === undefined) {
    const previous = kept.find((r) => r.number < liveFiles && (r.rollbackTo ?? r.number) !== liveFiles);
    if (!previous)
      throw new UserError(
        `No kept release before release ${liveFiles} in ${where} (kept: ${keptList}): nothing to roll back to.`,
      );
    return previous;
  }
  const target = index.releases.find((r) => r.number === to);
  if (!target)
    throw new UserError(
      `There is no release ${to} in ${where}; the kept releases are ${keptList}. See \`nx-aws-deploy releases\`.`,
    );
  if (!target.kept)
    throw new UserError(
      `Release ${to} in ${where} is no longer kept (the kept releases are ${keptList}; raise "keepReleases" to keep more); nothing was changed.`,
    );
  if ((target.rollbackTo ?? target.number) === liveFiles)
    throw new UserError(`Release ${to} is what ${where} serves already (release ${live.number}); nothing to do.`);
  return target;
}

export interface RollbackPlan {
  /** Copies onto the live key from its version or a snapshot: everything else before the entry files. */
  restores: { key: string; from: string; versionId?: string; etag: string }[];
  /** Files of the live release that the target did not have. */
  deletes: string[];
  unchanged: number;
  /** What the target needs that is gone: a rollback refuses then. */
  missing: string[];
}

/**
 * What bringing `target` back changes, from the bucket's listing; `goneVersions`: recorded versions found
 * missing (expired by a lifecycle rule), for which a snapshot, if there is one, serves instead.
 */
export function planRollback(
  target: ReleaseRecord,
  live: ReleaseRecord | undefined,
  prefix: string,
  remote: Listing,
  goneVersions: ReadonlySet<string> = new Set(),
): RollbackPlan {
  const listed = byKey(remote);
  const { located, missing } = locateRelease(target, prefix, listed, goneVersions);
  const plan: RollbackPlan = { restores: [], deletes: [], unchanged: 0, missing };
  for (const file of located) {
    // Assets stay where they are (kept, never pruned while a kept release has them): found live, or missing.
    if (Object.hasOwn(target.assets, file.path)) {
      if (!file.live) plan.missing.push(file.path);
    } else if (file.live) plan.unchanged++;
    else plan.restores.push({ key: prefix + file.path, from: file.from, versionId: file.versionId, etag: file.etag });
  }
  for (const path of Object.keys(live?.restorable ?? {}))
    if (!Object.hasOwn(target.restorable, path) && !Object.hasOwn(target.assets, path) && listed.has(prefix + path))
      plan.deletes.push(prefix + path);
  plan.restores.sort((a, b) => Number(isEntryFile(a.key)) - Number(isEntryFile(b.key)) || (a.key < b.key ? -1 : 1));
  plan.missing.sort();
  plan.deletes.sort();
  return plan;
}

/** A file of a release, and where its recorded bytes are now (see locateFile). */
export interface LocatedFile {
  path: string;
  etag: string;
  from: string;
  versionId?: string;
  live?: true;
}

/**
 * Where every file of a release is now, below `prefix` of the bucket `listed` lists: the one answer to "where are
 * a release's bytes" that a rollback restores from and a promote copies from; `missing`: the paths gone.
 */
export function locateRelease(
  record: ReleaseRecord,
  prefix: string,
  listed: ReadonlyMap<string, RemoteObject>,
  goneVersions: ReadonlySet<string>,
): { located: LocatedFile[]; missing: string[] } {
  const located: LocatedFile[] = [];
  const missing: string[] = [];
  for (const files of [record.assets, record.restorable])
    for (const [path, etag] of Object.entries(files)) {
      const found = locateFile(record, path, etag, prefix, listed, goneVersions);
      if (found) located.push({ path, etag, ...found });
      else missing.push(path);
    }
  return { located, missing };
}

/**
 * Where the bytes a release recorded for `path` are in the bucket below `prefix`: live at the file's key, as the
 * key's version (versioned buckets, unless the lifecycle expired it), or as a snapshot (restorable files); an
 * atomic release's own files in its folder. Undefined when gone. A rollback restores from there, a promote copies
 * from there.
 */
export function locateFile(
  record: ReleaseRecord,
  path: string,
  etag: string,
  prefix: string,
  listed: ReadonlyMap<string, RemoteObject>,
  goneVersions: ReadonlySet<string>,
): { from: string; versionId?: string; live?: true } | undefined {
  const own = record.summary.atomic && Object.hasOwn(record.restorable, path);
  const key = prefix + (own ? releaseFolderFile(ownFolder(record, path), path) : path);
  if (listed.get(key)?.etag === etag) return { from: key, live: true };
  if (own) return undefined;
  const versionId = record.versions?.[path];
  if (versionId && !goneVersions.has(versionId)) return { from: key, versionId };
  const snapshot = prefix + snapshotFile(path, etag);
  if (Object.hasOwn(record.restorable, path) && listed.has(snapshot)) return { from: snapshot };
  return undefined;
}

/** An atomic release's `folders` as its record keeps them: only those held in an earlier release's folder. */
export function recordedFolders(
  folders: ReadonlyMap<string, number>,
  release: number,
): ReleaseRecord['folders'] | undefined {
  const earlier = [...folders].filter(([, folder]) => folder !== release);
  return earlier.length ? Object.fromEntries(earlier) : undefined;
}

/** The release folder that holds an atomic release's restorable file `path`. */
export function ownFolder(record: Pick<ReleaseRecord, 'summary' | 'folders'>, path: string): number {
  return record.folders?.[path] ?? releaseFolder(record.summary);
}

/** The summary of a release that a rollback to `target` (whose record is `record`) makes, `changed` files in all. */
export function rollbackSummary(
  record: ReleaseRecord,
  target: number,
  by: string,
  changed: number,
): Omit<ReleaseSummary, 'number' | 'kept'> {
  return {
    at: new Date().toISOString(),
    project: record.summary.project,
    commit: record.summary.commit,
    by,
    rollbackTo: target,
    changed,
    files: record.summary.files,
    bytes: record.summary.bytes,
  };
}
