import { UserError } from '../../util/errors';
import { collectSooner } from '../../util/memory';
import { sharedHeadersFor, type compileHeaderRules } from '../headers';
import { scanSourceDir, type LocalFile } from '../local-files';
import type { DeployOptions } from '../options';
import { checkKeyLengths, type PlannedFile } from '../plan';

/**
 * Phase 1, before any request: the build folder walked once without reading a file (symlink, cycle, dotfile and
 * special-file rules), refused when it is no site (empty, no index.html, keys S3 would refuse), and each file
 * given the headers it goes up with.
 */
export async function scan(
  options: DeployOptions,
  prefix: string,
  rulesFor: ReturnType<typeof compileHeaderRules>,
  log: (line: string) => void,
): Promise<(LocalFile & PlannedFile)[]> {
  const { files, skipped } = await scanSourceDir(options);
  if (skipped.length) {
    const one = skipped.length === 1;
    log(
      `Warning: skipped ${skipped.length} entr${one ? 'y' : 'ies'} in ${options.sourceDir} that ${one ? 'is' : 'are'} not a regular file (FIFO, socket or device): ${skipped.join(', ')}.`,
    );
  }
  if (files.length === 0)
    throw new UserError(
      `sourceDir ${options.sourceDir} has no files to deploy; the bucket was left as it is. Build the project first, or check "include"/"exclude".`,
    );
  if (!options.allowNoIndex && !files.some((f) => f.path === 'index.html')) {
    throw new UserError(
      `sourceDir ${options.sourceDir} has no index.html; refusing to deploy a site without one. Set "allowNoIndex": true if that is intended.`,
    );
  }
  checkKeyLengths(prefix, files, options.sourceDir);
  collectSooner(files.length);
  const headersOf = sharedHeadersFor(rulesFor);
  // Set in place: one record per file, however many files; from here on they are what the plan takes.
  for (const f of files) f.headers = headersOf(f.path);
  return files as (LocalFile & PlannedFile)[];
}
