import { createHash } from 'node:crypto';
import {
  closeSync,
  createReadStream,
  openSync,
  readdirSync,
  readFileSync,
  readSync,
  realpathSync,
  statSync,
} from 'node:fs';
import { readdir, readFile, realpath, stat } from 'node:fs/promises';
import { join, relative, isAbsolute } from 'node:path';
import picomatch from 'picomatch';
import { UserError } from '../util/errors';
import type { FileStat } from './hash-cache';
import type { ObjectHeaders } from './headers';

/** Part size of our multipart uploads: the aws CLI's default, so ETags of its uploads match ours too. */
export const PART_SIZE = 8 * 1024 * 1024;

/**
 * One record per file for the whole deploy (tens of thousands of them): its path on disk is sourceDir joined
 * with `path` (see onDisk), not kept.
 */
export interface LocalFile extends FileStat {
  /** Path relative to sourceDir with `/` separators: the key below the prefix. */
  path: string;
  /**
   * ETags S3 would give this content, once hashed (see deploy.ts: only files the bucket has, or too large for one
   * PUT): the MD5 of a single PUT, and multipart ETags where the bucket has one.
   */
  etags: string[];
  /** The headers it goes up with, set in place by the deploy from its rules. */
  headers?: ObjectHeaders;
}

/** Where a scanned file is: below sourceDir as scanned (a symlink's own path, not its target's). */
export function onDisk(sourceDir: string, file: { path: string }): string {
  return join(sourceDir, file.path);
}

export interface ScanOptions {
  workspaceRoot: string;
  sourceDir: string;
  include?: string[];
  exclude?: string[];
  /** Allow a sourceDir whose real path is outside the workspace. */
  allowOutsideWorkspace?: boolean;
}

function isInside(parent: string, child: string): boolean {
  const rel = relative(parent, child);
  return rel === '' || (!rel.startsWith('..') && !isAbsolute(rel));
}

export interface ScanResult {
  files: LocalFile[];
  /** FIFOs, sockets and devices: not files S3 can hold, left out with a warning. */
  skipped: string[];
}

/**
 * Lists the files to deploy, without reading them. Dotfiles (`.env`, `.git/…`) are left out unless an include pattern names them
 * (`.well-known/**`); symlinks are followed only when they stay inside the workspace, and one that
 * leaves it fails the deploy rather than being skipped in silence, as does a folder symlink that leads back
 * to a folder above it (a cycle).
 */
export async function scanSourceDir(options: ScanOptions): Promise<ScanResult> {
  const { sourceDir, workspaceRoot } = options;
  const info = await stat(sourceDir).catch(() => undefined);
  if (!info)
    throw new UserError(
      `sourceDir ${sourceDir} does not exist: build the project first, or set the "sourceDir" option to its output folder.`,
    );
  if (!info.isDirectory())
    throw new UserError(
      `sourceDir ${sourceDir} is not a folder: set the "sourceDir" option to the build output folder.`,
    );
  const realRoot = await realpath(workspaceRoot);
  const realSource = await realpath(sourceDir);
  if (!options.allowOutsideWorkspace && !isInside(realRoot, realSource)) {
    throw new UserError(
      `sourceDir ${sourceDir} resolves to ${realSource}, outside the workspace ${realRoot}; refusing to deploy it. Point "sourceDir" inside the workspace.`,
    );
  }
  const included = picomatch(options.include?.length ? options.include : ['**'], { dot: false });
  const excluded = options.exclude?.length ? picomatch(options.exclude, { dot: true }) : () => false;
  const found = await walk({
    sourceDir,
    realSource,
    realRoot: options.allowOutsideWorkspace ? undefined : realRoot,
    wanted: (path) => included(path) && !excluded(path),
    excludedFolder: (path) => excluded(path) || excluded(`${path}/`),
  });
  const { files } = found;
  return { files: files.sort((a, b) => (a.path < b.path ? -1 : 1)), skipped: found.skipped.sort() };
}

interface WalkOptions {
  sourceDir: string;
  realSource: string;
  /** Symlinks must resolve inside it; undefined: anywhere. */
  realRoot?: string;
  wanted: (path: string) => boolean;
  excludedFolder: (path: string) => boolean;
}

function realpathOrUndefined(path: string): string | undefined {
  try {
    return realpathSync(path);
  } catch {
    return undefined;
  }
}

/**
 * One pass over the folder: a stat per file, a realpath only per symlink. Our own walk rather than a glob
 * library's, which drops FIFOs and sockets without a word and follows a folder symlink cycle once.
 */
async function walk(options: WalkOptions): Promise<{ files: LocalFile[]; skipped: string[] }> {
  const files: LocalFile[] = [];
  const skipped: string[] = [];
  const { sourceDir } = options;
  const visit = async (dir: string, realDir: string, rel: string): Promise<void> => {
    // Synchronous calls, one folder at a time: a stat from the thread pool costs ten times one made here, and
    // yielding between folders keeps requests in flight (the listing, the lease) moving.
    await new Promise((resolve) => setImmediate(resolve));
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = rel ? `${rel}/${entry.name}` : entry.name;
      const absolutePath = join(dir, entry.name);
      let real = join(realDir, entry.name);
      let kind: 'folder' | 'file' | 'special' = entry.isDirectory() ? 'folder' : entry.isFile() ? 'file' : 'special';
      if (entry.isSymbolicLink()) {
        const target = realpathOrUndefined(absolutePath);
        const followed = target && statSync(absolutePath);
        kind = !followed ? 'file' : followed.isDirectory() ? 'folder' : followed.isFile() ? 'file' : 'special';
        if (kind === 'folder' ? options.excludedFolder(path) : !options.wanted(path)) continue;
        if (!target)
          throw new UserError(
            `${absolutePath} is a broken symlink: remove it or exclude it with the "exclude" option.`,
          );
        if (options.realRoot && !isInside(options.realRoot, target)) {
          throw new UserError(
            `${absolutePath} is a symlink to ${target}, outside the workspace; refusing to upload it. Remove it or exclude it with the "exclude" option.`,
          );
        }
        if (kind === 'folder' && isInside(target, realDir)) {
          throw new UserError(
            `${absolutePath} is a symlink to ${target}, a folder that contains it: following it would never end. Remove it or exclude it with the "exclude" option; nothing was uploaded.`,
          );
        }
        real = target;
      }
      if (kind === 'folder') {
        if (!options.excludedFolder(path)) await visit(absolutePath, real, path);
        continue;
      }
      if (!options.wanted(path)) continue;
      if (path.includes('\uFFFD')) {
        throw new UserError(
          `File name ${await rawName(sourceDir, path)} in ${sourceDir} is not valid UTF-8, and S3 keys must be: rename the file (or exclude it with the "exclude" option).`,
        );
      }
      if (kind === 'special') skipped.push(path);
      else {
        const { size, mtimeMs, ino } = statSync(absolutePath);
        files.push({ path, size, mtimeMs, ino, etags: [], headers: undefined });
      }
    }
  };
  await visit(sourceDir, options.realSource, '');
  return { files, skipped };
}

/** The name as its bytes are on disk, invalid ones as \xNN, for a message a person can match to the file. */
async function rawName(sourceDir: string, path: string): Promise<string> {
  const parts = path.split('/');
  const parent = join(sourceDir, ...parts.slice(0, -1).map((p) => (p.includes('\uFFFD') ? '' : p)));
  const names = await readdir(parent, { encoding: 'buffer' }).catch(() => [] as Buffer[]);
  const raw = names.find((name) => name.toString('utf8') === parts[parts.length - 1]);
  if (!raw) return JSON.stringify(path);
  const escaped = [...raw]
    .map((byte) =>
      byte >= 0x20 && byte < 0x7f ? String.fromCharCode(byte) : `\\x${byte.toString(16).padStart(2, '0')}`,
    )
    .join('');
  return `"${[...parts.slice(0, -1), escaped].join('/')}"`;
}

/** Files up to this size are read in one synchronous call: for the small files of a site, several times cheaper
 * than fs/promises (a FileHandle's open, stat, read and close each a round trip to the thread pool). */
const READ_AT_ONCE = 256 * 1024;

/** A whole file's bytes, read the cheapest way for its size. */
export async function readWhole(file: string, size: number): Promise<Buffer> {
  return size <= READ_AT_ONCE ? readFileSync(file) : readFile(file);
}

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
