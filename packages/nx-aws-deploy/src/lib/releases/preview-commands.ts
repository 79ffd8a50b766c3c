import { createHash, randomBytes } from 'node:crypto';
import { checkBucketName, normalizePrefix } from '../bucket/name';
import { openS3Store } from '../bucket/s3-target';
import { formatBytes, table } from '../util/format';
import { UserError } from '../util/errors';
import type { BucketStore } from '../bucket/store';
import { publishStaged } from './file-index-store';
import { openLiveReleaseStore, storeBytes, updateKeys, type LiveReleaseStore } from './live-release';
import { readPreviews, removePreview, type RemovedPreview } from './preview-store';
import {
  byPullRequest,
  previewName,
  previewPasswordKey,
  previewPrefix,
  previewSiteKey,
  type Preview,
} from './previews';

/** The commands of pull-request previews: list, remove, password (see previews.ts). */

interface BucketOptions {
  prefix?: string;
  region?: string;
  requestTimeout?: number;
}

/** A preview of one site (bucket + prefix). */
export type ListedPreview = Preview & { bucket: string; prefix: string };

/** The previews of each site, by pull request (read-only: no lease). */
export async function listPreviews(options: BucketOptions & { buckets: string[] }): Promise<ListedPreview[]> {
  if (!options.buckets.length) throw new UserError('--bucket is required: the bucket of a site with previews.');
  for (const bucket of options.buckets) checkBucketName(bucket, 'the "bucket" option');
  const prefix = normalizePrefix(options.prefix);
  const listed = await Promise.all(
    options.buckets.map(async (bucket) => {
      const store = openS3Store({ ...options, bucket, concurrency: 8 })();
      return (await readPreviews(store, prefix)).map((p) => ({ ...p, bucket, prefix }));
    }),
  );
  return listed.flat().sort(byPullRequest);
}

/** The previews as a table: pull request, app, commit, when deployed and how long ago, files and bytes. */
export function previewsTable(previews: readonly ListedPreview[], now: number): string {
  if (!previews.length) return 'No previews: a deploy with "preview" (the build of a pull request) makes one.';
  const rows = [['preview', 'app', 'commit', 'deployed', 'age', 'files', 'size']];
  for (const p of previews)
    rows.push([
      p.name,
      p.project ?? `s3://${p.bucket}/${p.prefix}`,
      p.commit?.slice(0, 12) ?? '-',
      p.at?.replace('T', ' ').replace(/\.\d+Z$/, 'Z') ?? '-',
      p.at ? age(now - Date.parse(p.at)) : '-',
      String(p.objects),
      formatBytes(p.bytes),
    ]);
  return table(rows);
}

function age(ms: number): string {
  const hours = Math.floor(ms / 3_600_000);
  return hours >= 48 ? `${Math.floor(hours / 24)} d` : hours >= 1 ? `${hours} h` : `${Math.floor(ms / 60_000)} min`;
}

/** A command on one preview of one site: which, where, and the site's store. */
interface PreviewOf extends BucketOptions {
  bucket: string;
  preview: string | number;
  keyValueStoreArn?: string;
  site?: string;
}

/** The preview's bucket and the site's store, opened for `work`, the options checked first. */
async function onPreview<T>(
  options: PreviewOf & { signal?: AbortSignal },
  work: (at: { store: BucketStore; prefix: string; name: string; site: LiveReleaseStore }) => Promise<T>,
): Promise<T> {
  checkBucketName(options.bucket, 'the "bucket" option');
  const name = previewName(options.preview);
  if (!options.site)
    throw new UserError(
      '--site is required: the site\'s key in the KeyValueStore (its deploy\'s "site", by default the project).',
    );
  const site = openLiveReleaseStore({ ...options, releaseMode: 'atomic' }, options.site)!;
  try {
    const store = openS3Store({ ...options, concurrency: 16 })(options.signal);
    return await work({ store, prefix: normalizePrefix(options.prefix), name, site });
  } finally {
    site.client.destroy();
  }
}

/** `nx-aws-deploy preview remove`: a preview's keys out of the store, then its files (see removePreview). */
export function removePreviewOf(
  options: PreviewOf & { leaseOwner: string; lockTimeout?: number; log: (line: string) => void; signal?: AbortSignal },
): Promise<RemovedPreview> {
  return onPreview(options, (at) => removePreview({ ...options, ...at }));
}

/**
 * `nx-aws-deploy preview publish`: makes the release a build staged for the preview (`stageOnly`) live, writing
 * only the preview's own keys (see publishStaged). What the generated pipeline's Lambda runs after a preview build.
 */
export function publishPreviewOf(
  options: PreviewOf,
): Promise<{ published: number; previous?: number } | { nothing: string }> {
  return onPreview(options, ({ store, prefix, name, site }) =>
    publishStaged(store, previewPrefix(prefix, name), { ...site, site: previewSiteKey(site.site, name) }),
  );
}

/**
 * `nx-aws-deploy preview password`: the previews of `site` ask for HTTP basic auth with this password (any user
 * name); only a salted SHA-256 of it goes to the store. An empty password takes the protection away.
 */
export async function setPreviewPassword(options: {
  keyValueStoreArn?: string;
  site?: string;
  password: string;
  requestTimeout?: number;
}): Promise<'set' | 'cleared'> {
  if (!options.site) throw new UserError("--site is required: the site's key in the KeyValueStore.");
  const store = openLiveReleaseStore({ ...options, releaseMode: 'atomic' }, options.site)!;
  const key = previewPasswordKey(options.site);
  try {
    if (!options.password) {
      await updateKeys(store, { puts: [], deletes: [key], growth: 0 });
      return 'cleared';
    }
    const salt = randomBytes(16).toString('hex');
    const sha256 = createHash('sha256')
      .update(salt + options.password)
      .digest('hex');
    const value = JSON.stringify({ salt, sha256 });
    await updateKeys(store, { puts: [{ key, value }], deletes: [], growth: storeBytes([{ key, value }]) });
    return 'set';
  } finally {
    store.client.destroy();
  }
}
