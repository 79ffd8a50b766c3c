import { PREVIEWS_FOLDER } from '../bucket/bookkeeping';
import { UserError } from '../util/errors';
import type { LiveReleaseStore } from './live-release';

/**
 * Pull-request previews: a preview is the site's build of a pull request, deployed as atomic releases of its own
 * below the site's prefix (`_previews/pr-<n>/`, see previewPrefix) and named in the site's KeyValueStore by its own
 * key (`<site>@pr-<n>`), beside the site's. The release router serves it on the preview's hosts
 * (`pr-<n>.<previewDomain>`), from the rewritten URI `/_previews/pr-<n>/…`: never the same cache key as a file of
 * the site, and a host of the site never serves it. A host of a pull request whose build did not change the site
 * serves the site's live release, so links between apps work.
 */

/** Previews a site keeps at most, by default: each takes keys of the store, whose 5 MB all the site's releases share. */
export const DEFAULT_MAX_PREVIEWS = 20;
/** Days a preview that no build deployed stays, by default, before a deploy of the site removes it. */
export const DEFAULT_PREVIEW_TTL_DAYS = 14;

/** The preview's name from a pull request number or `pr-<n>`: the first label of its host. */
export function previewName(given: string | number): string {
  const name = /^\d+$/.test(String(given)) ? `pr-${given}` : String(given);
  if (!/^pr-[1-9]\d{0,9}$/.test(name))
    throw new UserError(`"preview" must be a pull request's number or pr-<number>, not "${given}".`);
  return name;
}

/** Where a preview's files and bookkeeping are: below the site's prefix (normalised: '' or ending in '/'). */
export function previewPrefix(prefix: string, name: string): string {
  return `${prefix}${PREVIEWS_FOLDER}${name}/`;
}

/** The preview's key in the store, which the release router reads for the preview's hosts. */
export function previewSiteKey(site: string, name: string): string {
  return `${site}@${name}`;
}

/** The key of the previews' password (a salted hash): the router asks preview hosts for it when it is there. */
export function previewPasswordKey(site: string): string {
  return `${site}@password`;
}

/**
 * The preview's address: `https://pr-<n>.<previewDomain>/`. A domain given with its scheme (http://…) keeps it; one
 * that begins with `--` (the local edge's `--<distribution>.cloudfront.localhost:<port>`) follows the name as it is.
 */
export function previewUrl(previewDomain: string, name: string): string {
  const [, scheme = 'https://', host] = /^(https?:\/\/)?(.*?)\/*$/.exec(previewDomain)!;
  return `${scheme}${name}${host.startsWith('--') ? '' : '.'}${host}/`;
}

/** A deploy of a pull request's preview (see releases/previews.ts): where it goes, and the site it previews. */
export interface PreviewTarget {
  name: string;
  /** The preview's own prefix, below the site's. */
  prefix: string;
  /** Its URL, when the preview domain is known. */
  url?: string;
  site: { prefix: string; store: LiveReleaseStore };
}

/**
 * The deploy's preview, checked before any request: a preview is an atomic release, so it needs the store. The
 * store's site key becomes the preview's (`<site>@pr-<n>`); undefined for a deploy of the site itself.
 */
export function previewTarget(
  options: {
    preview?: string | number;
    previewDomain?: string;
    previewTtlDays?: number;
    maxPreviews?: number;
    stageOnly?: boolean;
  },
  sitePrefix: string,
  store: LiveReleaseStore | undefined,
): PreviewTarget | undefined {
  for (const name of ['previewTtlDays', 'maxPreviews'] as const) {
    const value = options[name];
    if (value !== undefined && !(Number.isInteger(value) && value >= 0))
      throw new UserError(`"${name}" must be a whole number of at least 0, not ${value}.`);
  }
  if (options.preview === undefined || options.preview === '') {
    if (options.stageOnly)
      throw new UserError('"stageOnly" stages a preview for the pipeline to publish: it needs "preview".');
    return undefined;
  }
  const name = previewName(options.preview);
  if (!store)
    throw new UserError(
      `"preview" needs "releaseMode": "atomic" and "keyValueStoreArn": a preview is an atomic release, which the release router serves on the preview's hosts from the KeyValueStore; nothing was changed.`,
    );
  return {
    name,
    prefix: previewPrefix(sitePrefix, name),
    url: options.previewDomain ? previewUrl(options.previewDomain, name) : undefined,
    site: { prefix: sitePrefix, store },
  };
}

/** The preview's key in the store, for the deploy's store (the site's own for a deploy of the site). */
export function previewStore(store: LiveReleaseStore, preview: PreviewTarget | undefined): LiveReleaseStore {
  return preview ? { ...store, site: previewSiteKey(store.site, preview.name) } : store;
}

/** A preview as the bucket has it: its newest release, files and bytes. */
export interface Preview {
  name: string;
  /** Of the newest release: when it was deployed, from which commit, of which project. */
  at?: string;
  commit?: string;
  project?: string;
  objects: number;
  bytes: number;
}

/** Previews in the order of their pull requests' numbers. */
export function byPullRequest(a: { name: string }, b: { name: string }): number {
  return Number(a.name.slice(3)) - Number(b.name.slice(3));
}

/** The previews no build deployed for `ttlDays` days (a preview with no release yet is judged by nothing: kept). */
export function stalePreviews(previews: readonly Preview[], ttlDays: number, now: number): Preview[] {
  return previews.filter((p) => p.at !== undefined && now - Date.parse(p.at) > ttlDays * 86_400_000);
}

/** Each preview's objects and bytes, from a listing of the previews' folder below `prefix`. */
export function previewsIn(
  objects: Iterable<{ key: string; size: number }>,
  prefix: string,
): Map<string, { objects: number; bytes: number }> {
  const previews = new Map<string, { objects: number; bytes: number }>();
  const folder = prefix + PREVIEWS_FOLDER;
  for (const { key, size } of objects) {
    if (!key.startsWith(folder)) continue;
    const name = key.slice(folder.length).split('/')[0];
    if (!/^pr-\d+$/.test(name)) continue;
    const preview = previews.get(name) ?? { objects: 0, bytes: 0 };
    preview.objects++;
    preview.bytes += size;
    previews.set(name, preview);
  }
  return previews;
}

/**
 * The preview a Host header names: its first label, `pr-<n>`, before a dot (`pr-7.previews.example.com`) or, at the
 * local edge, before `--` (`pr-7--<distribution>.cloudfront.localhost`); null for any other host. Self-contained
 * (the release router and pin get this very function's source) and written for CloudFront's runtime.
 */
export function previewOfHost(host: string): string | null {
  const match = /^(pr-[1-9][0-9]{0,9})(\.|--)/i.exec(host);
  return match ? match[1].toLowerCase() : null;
}
