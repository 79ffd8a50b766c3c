/**
 * A deploy's own records, below its prefix in the bucket: never a site file, never pruned, and kept from visitors
 * by the generated bucket policy (the `DeployBookkeepingIsPrivate` statement).
 */
export const STATE_DIR = '.nx-aws-deploy/';
/** What the last deploy recorded per key (see DeployState in plan.ts): spares a no-op deploy a HEAD per object. */
export const STATE_FILE = `${STATE_DIR}state.json`;
/** The commit of the last successful deploy from CodeBuild: the base of `nx affected` without a pipeline. */
export const MARKER_FILE = `${STATE_DIR}last-deploy.json`;
/** One deploy at a time per bucket + prefix (see lease.ts). */
export const LEASE_FILE = `${STATE_DIR}lease.json`;

/** The deploy marker's contents: written by a deploy from CodeBuild, read by `nx-aws-deploy set-shas`. */
export interface DeployMarker {
  commit: string;
  project: string;
  deployedAt: string;
}

/** The release history (see lib/releases): an index of summaries, one record per kept release, and snapshots. */
export const RELEASES_DIR = `${STATE_DIR}releases/`;
export const RELEASE_INDEX_FILE = `${RELEASES_DIR}index.json`;
export function releaseFile(release: number): string {
  return `${RELEASES_DIR}${release}.json`;
}
/** Copies of files that a kept release had, taken before a deploy or rollback overwrote or deleted them. */
export const SNAPSHOTS_DIR = `${RELEASES_DIR}files/`;
export function snapshotFile(path: string, etag: string): string {
  return `${SNAPSHOTS_DIR}${etag.replace(/"/g, '')}/${path}`;
}

/**
 * Atomic releases: the site's file index as its last deploy wrote it to the KeyValueStore, and the paths a deploy
 * was writing there when it stopped (see FileIndexRecord in releases/file-index.ts).
 */
export const FILE_INDEX_FILE = `${STATE_DIR}file-index.json`;

/** Atomic releases (releaseMode "atomic"): the folder below the prefix that holds each release's own files. */
export const RELEASE_FOLDERS = '_releases/';
/** The key of a file of an atomic release whose own files are in `folder` (see deploy/atomic.ts). */
export function releaseFolderFile(folder: number, path: string): string {
  return `${RELEASE_FOLDERS}${folder}/${path}`;
}

/**
 * Pull-request previews: each below the site's prefix in a folder of its own (`_previews/pr-<n>/`), a site of
 * atomic releases with bookkeeping of its own (see releases/previews.ts). The site's own deploys leave it alone.
 */
export const PREVIEWS_FOLDER = '_previews/';
