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

/** A file as the walk saw it, with the ETags of its bytes once known (the first: the quoted MD5 of the whole). */
export interface HashedFile extends FileStat {
  etags: string[];
}

/**
 * The MD5 of each file of a build folder, remembered by size, modification time and inode in the Nx workspace's
 * CACHE_DIR, so that a deploy of a folder that did not change (or changed in a few files) reads only what changed.
 * Local only: the bucket is never trusted for it. A fresh clone (CI) has no cache and hashes every file; outside
 * an Nx workspace (no nx.json) nothing is remembered.
 * What is known lives in the files' own records (`etags`): the saved file is read once, into them, and not kept
 * (parsed, the cache of 100 000 files is ~35 MB).
 */
export class HashCache {
  /** Files hashed this run too soon after they were modified: not saved. */
  private readonly racy = new WeakSet<FileStat>();
  private saved = 0;
  private reused = 0;
  private hashedNow = false;

  private constructor(private readonly file: string | undefined) {}

  static open(workspaceRoot: string, sourceDir: string): HashCache {
    if (!existsSync(join(workspaceRoot, 'nx.json'))) return new HashCache(undefined);
    const name = createHash('sha1').update(sourceDir).digest('hex').slice(0, 16);
    return new HashCache(join(workspaceRoot, CACHE_DIR, `md5-${name}.json`));
  }

  /** Gives each file whose size, mtime and inode are as when it was last hashed here the ETag of its bytes. */
  reuse(files: readonly HashedFile[]): void {
    let saved: Record<string, Entry>;
    try {
      if (!this.file || !existsSync(this.file)) return;
      saved = JSON.parse(readFileSync(this.file, 'utf8')).files ?? {};
    } catch {
      return; // unreadable: start afresh
    }
    for (const f of files) {
      const entry = Object.hasOwn(saved, f.path) ? saved[f.path] : undefined;
      if (entry && entry[0] === f.size && entry[1] === f.mtimeMs && entry[2] === f.ino) {
        f.etags = [`"${entry[3]}"`];
        this.reused++;
      }
    }
    for (const path in saved) if (Object.hasOwn(saved, path)) this.saved++;
  }

  /** Notes that `file.etags` was just computed from its bytes, read from `readAt` on. */
  hashed(file: HashedFile, readAt = Date.now()): void {
    if (readAt - file.mtimeMs < RACY_MS) this.racy.add(file);
    else this.hashedNow = true;
  }

  /**
   * Keeps what is known of `files`, the folder as this run scanned it (files gone or changed since are
   * forgotten); written only when that differs from what was read.
   */
  save(files: readonly HashedFile[]): void {
    if (!this.file || (!this.hashedNow && this.reused === this.saved)) return;
    try {
      mkdirSync(join(this.file, '..'), { recursive: true });
      // Written aside, then renamed over: a deploy of the same folder at the same time reads one whole file or the other.
      const written = `${this.file}.${process.pid}.tmp`;
      const racy = this.racy;
      writeJsonWithList(
        written,
        { version: 1 },
        {
          name: 'files',
          entries: (function* () {
            for (const f of files)
              if (f.etags.length && !racy.has(f))
                yield [f.path, [f.size, f.mtimeMs, f.ino, f.etags[0].slice(1, -1)]] as [string, Entry];
          })(),
        },
      );
      renameSync(written, this.file);
    } catch {
      // a cache that cannot be written costs the next deploy some reads, nothing else
    }
  }
}
