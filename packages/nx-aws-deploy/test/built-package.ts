import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';

/**
 * The plugin as it is published (`npm run build`: tsc, the assets, the Lambda's zip), and a node_modules in which
 * `nx-aws-deploy` is that build. Test workspaces and CodeBuild's clones link that node_modules, so that nx and the
 * command load JavaScript as from a user's install, rather than this repository's TypeScript through swc at every
 * start (half a second of CPU each, hundreds of times a run).
 */
const PACKAGE = join(__dirname, '..');
const REPO = join(PACKAGE, '..', '..');
const LAMBDA = join(REPO, 'packages', 'pipeline-invalidate-lambda');
export const BUILT_PACKAGE = join(REPO, 'dist', 'packages', 'nx-aws-deploy');
/** The installed command of the build. */
export const BUILT_CLI = join(BUILT_PACKAGE, 'bin', 'nx-aws-deploy.js');
/** This repository's node_modules, with the build as `nx-aws-deploy`. */
export const TEST_NODE_MODULES = join(REPO, 'dist', 'test-workspace', 'node_modules');
const SOURCES_HASH = join(BUILT_PACKAGE, '.sources-hash');

function filesBelow(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? filesBelow(join(dir, e.name)) : [join(dir, e.name)],
  );
}

/** What the build is made from, hashed: a build of the same sources is not made again. */
function sourcesHash(): string {
  const hash = createHash('sha256');
  const inputs = [
    ...['src', 'bin'].flatMap((d) => filesBelow(join(PACKAGE, d))).filter((f) => !f.endsWith('.spec.ts')),
    ...['package.json', 'executors.json', 'generators.json', 'tsconfig.json', 'tsconfig.lib.json'].map((f) =>
      join(PACKAGE, f),
    ),
    ...['src', 'scripts'].flatMap((d) => filesBelow(join(LAMBDA, d))).filter((f) => !f.endsWith('.spec.ts')),
    join(REPO, 'tsconfig.base.json'),
  ].sort();
  for (const file of inputs) hash.update(relative(REPO, file)).update('\0').update(readFileSync(file));
  return hash.digest('hex');
}

/** Builds the package unless its build is of the same sources; links the test node_modules to it. */
export function prepareBuiltPackage(log: (line: string) => void = console.log): void {
  const hash = sourcesHash();
  if (!existsSync(SOURCES_HASH) || readFileSync(SOURCES_HASH, 'utf8') !== hash) {
    log('Building nx-aws-deploy for the tests (npm run build), as it is published…');
    rmSync(BUILT_PACKAGE, { recursive: true, force: true });
    execFileSync('npm', ['run', 'build', '--silent'], { cwd: PACKAGE, stdio: ['ignore', 'ignore', 'inherit'] });
    writeFileSync(SOURCES_HASH, hash);
  }
  linkNodeModules();
}

/** Every entry of the repository's node_modules, linked; `nx-aws-deploy` (and its bin) the build. */
function linkNodeModules(): void {
  const repoModules = join(REPO, 'node_modules');
  rmSync(dirname(TEST_NODE_MODULES), { recursive: true, force: true });
  mkdirSync(join(TEST_NODE_MODULES, '.bin'), { recursive: true });
  for (const name of readdirSync(repoModules)) {
    if (name === '.bin') continue;
    symlinkSync(name === 'nx-aws-deploy' ? BUILT_PACKAGE : join(repoModules, name), join(TEST_NODE_MODULES, name));
  }
  const bins = join(repoModules, '.bin');
  for (const name of readdirSync(bins)) {
    // Relative links (../nx/dist/bin/nx.js) read from here land in the linked packages, the build among them.
    const target = readlinkSync(join(bins, name));
    const inRepo = resolve(bins, target);
    symlinkSync(name === 'nx-aws-deploy' ? target : inRepo, join(TEST_NODE_MODULES, '.bin', name));
  }
}
