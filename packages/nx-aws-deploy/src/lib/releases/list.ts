import { checkBucketName } from '../bucket/name';
import { normalizePrefix } from '../bucket/name';
import { openS3Store } from '../bucket/s3-target';
import { formatBytes, table } from '../util/format';
import { ReleaseBook } from './book';
import type { ReleaseIndex } from './history';

/** The release history of a bucket + prefix (read-only: no lease). */
export async function readReleases(options: {
  bucket: string;
  prefix?: string;
  region?: string;
  requestTimeout?: number;
}): Promise<{ where: string; index?: ReleaseIndex }> {
  checkBucketName(options.bucket, 'the "bucket" option');
  const prefix = normalizePrefix(options.prefix);
  const store = openS3Store({ ...options, concurrency: 1 })();
  return { where: `s3://${options.bucket}/${prefix}`, index: (await ReleaseBook.open(store, prefix)).index };
}

/** The releases as a table, newest first: which one is live, what each was, and which can be rolled back to. */
export function releasesTable(where: string, index: ReleaseIndex | undefined): string {
  if (!index?.releases.length) return `No releases are recorded in ${where} yet: the next deploy records the first.`;
  const rows = [['release', 'when', 'commit', 'by', 'changed', 'files', 'size', 'state']];
  for (const r of index.releases) {
    rows.push([
      String(r.number),
      r.at.replace('T', ' ').replace(/\.\d+Z$/, 'Z'),
      r.rollbackTo
        ? `rollback to ${r.rollbackTo}`
        : `${r.commit?.slice(0, 12) ?? '-'}${r.promotedFrom ? ` from ${r.promotedFrom}` : ''}`,
      shortOwner(r.by),
      String(r.changed),
      String(r.files),
      formatBytes(r.bytes),
      r.number === index.live ? 'live' : r.kept ? 'kept' : '-',
    ]);
  }
  const live = index.releases.find((r) => r.number === index.live);
  const mode = live?.atomic
    ? `atomic: live through "${live.atomic.site}" in ${live.atomic.keyValueStoreArn}, a rollback is one write of it`
    : 'in place: a rollback copies the files back';
  return `Releases of ${where} (${mode}; kept ones can be rolled back to):\n${table(rows)}`;
}

/** A CodeBuild build ARN as its build id (`project:uuid`); user@host:pid as it is. */
function shortOwner(owner: string): string {
  return /^arn:aws[\w-]*:codebuild:[^:]+:\d+:build\/(.+)$/.exec(owner)?.[1] ?? owner;
}
