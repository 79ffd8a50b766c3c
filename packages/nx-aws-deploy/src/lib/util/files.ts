import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';

/** Files up to this size are read in one synchronous call: for the small files of a site, several times cheaper
 * than fs/promises (a FileHandle's open, stat, read and close each a round trip to the thread pool). */
export const READ_AT_ONCE = 256 * 1024;

/** A whole file's bytes, read the cheapest way for its size. */
export async function readWhole(file: string, size: number): Promise<Buffer> {
  return size <= READ_AT_ONCE ? readFileSync(file) : readFile(file);
}
