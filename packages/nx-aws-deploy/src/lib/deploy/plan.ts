import { join } from 'node:path';
import picomatch from 'picomatch';
import { UserError } from '../util/errors';
import { STATE_DIR } from '../bucket/bookkeeping';
import type { ObjectHeaders, RemoteObject } from '../bucket/store';
import { headersFingerprint, isContentHashed, isEntryFile } from './headers';

/** More deletes than this refuse a deploy or promote, changing nothing. */
export const DEFAULT_MAX_DELETES = 256;

/** S3's limit on a key's length, in UTF-8 bytes. */
const MAX_KEY_BYTES = 1024;

/** Refuses, before any request, a folder with a file whose key S3 would not take. */
export function checkKeyLengths(prefix: string, files: readonly { path: string }[], sourceDir: string): void {
  for (const file of files) {
    const bytes = Buffer.byteLength(prefix + file.path, 'utf8');
    if (bytes > MAX_KEY_BYTES)
      throw new UserError(
        `${join(sourceDir, file.path)} would be the key "${(prefix + file.path).slice(0, 60)}…" of ${bytes} bytes; S3 allows ${MAX_KEY_BYTES}. Shorten its path (or the prefix); nothing was uploaded.`,
      );
  }
}

export interface PlannedFile {
  path: string;
  size: number;
  etags: string[];
  headers: ObjectHeaders;
}

/** A bucket listing, as listed or already by key (a deploy makes that map once for all its planning). */
export type Listing = readonly RemoteObject[] | ReadonlyMap<string, RemoteObject>;

/** What the last deploy recorded per key: lets a no-op deploy skip a HEAD request per object. */
export interface DeployState {
  version: 1;
  /** Number of the deploy that wrote this state (1 for the first). */
  deploy: number;
  objects: Record<string, { etag: string; headers: string; deploy: number }>;
}

export interface PlanInput {
  bucket: string;
  files: PlannedFile[];
  prefix: string;
  remote: Listing;
  state?: DeployState;
  /** Header fingerprints read with HEAD for same-content objects the state does not vouch for. */
  headedFingerprints?: Map<string, string>;
  prune: boolean;
  maxDeletes: number;
  /** Keep objects that the last N deploys uploaded, so visitors holding old HTML still find its chunks. */
  pruneOlderThanDeploys: number;
  /** Assets a kept release has (key → ETag): never pruned while their bytes are that release's. */
  releaseAssets?: ReadonlyMap<string, string>;
  /** Remote keys (relative to the prefix) that are never deleted, matching the user's `exclude`. */
  exclude?: string[];
  /** Where each file goes: `prefix + path` (in place), or its release's folder (see atomic.ts). */
  keyOf?: (path: string) => string;
  /** Remote keys (relative to the prefix) that are never deleted, beside `exclude`. */
  keep?: (relativeKey: string) => boolean;
}

export type UploadReason = 'new' | 'changed';

export interface PlannedUpload {
  path: string;
  key: string;
  size: number;
  headers: ObjectHeaders;
  reason: UploadReason;
  /** HTML, service worker, manifest: goes up after every asset it may name. */
  entry: boolean;
  immutable: boolean;
}

export interface DeployPlan {
  /** Assets first, then entry files: a visitor never gets HTML whose assets are not there yet. */
  uploads: PlannedUpload[];
  /** Same bytes, different headers: CopyObject onto itself, no re-upload. */
  metadataUpdates: PlannedUpload[];
  /** The files themselves (no record of their own: a no-op deploy of 100 000 files makes none). */
  unchanged: readonly { path: string; size: number }[];
  /** Stale keys, deleted after every upload succeeded. */
  deletes: string[];
  /** Stale keys kept because a recent deploy uploaded them (pruneOlderThanDeploys) or a kept release has them. */
  kept: string[];
  /** Deeper prefixes that hold another deploy's bookkeeping, whose objects are that deploy's and left alone. */
  siblings: { prefix: string; objects: number }[];
  /** The state to record once the deploy succeeded. */
  nextState: DeployState;
}

/** Keys that have the local bytes but whose headers neither the state nor a HEAD has told us yet. */
export function keysNeedingHead(input: Pick<PlanInput, 'files' | 'prefix' | 'remote' | 'state' | 'keyOf'>): string[] {
  const remote = byKey(input.remote);
  const keys: string[] = [];
  for (const f of input.files) {
    const key = input.keyOf ? input.keyOf(f.path) : input.prefix + f.path;
    const r = remote.get(key);
    if (r && f.etags.includes(r.etag) && input.state?.objects[key]?.etag !== r.etag) keys.push(key);
  }
  return keys;
}

/** Remote objects by key, built without an intermediate array (a listing may hold 100 000 objects). */
export function byKey(remote: Listing): ReadonlyMap<string, RemoteObject> {
  if (!isArrayListing(remote)) return remote;
  const map = new Map<string, RemoteObject>();
  for (const r of remote) map.set(r.key, r);
  return map;
}

function objectsOf(remote: Listing): Iterable<RemoteObject> {
  return isArrayListing(remote) ? remote : remote.values();
}

// Array.isArray does not narrow a readonly array type.
function isArrayListing(remote: Listing): remote is readonly RemoteObject[] {
  return Array.isArray(remote);
}

/**
 * Makes the state as read small, in place (a copy would cost as much again while it is made): one string per
 * distinct headers fingerprint, and each record's ETag the listing's own string where they agree. As parsed, the
 * state of 100 000 objects holds ~36 MB.
 */
export function compactState(state: DeployState | undefined, remote: ReadonlyMap<string, RemoteObject>): void {
  if (!state) return;
  const fingerprints = new Map<string, string>();
  for (const key in state.objects) {
    if (!Object.hasOwn(state.objects, key)) continue;
    const record = state.objects[key];
    const listed = remote.get(key)?.etag;
    if (listed === record.etag) record.etag = listed;
    const shared = fingerprints.get(record.headers);
    if (shared === undefined) fingerprints.set(record.headers, record.headers);
    else record.headers = shared;
  }
}

/** Decides every upload, metadata update and delete of a deploy from content alone (never mtimes). */
export function planDeploy(input: PlanInput): DeployPlan {
  const { prefix, state } = input;
  const deploy = (state?.deploy ?? 0) + 1;
  const remote = byKey(input.remote);
  const nextState: DeployState = { version: 1, deploy, objects: {} };
  const unchanged: PlannedFile[] = [];
  const plan: DeployPlan = {
    uploads: [],
    metadataUpdates: [],
    unchanged,
    deletes: [],
    kept: [],
    siblings: [],
    nextState,
  };

  for (const file of input.files) {
    const key = input.keyOf ? input.keyOf(file.path) : prefix + file.path;
    const fingerprint = headersFingerprint(file.headers);
    const existing = remote.get(key);
    // Made only for the files that change: a no-op deploy of 100 000 files makes none.
    const planned = (): PlannedUpload => ({
      path: file.path,
      key,
      size: file.size,
      headers: file.headers,
      reason: existing ? 'changed' : 'new',
      entry: isEntryFile(file.path),
      immutable: isContentHashed(file.path),
    });
    if (!existing || !file.etags.includes(existing.etag)) {
      plan.uploads.push(planned());
      nextState.objects[key] = { etag: '', headers: fingerprint, deploy };
      continue;
    }
    const known =
      state?.objects[key]?.etag === existing.etag ? state.objects[key].headers : input.headedFingerprints?.get(key);
    if (known !== fingerprint) plan.metadataUpdates.push(planned());
    else unchanged.push(file);
    nextState.objects[key] = { etag: existing.etag, headers: fingerprint, deploy };
  }
  plan.uploads.sort((a, b) => Number(a.entry) - Number(b.entry) || (a.key < b.key ? -1 : 1));
  plan.metadataUpdates.sort((a, b) => Number(a.entry) - Number(b.entry) || (a.key < b.key ? -1 : 1));

  if (input.prune) {
    const pruned = planPrune(
      { ...input, what: 'This deploy', check: 'Check "sourceDir" and "prefix"' },
      (key) => Boolean(nextState.objects[key]),
      (r) => {
        const record = state?.objects[r.key];
        return Boolean(record && record.etag === r.etag && record.deploy > deploy - 1 - input.pruneOlderThanDeploys);
      },
    );
    Object.assign(plan, pruned);
    for (const key of pruned.kept) {
      const record = state?.objects[key];
      if (record && record.etag === remote.get(key)?.etag) nextState.objects[key] = record;
    }
  }
  return plan;
}

/** Every key the plan writes or deletes, in the order it does. */
export function* changedKeys(plan: Pick<DeployPlan, 'uploads' | 'metadataUpdates' | 'deletes'>): Generator<string> {
  for (const u of plan.uploads) yield u.key;
  for (const u of plan.metadataUpdates) yield u.key;
  yield* plan.deletes;
}

export interface PruneInput {
  bucket: string;
  prefix: string;
  remote: Listing;
  maxDeletes: number;
  exclude?: string[];
  keep?: (relativeKey: string) => boolean;
  releaseAssets?: ReadonlyMap<string, string>;
  /** For the maxDeletes refusal: "This deploy", and what to check first. */
  what: string;
  check: string;
}

/**
 * The stale keys below the prefix: every key that is not the site's (`inSite`), not another deploy's (a deeper
 * prefix with bookkeeping of its own), not bookkeeping and not excluded is deleted, unless `keepAlso` or a kept
 * release's assets keep it. More deletes than maxDeletes refuse the whole change.
 */
export function planPrune(
  input: PruneInput,
  inSite: (key: string) => boolean,
  keepAlso: (object: RemoteObject) => boolean = () => false,
): Pick<DeployPlan, 'deletes' | 'kept' | 'siblings'> {
  const { prefix } = input;
  const excluded = input.exclude?.length ? picomatch(input.exclude, { dot: true }) : () => false;
  const siblings = siblingPrefixes(input.remote, prefix);
  const deletes: string[] = [];
  const kept: string[] = [];
  for (const r of objectsOf(input.remote)) {
    if (inSite(r.key) || !r.key.startsWith(prefix)) continue;
    const sibling = siblings.get([...siblings.keys()].find((s) => r.key.startsWith(s)) ?? '');
    if (sibling) {
      sibling.objects++;
      continue;
    }
    const relativeKey = r.key.slice(prefix.length);
    if (relativeKey.startsWith(STATE_DIR) || excluded(relativeKey) || input.keep?.(relativeKey)) continue;
    if (keepAlso(r) || input.releaseAssets?.get(r.key) === r.etag) kept.push(r.key);
    else deletes.push(r.key);
  }
  if (deletes.length > input.maxDeletes) {
    throw new UserError(
      `${input.what} would delete ${deletes.length} objects under s3://${input.bucket}/${prefix}, more than maxDeletes (${input.maxDeletes}); nothing was changed. ` +
        `${input.check}; if the deletes are intended, raise "maxDeletes" or set "prune" to false.`,
    );
  }
  return { deletes, kept, siblings: [...siblings.values()].sort((a, b) => (a.prefix < b.prefix ? -1 : 1)) };
}

/**
 * Prefixes below `prefix` with bookkeeping of their own (`app1/.nx-aws-deploy/…`): other deploys that share the
 * bucket, e.g. a root deploy beside `app1/` and `app10/` (the trailing `/` keeps those two apart).
 */
function siblingPrefixes(remote: Listing, prefix: string): Map<string, { prefix: string; objects: number }> {
  const found = new Map<string, { prefix: string; objects: number }>();
  for (const { key } of objectsOf(remote)) {
    if (!key.startsWith(prefix)) continue;
    const at = key.indexOf(`/${STATE_DIR}`, prefix.length);
    if (at < 0) continue;
    const sibling = key.slice(0, at + 1);
    if (!found.has(sibling)) found.set(sibling, { prefix: sibling, objects: 0 });
  }
  return found;
}

/**
 * Records in the plan's next state the ETags S3 answered for the uploads, so that the next deploy trusts them
 * without a HEAD. In place: the next state is the plan's own, and a copy of 100 000 records would cost megabytes.
 */
export function recordUploadedEtags(next: DeployState, written: ReadonlyMap<string, { etag: string }>): DeployState {
  // A written key is a file of the site: its record is the plan's own, made for this deploy.
  for (const [key, { etag }] of written) next.objects[key].etag = etag;
  return next;
}

/** Records that may be stale before the state is rewritten: each costs one HEAD next time, a rewrite one PUT now. */
export const STALE_RECORDS_BEFORE_REWRITE = 10;

/**
 * Whether to rewrite the state object. A record whose ETag no longer matches is ignored (one HEAD), so a
 * deploy that changed a few files leaves the state as it is (one changed file makes one PUT) and a no-op
 * deploy never writes it; new headers on the same bytes always rewrite it.
 * Keeping recent deploys' assets needs every deploy counted, so then it is always written.
 */
export function shouldWriteState(
  previous: DeployState | undefined,
  next: DeployState,
  pruneOlderThanDeploys: number,
): boolean {
  if (!previous) return true;
  let stale = 0;
  // Key by key without collecting the keys: each side may hold 100 000.
  for (const key in next.objects) {
    if (!Object.hasOwn(next.objects, key)) continue;
    const a = Object.hasOwn(previous.objects, key) ? previous.objects[key] : undefined;
    const b = next.objects[key];
    // Same ETag, other headers: the old record would be trusted and wrong, so it must be rewritten.
    if (a && a.etag === b.etag && a.headers !== b.headers) return true;
    if (!a || a.etag !== b.etag) stale++;
  }
  for (const key in previous.objects)
    if (Object.hasOwn(previous.objects, key) && !Object.hasOwn(next.objects, key)) stale++;
  if (stale === 0) return false;
  return pruneOlderThanDeploys > 0 || stale >= STALE_RECORDS_BEFORE_REWRITE;
}
