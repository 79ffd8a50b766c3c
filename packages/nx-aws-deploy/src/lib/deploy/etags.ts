import { createHash } from 'node:crypto';
import { closeSync, createReadStream, openSync, readSync } from 'node:fs';
import { PART_SIZE } from '../bucket/multipart';
import { READ_AT_ONCE, readWhole } from '../util/files';

/**
 * The ETags S3 gives a file's bytes, to compare a build with a bucket listing by content: the MD5 of a single
 * PUT, and multipart ETags (`md5-of-part-md5s-N`) at the part sizes that could have made one.
 */

/** Reused for every small file hashed: reading into it allocates nothing, so hashing a site makes no garbage. */
const scratch = Buffer.allocUnsafe(READ_AT_ONCE);

/** The MD5 of a small file, read synchronously into the scratch buffer (its size may have changed since the scan). */
function md5OfSmallFile(file: string): string {
  const fd = openSync(file, 'r');
  try {
    const hash = createHash('md5');
    for (let n; (n = readSync(fd, scratch, 0, scratch.length, null)) > 0;) hash.update(scratch.subarray(0, n));
    return hash.digest('hex');
  } finally {
    closeSync(fd);
  }
}

/** The ETag of a single PUT of this file: its MD5, read as a stream. */
export async function contentEtags(file: string, size: number): Promise<string[]> {
  if (size <= READ_AT_ONCE) return [`"${md5OfSmallFile(file)}"`];
  if (size <= PART_SIZE)
    return [
      `"${createHash('md5')
        .update(await readWhole(file, size))
        .digest('hex')}"`,
    ];
  const whole = createHash('md5');
  for await (const chunk of createReadStream(file, { highWaterMark: 1024 * 1024 }) as AsyncIterable<Buffer>)
    whole.update(chunk);
  return [`"${whole.digest('hex')}"`];
}

const MiB = 1024 * 1024;
/** Part sizes tools use (aws CLI 8 MiB, lib-storage 5 MiB, others 16, 15, 64, 100 MiB), tried first. */
const COMMON_PART_SIZES = [8, 5, 16, 15, 64, 100].map((n) => n * MiB);
/** At most this many part sizes are hashed for one file, all in a single read. */
const MAX_CANDIDATES = 6;

/**
 * The part sizes that could have produced an ETag of `parts` parts for `size` bytes (`-N`): every size S3
 * allows (5 MiB and up, the last part smaller) with ceil(size / partSize) = parts. One part: any size at least
 * the file's, all giving the same ETag. Whole MiB only, common sizes first, then the smallest that fits (what
 * tools choose when they must grow parts to stay under 10 000), at most MAX_CANDIDATES.
 */
export function partSizeCandidates(size: number, parts: number): number[] {
  if (parts < 1 || size === 0) return [];
  if (parts === 1) return [Math.max(size, 5 * MiB)];
  const fits = (partSize: number) => partSize >= 5 * MiB && Math.ceil(size / partSize) === parts;
  const smallest = Math.max(5, Math.ceil(size / parts / MiB)) * MiB;
  const candidates = [...COMMON_PART_SIZES, smallest, smallest + MiB].filter(fits);
  return [...new Set(candidates)].slice(0, MAX_CANDIDATES);
}

/**
 * The multipart ETags (`"md5-of-part-md5s-N"`) of a file for each candidate part size that fits an ETag with
 * `parts` parts: computed only when the bucket holds a multipart ETag for the key, in one read of the file.
 */
export async function multipartEtags(file: string, size: number, parts: number): Promise<string[]> {
  const sizes = partSizeCandidates(size, parts);
  if (!sizes.length) return [];
  const hashing = sizes.map((partSize) => ({ partSize, current: createHash('md5'), filled: 0, md5s: [] as Buffer[] }));
  for await (const chunk of createReadStream(file, { highWaterMark: MiB }) as AsyncIterable<Buffer>) {
    for (const p of hashing) {
      let offset = 0;
      while (offset < chunk.length) {
        const take = Math.min(p.partSize - p.filled, chunk.length - offset);
        p.current.update(chunk.subarray(offset, offset + take));
        p.filled += take;
        offset += take;
        if (p.filled === p.partSize) {
          p.md5s.push(p.current.digest());
          p.current = createHash('md5');
          p.filled = 0;
        }
      }
    }
  }
  return hashing.map((p) => {
    if (p.filled > 0) p.md5s.push(p.current.digest());
    return `"${createHash('md5').update(Buffer.concat(p.md5s)).digest('hex')}-${p.md5s.length}"`;
  });
}
