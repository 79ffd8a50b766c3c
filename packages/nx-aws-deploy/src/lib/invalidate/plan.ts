import type { DeployManifest, ManifestChange } from '../deploy/manifest';
import { UserError } from '../util/errors';

/** CloudFront's limits: paths in one invalidation batch, wildcard paths in progress at once. */
export const MAX_PATHS_PER_INVALIDATION = 3000;
export const MAX_WILDCARDS = 15;
/** Above this many exact paths, folders are folded into wildcards (a wildcard is billed as one path). */
export const DEFAULT_MAX_PATHS = 20;

export interface InvalidationPlanInput {
  changes: ManifestChange[];
  /** The deploy's key prefix ('' or ending in '/'). */
  prefix: string;
  /** The distribution's origin path for the bucket ('' or like '/app'): keys below it map to URL paths without it. */
  originPath?: string;
  /** The distribution's DefaultRootObject, answered for `/`. */
  defaultRootObject?: string;
  maxPaths?: number;
}

/**
 * A key as the URL path browsers request it (what CloudFront matches): non-ASCII and unsafe characters
 * percent-encoded, sub-delimiters such as `+` kept; `*`, `?` and `#` encoded, so `*` is never a wildcard.
 */
export function encodePath(path: string): string {
  return path
    .split('/')
    .map((segment) => encodeURI(segment).replace(/[?#*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`))
    .join('/');
}

/** URL paths whose cached copies a change makes stale; none for a new content-hashed file, nobody has it cached. */
function stalePaths(change: ManifestChange, input: InvalidationPlanInput): string[] {
  if (change.immutable && (change.action === 'created' || change.action === 'deleted')) return [];
  const originPath = (input.originPath ?? '').replace(/^\/+|\/+$/g, '');
  const originPrefix = originPath ? `${originPath}/` : '';
  if (!change.key.startsWith(originPrefix)) return [];
  const relative = change.key.slice(originPrefix.length);
  const paths = [`/${encodePath(relative)}`];
  if (input.defaultRootObject && relative === input.defaultRootObject) paths.push('/');
  const index = /(^|\/)index\.html$/.exec(relative);
  if (index && relative !== 'index.html') {
    const folder = `/${encodePath(relative.slice(0, -'index.html'.length))}`;
    paths.push(folder, folder.slice(0, -1));
  }
  return paths;
}

/**
 * The smallest correct list of CloudFront paths for a deploy: exact paths of what changed, folded into
 * folder wildcards when there are more than `maxPaths`, `/*` only when nothing smaller fits; nothing
 * changed → no paths at all.
 */
export function planInvalidation(input: InvalidationPlanInput): string[] {
  const exact = [...new Set(input.changes.flatMap((c) => stalePaths(c, input)))].sort();
  return foldPaths(exact, input.maxPaths ?? DEFAULT_MAX_PATHS);
}

/** Folds the deepest folders first into `folder/*` until at most `maxPaths` remain (and at most 15 wildcards). */
export function foldPaths(paths: string[], maxPaths: number): string[] {
  const limit = Math.min(Math.max(1, maxPaths), MAX_PATHS_PER_INVALIDATION);
  if (paths.length <= limit) return paths;
  let current = paths;
  const depth = Math.max(...paths.map((p) => p.split('/').length - 1));
  for (let level = depth - 1; level >= 1; level--) {
    const groups = new Map<string, string[]>();
    for (const path of current) {
      const segments = path.split('/');
      // A path inside a folder at least `level` deep folds into that folder's wildcard.
      const key = segments.length - 1 > level ? `${segments.slice(0, level + 1).join('/')}/*` : path;
      groups.set(key, [...(groups.get(key) ?? []), path]);
    }
    current = [...groups.entries()].flatMap(([key, members]) => (members.length > 1 ? [key] : members)).sort();
    const wildcards = current.filter((p) => p.endsWith('*')).length;
    if (current.length <= limit && wildcards <= MAX_WILDCARDS) return current;
  }
  return ['/*'];
}

/**
 * The manifests of one pipeline job (a batch build deploys several apps) by the distribution in front of each:
 * the one it names, else `defaultDistributionId`. A manifest with neither is an error that names it.
 */
export function manifestsByDistribution(
  manifests: readonly { manifest: DeployManifest; source: string }[],
  defaultDistributionId?: string,
): Map<string, DeployManifest[]> {
  const groups = new Map<string, DeployManifest[]>();
  for (const { manifest, source } of manifests) {
    const id = manifest.distributionId ?? defaultDistributionId;
    if (!id)
      throw new UserError(
        `The deploy manifest ${source} names no distribution and UserParameters gives no "distributionId": set "distributionId" in the project's deploy options, or give it in UserParameters.`,
      );
    groups.set(id, [...(groups.get(id) ?? []), manifest]);
  }
  return groups;
}

/**
 * One distribution's paths for all the manifests that deployed behind it, planned together: one batch within
 * CloudFront's limits (3 000 paths, 15 wildcards), where a union of each manifest's own plan could exceed both.
 */
export function planDistributionInvalidation(
  manifests: readonly DeployManifest[],
  origin: Pick<InvalidationPlanInput, 'originPath' | 'defaultRootObject' | 'maxPaths'>,
): string[] {
  return planInvalidation({ changes: manifests.flatMap((m) => m.changes), prefix: '', ...origin });
}
