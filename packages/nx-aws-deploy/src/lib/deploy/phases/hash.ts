import { PART_SIZE } from '../../bucket/multipart';
import type { RemoteObject } from '../../bucket/store';
import { forEachLimit } from '../../util/concurrency';
import { contentEtags, multipartEtags } from '../etags';
import { onDisk, type LocalFile } from '../local-files';
import type { DeployRun } from './run';

/**
 * A file's MD5, read once: not at all when this workspace hashed the same size, mtime and inode before
 * (hash-cache.ts), which reuse() has filled in.
 */
async function hashFile(run: DeployRun, file: LocalFile): Promise<void> {
  if (file.etags.length) return;
  const hashedAt = Date.now();
  file.etags = await contentEtags(onDisk(run.options.sourceDir, file), file.size);
  run.hashes.hashed(file, hashedAt);
}

/**
 * While the bucket is listed. Into a bucket with nothing below the prefix (a first deploy) a file is read once,
 * as it uploads (its MD5 taken then, for Content-MD5): only files above one part are hashed first, for their
 * multipart upload to verify.
 */
export async function hashAhead(run: DeployRun, nothingToCompare: boolean): Promise<void> {
  await forEachLimit(
    run.files,
    run.concurrency,
    async (f) => {
      if (!nothingToCompare || f.size > PART_SIZE) await hashFile(run, f);
    },
    run.signal,
  );
}

/**
 * Once the listing is in: every file the bucket has, and where it holds a multipart ETag (`-N`) the ETags of the
 * part sizes that fit it (the aws CLI's 8 MiB, lib-storage's 5 MiB, custom sizes), in one read.
 */
export async function hashAgainst(run: DeployRun, remote: ReadonlyMap<string, RemoteObject>): Promise<void> {
  await forEachLimit(
    run.files,
    run.concurrency,
    async (f) => {
      const etag = remote.get(run.prefix + f.path)?.etag;
      if (etag !== undefined) await hashFile(run, f);
      const parts = etag && !f.etags.includes(etag) ? /-(\d+)"$/.exec(etag) : null;
      if (parts) f.etags.push(...(await multipartEtags(onDisk(run.options.sourceDir, f), f.size, Number(parts[1]))));
    },
    run.signal,
  );
}
