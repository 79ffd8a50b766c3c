import type {
  CloudFrontKeyValueStoreClient,
  CloudFrontKeyValueStoreServiceException,
} from '@aws-sdk/client-cloudfront-keyvaluestore';
import { deniedCaller, explainTimeout } from '../aws/clients';
import { UserError } from '../util/errors';

/** A site's live release as the release router reads it from the KeyValueStore (its value, as JSON). */
export interface LiveRelease {
  /** The release every request is served from. */
  live: number;
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
 * retries, so no switch is lost. Answers what was live before, what is live now, and the writes it took.
 */
export async function switchLiveRelease(
  store: LiveReleaseStore,
  next: (current: LiveRelease | undefined) => LiveRelease,
): Promise<{ previous: LiveRelease | undefined; current: LiveRelease; attempts: number }> {
  const { client, storeArn, site } = store;
  if (!site || site.length > MAX_KEY_CHARS)
    throw new UserError(`The site's key in the KeyValueStore must have 1 to ${MAX_KEY_CHARS} characters: "${site}".`);
  const { PutKeyCommand } = await import('@aws-sdk/client-cloudfront-keyvaluestore');
  let current!: LiveRelease;
  const { previous, attempts } = await writeConditionally(store, 'PutKey', (live, IfMatch) => {
    current = next(live);
    return client.send(new PutKeyCommand({ KvsARN: storeArn, Key: site, Value: JSON.stringify(current), IfMatch }));
  });
  return { previous, current, attempts };
}

/**
 * Takes the site's key out of the store, so that the release router serves the request as it came again (the site
 * deployed in place): one conditional DeleteKey, retried after a conflict. Answers what was live, if anything.
 */
export async function clearLiveRelease(store: LiveReleaseStore): Promise<LiveRelease | undefined> {
  const { client, storeArn, site } = store;
  const { DeleteKeyCommand } = await import('@aws-sdk/client-cloudfront-keyvaluestore');
  const { previous } = await writeConditionally(
    store,
    'DeleteKey',
    (live, IfMatch) => live && client.send(new DeleteKeyCommand({ KvsARN: storeArn, Key: site, IfMatch })),
  );
  return previous;
}

/**
 * One conditional write of the site's key, decided from what it holds: the store's ETag and the live release read,
 * then `write` (none when it answers undefined) naming that ETag; a writer that lost a race to another
 * (ConflictException) reads again and retries, at most MAX_WRITE_ATTEMPTS times.
 */
async function writeConditionally(
  store: LiveReleaseStore,
  operation: 'PutKey' | 'DeleteKey',
  write: (live: LiveRelease | undefined, ifMatch: string) => Promise<unknown> | undefined,
): Promise<{ previous: LiveRelease | undefined; attempts: number }> {
  const { client, storeArn } = store;
  const { DescribeKeyValueStoreCommand } = await import('@aws-sdk/client-cloudfront-keyvaluestore');
  for (let attempt = 1; ; attempt++) {
    const { ETag } = await client
      .send(new DescribeKeyValueStoreCommand({ KvsARN: storeArn }))
      .catch((error) => Promise.reject(explainStoreError(error, 'DescribeKeyValueStore', storeArn)));
    const previous = await readLiveRelease(store);
    try {
      await write(previous, ETag!);
      return { previous, attempts: attempt };
    } catch (error) {
      // Another write to the store came between our read and our write: read again.
      if ((error as Error).name === 'ConflictException' && attempt < MAX_WRITE_ATTEMPTS) continue;
      throw explainStoreError(error, operation, storeArn);
    }
  }
}

function explainStoreError(error: unknown, operation: string, storeArn: string): Error {
  if (error instanceof UserError) return error;
  const e = error as CloudFrontKeyValueStoreServiceException;
  const where = `cloudfront-keyvaluestore:${operation} on ${storeArn}`;
  const timedOut = explainTimeout(error, where, 'CloudFront');
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
