import { LEASE_FILE, PREVIEWS_FOLDER, RELEASE_INDEX_FILE } from '../bucket/bookkeeping';
import { underLease } from '../bucket/lease';
import type { BucketStore } from '../bucket/store';
import { indexedPaths } from './file-index-store';
import type { ReleaseIndex } from './history';
import { clearLiveRelease, type LiveReleaseStore } from './live-release';
import { byPullRequest, previewPrefix, previewSiteKey, previewsIn, type Preview } from './previews';

/**
 * The previews of the site below `prefix` (see previews.ts), oldest pull request first: one listing of the
 * previews' folder (or `listed`, a listing of the site that has it already), then each preview's release index.
 */
export async function readPreviews(
  store: BucketStore,
  prefix: string,
  listed?: Iterable<{ key: string; size: number }>,
): Promise<Preview[]> {
  const found = previewsIn(listed ?? (await store.list(prefix + PREVIEWS_FOLDER)), prefix);
  const previews = await Promise.all(
    [...found].map(async ([name, counts]) => {
      const index = await store.readJson<ReleaseIndex>(previewPrefix(prefix, name) + RELEASE_INDEX_FILE);
      const newest = index?.releases[0];
      return { name, ...counts, at: newest?.at, commit: newest?.commit, project: newest?.project };
    }),
  );
  return previews.sort(byPullRequest);
}

/** What removing a preview took away. */
export interface RemovedPreview {
  name: string;
  /** The release the preview's key named, if it was live. */
  live?: number;
  keys: number;
  objects: number;
}

/**
 * Removes a preview, under its own lease (a deploy of it in progress finishes first, or with `lockTimeout` 0 the
 * removal is refused): its key leaves the store first (its hosts serve the site's live release from then on), then
 * its file index, then every object below its folder. Nothing of the site's own changes.
 */
export async function removePreview(input: {
  store: BucketStore;
  prefix: string;
  name: string;
  /** The site's store and key (the preview's key is derived from it). */
  site: LiveReleaseStore;
  leaseOwner: string;
  lockTimeout?: number;
  log: (line: string) => void;
  signal?: AbortSignal;
}): Promise<RemovedPreview> {
  const { store, name } = input;
  const at = previewPrefix(input.prefix, name);
  const removed = await underLease(
    () => store,
    { ...input, bucket: store.bucket, prefix: at },
    async (leased) => {
      const key = previewSiteKey(input.site.site, name);
      const paths = await indexedPaths(leased, at, key);
      const previous = await clearLiveRelease({ ...input.site, site: key }, paths);
      const objects = (await leased.list(at)).map((o) => o.key).filter((k) => k !== at + LEASE_FILE);
      await leased.delete(objects);
      return { name, live: previous?.live, keys: paths.length + (previous ? 1 : 0), objects: objects.length };
    },
  );
  // The released lease is the preview's last object (a deploy of it starting meanwhile would take it over).
  await store.delete([at + LEASE_FILE]);
  return { ...removed, objects: removed.objects + 1 };
}
