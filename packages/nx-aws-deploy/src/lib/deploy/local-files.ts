import { readdirSync, realpathSync, statSync } from 'node:fs';
import { readdir, realpath, stat } from 'node:fs/promises';
import { join, relative, isAbsolute } from 'node:path';
import picomatch from 'picomatch';
import { UserError } from '../util/errors';
import type { FileStat } from './hash-cache';
import type { ObjectHeaders } from '../bucket/store';

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
