import { RELEASE_FOLDERS, releaseFolderFile } from '../bucket/bookkeeping';
import type { RemoteObject } from '../bucket/store';
import { headersFingerprint, isContentHashed } from './headers';
import { releaseFolder, type ReleaseSummary } from '../releases/history';
import type { DeployPlan, DeployState, PlannedUpload } from './plan';

/**
 * Atomic releases (releaseMode "atomic"): files whose names carry a content hash stay at their own keys, shared by
 * every release (one name is always the same bytes); every other file of release N goes below the prefix to
 * `_releases/N/`. Nothing a visitor is served changes until the store's value names N (see the release router):
 * going live, and rolling back, is that one write.
 */
/** Hours a release that stopped being live stays, by default, for tabs still open on it. */
export const DEFAULT_SKEW_PROTECTION_HOURS = 24;

/** Where a file of `release` goes below `prefix`. */
export function releaseKey(prefix: string, release: number, path: string): string {
  return prefix + (isContentHashed(path) ? path : releaseFolderFile(release, path));
}

/** A file of the new release with the bytes and headers the live release has: copied in the bucket, not sent. */
export interface PlannedCopy {
  path: string;
  from: string;
  to: string;
  size: number;
}

/**
 * Splits the plan's uploads into what the build machine sends and what S3 copies: a file of the new release whose
 * bytes and headers the live release has (at `liveKeyOf(path)`, as the listing and the last deploy's state say)
 * is copied from there. So a deploy sends each byte once, however many releases share it.
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

/** The keys of release folders below `prefix` whose release is not among `kept`: what retention deletes. */
export function unkeptReleaseFolders(
  remote: ReadonlyMap<string, RemoteObject>,
  prefix: string,
  kept: ReadonlySet<number>,
): string[] {
  const folder = prefix + RELEASE_FOLDERS;
  const deletes: string[] = [];
  for (const key of remote.keys()) {
    if (!key.startsWith(folder)) continue;
    const release = Number(key.slice(folder.length, key.indexOf('/', folder.length)));
    if (!kept.has(release)) deletes.push(key);
  }
  return deletes;
}

/**
 * The release folders that stay: the new release's and those of the newest keep - 1 kept now, the live one, and
 * those of releases that stopped being live less than skewProtectionMs ago (a tab opened on them still loads
 * their files). A rollback's release has the folder of the release it brought back.
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
