import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { readdir, readFile, realpath, stat } from 'node:fs/promises';
import { join, relative, sep, isAbsolute } from 'node:path';
import picomatch from 'picomatch';
import { glob } from 'tinyglobby';
import { UserError } from '../util/errors';
import { forEachLimit } from '../util/concurrency';

/** Part size of our multipart uploads: the aws CLI's default, so ETags of its uploads match ours too. */
export const PART_SIZE = 8 * 1024 * 1024;
/** Part sizes other tools use (lib-storage's 5 MiB default, 16 MiB): a file uploaded by them is still recognised. */
const KNOWN_PART_SIZES = [PART_SIZE, 5 * 1024 * 1024, 16 * 1024 * 1024];

export interface LocalFile {
  /** Path relative to sourceDir with `/` separators: the key below the prefix. */
  path: string;
  absolutePath: string;
  size: number;
  /** ETags S3 would give this content: the MD5 for a single PUT, and multipart ETags for the known part sizes. */
  etags: string[];
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

/**
 * Lists the files to deploy. Dotfiles (`.env`, `.git/…`) are left out unless an include pattern names them
 * (`.well-known/**`); symlinks are followed only when they stay inside the workspace, and one that
 * leaves it fails the deploy rather than being skipped in silence.
 */
export async function scanSourceDir(options: ScanOptions): Promise<LocalFile[]> {
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
  const paths = (
    await glob(['**'], {
      cwd: sourceDir,
      dot: true,
      onlyFiles: true,
      followSymbolicLinks: true,
      expandDirectories: false,
    })
  )
    .map((p) => p.split(sep).join('/'))
    .filter((p) => included(p) && !excluded(p))
    .sort();
  const files: LocalFile[] = [];
  await forEachLimit(paths, 16, async (path) => {
    if (path.includes('\uFFFD')) {
      throw new UserError(
        `File name ${await rawName(sourceDir, path)} in ${sourceDir} is not valid UTF-8, and S3 keys must be: rename the file (or exclude it with the "exclude" option).`,
      );
    }
    const absolutePath = join(sourceDir, path);
    // Every file, not only links: a file inside a linked folder is no link itself.
    const target = await realpath(absolutePath).catch(() => undefined);
    if (!target)
      throw new UserError(`${absolutePath} is a broken symlink: remove it or exclude it with the "exclude" option.`);
    if (!isInside(realRoot, target)) {
      throw new UserError(
        `${absolutePath} is a symlink to ${target}, outside the workspace; refusing to upload it. Remove it or exclude it with the "exclude" option.`,
      );
    }
    const size = (await stat(absolutePath)).size;
    files.push({ path, absolutePath, size, etags: await contentEtags(absolutePath, size) });
  });
  return files.sort((a, b) => (a.path < b.path ? -1 : 1));
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

/** The ETags S3 would report for this content (see LocalFile.etags). */
export async function contentEtags(file: string, size: number): Promise<string[]> {
  if (size <= KNOWN_PART_SIZES[1])
    return [
      `"${createHash('md5')
        .update(await readFile(file))
        .digest('hex')}"`,
    ];
  const whole = createHash('md5');
  const parts = KNOWN_PART_SIZES.map((partSize) => ({
    partSize,
    current: createHash('md5'),
    filled: 0,
    md5s: [] as Buffer[],
  }));
  for await (const chunk of createReadStream(file, { highWaterMark: 1024 * 1024 }) as AsyncIterable<Buffer>) {
    whole.update(chunk);
    for (const p of parts) {
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
  const etags = [`"${whole.digest('hex')}"`];
  for (const p of parts) {
    if (p.filled > 0) p.md5s.push(p.current.digest());
    if (p.md5s.length > 1)
      etags.push(`"${createHash('md5').update(Buffer.concat(p.md5s)).digest('hex')}-${p.md5s.length}"`);
  }
  return etags;
}
