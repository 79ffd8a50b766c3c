import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import { writeJsonWithList } from '../util/json-file';

/** What identifies a file's bytes without reading them, as the walk saw it. */
export interface FileStat {
  path: string;
  size: number;
  mtimeMs: number;
  ino: number;
}

type Entry = [size: number, mtimeMs: number, ino: number, md5: string];

/** Beside Nx's own workspace data (git-ignored in Nx workspaces, emptied by `nx reset`). */
export const CACHE_DIR = '.nx/workspace-data/nx-aws-deploy';

/** A file modified this close to its hashing may change again within the same mtime: not remembered (as git does). */
const RACY_MS = 2000;

/**
 * The MD5 of each file of a build folder, remembered by size, modification time and inode in the Nx workspace's
 * CACHE_DIR, so that a deploy of a folder that did not change (or changed in a few files) reads only what changed.
 * Local only: the bucket is never trusted for it. A fresh clone (CI) has no cache and hashes every file; outside
 * an Nx workspace (no nx.json) nothing is remembered.
 */
export class HashCache {
  /** By path, [size, mtimeMs, ino, md5]: as saved, and as this run hashed. Parsed as it is, not copied. */
  private readonly known: Record<string, Entry>;
  private changed = false;

  private constructor(private readonly file: string | undefined) {
    let saved: Record<string, Entry> = {};
    try {
      if (file && existsSync(file)) saved = JSON.parse(readFileSync(file, 'utf8')).files ?? {};
    } catch {
      // unreadable: start afresh
    }
    this.known = saved;
  }

  static open(workspaceRoot: string, sourceDir: string): HashCache {
    if (!existsSync(join(workspaceRoot, 'nx.json'))) return new HashCache(undefined);
    const name = createHash('sha1').update(sourceDir).digest('hex').slice(0, 16);
    return new HashCache(join(workspaceRoot, CACHE_DIR, `md5-${name}.json`));
  }

  md5(file: FileStat): string | undefined {
    return this.current(file)?.[3];
  }

  remember(file: FileStat, md5: string, hashedAt = Date.now()): void {
    if (hashedAt - file.mtimeMs < RACY_MS) return;
    // Defined rather than assigned: a file named __proto__ is a key like any other.
    Object.defineProperty(this.known, file.path, {
      value: [file.size, file.mtimeMs, file.ino, md5],
      enumerable: true,
      writable: true,
      configurable: true,
    });
    this.changed = true;
  }

  /**
   * Keeps what is known of `files`, the folder as this run scanned it (files gone or changed since are
   * forgotten); written only when that differs from what was read.
   */
  save(files: readonly FileStat[]): void {
    if (!this.file) return;
    const kept = files.filter((f) => this.current(f));
    if (!this.changed && kept.length === Object.keys(this.known).length) return;
    try {
      mkdirSync(join(this.file, '..'), { recursive: true });
      // Written aside, then renamed over: a deploy of the same folder at the same time reads one whole file or the other.
      const written = `${this.file}.${process.pid}.tmp`;
      const known = this.known;
      writeJsonWithList(
        written,
        { version: 1 },
        {
          name: 'files',
          entries: (function* () {
            for (const f of kept) yield [f.path, known[f.path]] as [string, Entry];
          })(),
        },
      );
      renameSync(written, this.file);
    } catch {
      // a cache that cannot be written costs the next deploy some reads, nothing else
    }
  }

  /** The entry for this file if it is still the file's: same size, mtime and inode. */
  private current(file: FileStat): Entry | undefined {
    const entry = Object.hasOwn(this.known, file.path) ? this.known[file.path] : undefined;
    return entry && entry[0] === file.size && entry[1] === file.mtimeMs && entry[2] === file.ino ? entry : undefined;
  }
}
