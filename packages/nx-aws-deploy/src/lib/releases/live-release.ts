import type {
  CloudFrontKeyValueStoreClient,
  CloudFrontKeyValueStoreServiceException,
} from '@aws-sdk/client-cloudfront-keyvaluestore';
import { deniedCaller, explainTimeout } from '../aws/clients';
import { createKeyValueStoreClient } from '../aws/kvs-client';
import { UserError } from '../util/errors';

/** A site's live release as the release router reads it from the KeyValueStore (its value, as JSON). */
export interface LiveRelease {
  /** The release every request is served from. */
  live: number;
  /**
   * The releases whose files are all still there (the kept ones, those within the skew protection): a tab opened
   * on one of them, which its page pinned in a cookie, keeps getting that release's files without a content hash.
   */
  kept?: number[];
}

/** CloudFront's limit on a KeyValueStore key. */
const MAX_KEY_CHARS = 512;
/** Writers that race for one store each retry after a conflict; this bounds how often. */
const MAX_WRITE_ATTEMPTS = 8;

export interface LiveReleaseStore {
  client: CloudFrontKeyValueStoreClient;
  /** The KeyValueStore's ARN. */
  storeArn: string;
  /** The site's key in it. */
  site: string;
}

/**
 * releaseMode "atomic" (of a deploy or a promote): the KeyValueStore and the site's key in it (`site`, default
 * `defaultSite`), the options checked before any request; undefined in place.
 */
export function openLiveReleaseStore(
  options: { releaseMode?: string; keyValueStoreArn?: string; site?: string; requestTimeout?: number },
  defaultSite: string,
): LiveReleaseStore | undefined {
  if ((options.releaseMode ?? 'in-place') === 'in-place') return undefined;
  if (options.releaseMode !== 'atomic')
    throw new UserError(`"releaseMode" must be "in-place" or "atomic", not "${options.releaseMode}".`);
  if (!options.keyValueStoreArn?.startsWith('arn:'))
    throw new UserError(
      '"releaseMode": "atomic" needs "keyValueStoreArn": the ARN of the CloudFront KeyValueStore the release router reads.',
    );
  return {
    client: createKeyValueStoreClient({ requestTimeoutSeconds: options.requestTimeout }),
    storeArn: options.keyValueStoreArn,
    site: options.site ?? defaultSite,
  };
}

/**
 * The site's live release, or undefined when none was made live through the store yet (GetKey answers a missing
 * key as it answers a missing store: the callers that write describe the store first).
 */
export async function readLiveRelease({ client, storeArn, site }: LiveReleaseStore): Promise<LiveRelease | undefined> {
  const { GetKeyCommand } = await import('@aws-sdk/client-cloudfront-keyvaluestore');
  try {
    const { Value } = await client.send(new GetKeyCommand({ KvsARN: storeArn, Key: site }));
    return JSON.parse(Value!) as LiveRelease;
  } catch (error) {
    if ((error as Error).name === 'ResourceNotFoundException') return undefined;
    throw explainStoreError(error, 'GetKey', storeArn);
  }
}

/**
 * Makes `next(current)` the site's live release with one conditional write (PutKey naming the store's ETag): what
 * goes live is always computed from what was live, and a writer that lost a race to another reads again and
 * retries, so no switch is lost. `known`: the store's ETag and live release as the caller last saw them, spared a
 * read. Answers what was live before, what is live now, and the writes it took.
 */
export async function switchLiveRelease(
  store: LiveReleaseStore,
  next: (current: LiveRelease | undefined) => LiveRelease,
  known?: { etag: string; live: LiveRelease | undefined },
): Promise<{ previous: LiveRelease | undefined; current: LiveRelease; attempts: number }> {
  const { client, storeArn, site } = store;
  if (!site || site.length > MAX_KEY_CHARS)
    throw new UserError(`The site's key in the KeyValueStore must have 1 to ${MAX_KEY_CHARS} characters: "${site}".`);
  const { DescribeKeyValueStoreCommand, PutKeyCommand } = await import('@aws-sdk/client-cloudfront-keyvaluestore');
  for (let attempt = 1; ; attempt++) {
    // What the caller read and the ETag of its own last write serve the first attempt; a conflict reads again.
    const { ETag } =
      attempt === 1 && known
        ? { ETag: known.etag }
        : await client
            .send(new DescribeKeyValueStoreCommand({ KvsARN: storeArn }))
            .catch((error) => Promise.reject(explainStoreError(error, 'DescribeKeyValueStore', storeArn)));
    const previous = attempt === 1 && known ? known.live : await readLiveRelease(store);
    const current = next(previous);
    try {
      await client.send(
        new PutKeyCommand({ KvsARN: storeArn, Key: site, Value: JSON.stringify(current), IfMatch: ETag }),
      );
      return { previous, current, attempts: attempt };
    } catch (error) {
      // Another write to the store came between our read and our write: read again.
      if ((error as Error).name === 'ConflictException' && attempt < MAX_WRITE_ATTEMPTS) continue;
      throw explainStoreError(error, 'PutKey', storeArn);
    }
  }
}

/** CloudFront's limits: keys one UpdateKeys request may write, a value's bytes, and the bytes a store holds. */
const MAX_KEYS_PER_UPDATE = 50;
const MAX_VALUE_BYTES = 1024;
export const MAX_STORE_BYTES = 5 * 1024 * 1024;

/** A site's file index in the store (see file-index.ts): each path's key. */
export function indexKey(site: string, path: string): string {
  return `${site}/${path}`;
}

/** Refuses, naming it, a file whose index key CloudFront would not take. */
export function checkIndexKey(site: string, path: string): void {
  if (indexKey(site, path).length > MAX_KEY_CHARS)
    throw new UserError(
      `"${path}" is too long a path for the release router's file index: its key ("${site}/" and the path) may have at most ${MAX_KEY_CHARS} characters in a CloudFront KeyValueStore. Give it a shorter path or a content hash in its name, or deploy in place; nothing was changed.`,
    );
}

/** The bytes keys and values take in a store, as CloudFront counts them toward its 5 MB. */
export function storeBytes(entries: Iterable<{ key: string; value: string }>): number {
  let bytes = 0;
  for (const { key, value } of entries) bytes += Buffer.byteLength(key) + Buffer.byteLength(value);
  return bytes;
}

/**
 * Writes keys of the store (`puts`, `deletes`) with UpdateKeys, 50 at a time, each batch all or nothing: each names
 * the ETag the one before answered, and after another writer's change (ConflictException) the store is described
 * again and the batch retried. `growth`: the bytes the writes add; refused before any write when the store would
 * then exceed CloudFront's 5 MB. Answers the store's ETag after the last write.
 */
export async function updateKeys(
  store: LiveReleaseStore,
  writes: { puts: { key: string; value: string }[]; deletes: string[]; growth: number },
): Promise<string> {
  const { client, storeArn } = store;
  const { DescribeKeyValueStoreCommand, UpdateKeysCommand } = await import('@aws-sdk/client-cloudfront-keyvaluestore');
  const describe = () =>
    client
      .send(new DescribeKeyValueStoreCommand({ KvsARN: storeArn }))
      .catch((error) => Promise.reject(explainStoreError(error, 'DescribeKeyValueStore', storeArn)));
  const long = writes.puts.find(({ value }) => Buffer.byteLength(value) > MAX_VALUE_BYTES);
  if (long)
    throw new UserError(
      `The value of "${long.key}" in KeyValueStore ${storeArn} would be ${Buffer.byteLength(long.value)} bytes, more than the ${MAX_VALUE_BYTES} CloudFront allows: keep fewer releases ("keepReleases", "skewProtectionHours") or give the file a content hash in its name; nothing was written.`,
    );
  const described = await describe();
  if ((described.TotalSizeInBytes ?? 0) + writes.growth > MAX_STORE_BYTES)
    throw new UserError(
      `KeyValueStore ${storeArn} would hold ${((described.TotalSizeInBytes! + writes.growth) / 1024 / 1024).toFixed(1)} MB, more than the 5 MB CloudFront allows: this site's files without a content hash in their names take one key each. Name them with a hash (as bundlers do), give the site a store of its own, or deploy it in place; nothing was changed.`,
    );
  const batches: { Puts?: { Key: string; Value: string }[]; Deletes?: { Key: string }[] }[] = [];
  const all = [...writes.deletes.map((key) => ({ delete: key })), ...writes.puts.map((put) => ({ put }))];
  for (let i = 0; i < all.length; i += MAX_KEYS_PER_UPDATE) {
    const batch = all.slice(i, i + MAX_KEYS_PER_UPDATE);
    const puts = batch.flatMap((w) => ('put' in w ? [{ Key: w.put.key, Value: w.put.value }] : []));
    const deletes = batch.flatMap((w) => ('delete' in w ? [{ Key: w.delete }] : []));
    batches.push({ ...(puts.length ? { Puts: puts } : {}), ...(deletes.length ? { Deletes: deletes } : {}) });
  }
  let etag = described.ETag!;
  for (const batch of batches)
    for (let attempt = 1; ; attempt++) {
      try {
        etag = (await client.send(new UpdateKeysCommand({ KvsARN: storeArn, IfMatch: etag, ...batch }))).ETag!;
        break;
      } catch (error) {
        if ((error as Error).name === 'ConflictException' && attempt < MAX_WRITE_ATTEMPTS) {
          etag = (await describe()).ETag!;
          continue;
        }
        throw explainStoreError(error, 'UpdateKeys', storeArn);
      }
    }
  return etag;
}

/**
 * Takes the site's key and its file index out of the store, the site's key in the first batch, so that the release
 * router serves the request as it came again (the site deployed in place). Answers what was live, if anything.
 */
export async function clearLiveRelease(
  store: LiveReleaseStore,
  indexPaths: readonly string[],
): Promise<LiveRelease | undefined> {
  const previous = await readLiveRelease(store);
  const deletes = [...(previous ? [store.site] : []), ...indexPaths.map((path) => indexKey(store.site, path))];
  if (deletes.length) await updateKeys(store, { puts: [], deletes, growth: 0 });
  return previous;
}

function explainStoreError(error: unknown, operation: string, storeArn: string): Error {
  if (error instanceof UserError) return error;
  const e = error as CloudFrontKeyValueStoreServiceException;
  const where = `cloudfront-keyvaluestore:${operation} on ${storeArn}`;
  const timedOut = explainTimeout(error, where, 'CloudFront KeyValueStore');
  if (timedOut) return new UserError(timedOut);
  switch (e.name) {
    case 'ResourceNotFoundException':
      return new UserError(`KeyValueStore ${storeArn} does not exist (${where}). Fix the "keyValueStoreArn" option.`);
    case 'AccessDeniedException':
      return new UserError(
        `Access denied: ${where}. Allow cloudfront-keyvaluestore:${operation} on ${storeArn} for ${deniedCaller(error).who}.`,
      );
    case 'ConflictException':
      return new UserError(
        `${where}: the store kept changing under ${MAX_WRITE_ATTEMPTS} attempts (other deploys writing to it). Run again.`,
      );
    default:
      return new UserError(`${where} failed: ${e.name}: ${e.message}`);
  }
}
