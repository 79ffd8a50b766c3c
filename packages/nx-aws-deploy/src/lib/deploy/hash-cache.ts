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
  private readonly known: Map<string, [number, number, number, string]>;
  private readonly seen = new Map<string, [number, number, number, string]>();
  private changed = false;

  private constructor(private readonly file: string | undefined) {
    let saved: Record<string, [number, number, number, string]> = {};
    try {
      if (file && existsSync(file)) saved = JSON.parse(readFileSync(file, 'utf8')).files ?? {};
    } catch {
      // unreadable: start afresh
    }
    this.known = new Map(Object.entries(saved));
  }

  static open(workspaceRoot: string, sourceDir: string): HashCache {
    if (!existsSync(join(workspaceRoot, 'nx.json'))) return new HashCache(undefined);
    const name = createHash('sha1').update(sourceDir).digest('hex').slice(0, 16);
    return new HashCache(join(workspaceRoot, CACHE_DIR, `md5-${name}.json`));
  }

  md5(file: FileStat): string | undefined {
    const entry = this.known.get(file.path);
    if (!entry || entry[0] !== file.size || entry[1] !== file.mtimeMs || entry[2] !== file.ino) return undefined;
    this.seen.set(file.path, entry);
    return entry[3];
  }

  remember(file: FileStat, md5: string, hashedAt = Date.now()): void {
    if (hashedAt - file.mtimeMs < RACY_MS) return;
    this.seen.set(file.path, [file.size, file.mtimeMs, file.ino, md5]);
    this.changed = true;
  }

  /** Keeps what this run saw (files gone from the folder are forgotten); written only when something changed. */
  save(): void {
    if (!this.file || (!this.changed && this.seen.size === this.known.size)) return;
    try {
      mkdirSync(join(this.file, '..'), { recursive: true });
      // Written aside, then renamed over: a deploy of the same folder at the same time reads one whole file or the other.
      const written = `${this.file}.${process.pid}.tmp`;
      writeJsonWithList(written, { version: 1 }, { name: 'files', entries: this.seen });
      renameSync(written, this.file);
    } catch {
      // a cache that cannot be written costs the next deploy some reads, nothing else
    }
  }
}
