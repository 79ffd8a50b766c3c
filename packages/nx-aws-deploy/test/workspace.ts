import { spawn } from 'node:child_process';
import { mkdirSync, readFileSync, symlinkSync, writeFileSync, utimesSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { parse } from 'yaml';
import { BUILDSPEC_TEMPLATE_FILE } from '../src/generators/pipeline/generator';
import { TEST_NODE_MODULES } from './built-package';
import { filesBelow } from './bucket';
import { tempDir } from 'test-support';

/** Root of this repository. */
export const repoRoot = join(__dirname, '..', '..', '..');

/**
 * This process's environment without what the outer `nx run-many` (NX_*) and `npm run` (npm_*) export: they
 * would point a child nx or npm at this repository instead of the workspace under test.
 */
export function outsideEnv(): Record<string, string> {
  return Object.fromEntries(
    Object.entries(process.env).filter(([k, v]) => !k.startsWith('NX_') && !k.startsWith('npm_') && v !== undefined),
  ) as Record<string, string>;
}

/**
 * The variables the generated buildspec gives every nx command in CodeBuild (no daemon, no Nx Cloud, plugins in
 * Nx's own process), and CI=true: the tests run nx as the pipeline does.
 */
export const NX_CI_ENV: Record<string, string> = {
  ...parse(readFileSync(BUILDSPEC_TEMPLATE_FILE, 'utf8')).env.variables,
  CI: 'true',
};

export interface TestWorkspace {
  root: string;
  /** Runs the workspace's nx with the given arguments and extra environment. */
  nx(args: string[], env?: Record<string, string>): Promise<{ code: number; stdout: string; stderr: string }>;
  /** Writes files below the workspace root. */
  write(files: Record<string, string | Buffer>): void;
  /** Gives every file below `dir` a new mtime, as a CI rebuild that produced the same bytes would. */
  touchAll(dir: string): void;
}

/**
 * A real Nx workspace on disk with one project per entry of `projects` (its project.json targets);
 * node_modules links to this repository's, with the plugin as built for publishing (see built-package.ts), so
 * that `nx-aws-deploy:*` resolves to the plugin under test as a user's install would.
 */
export function createWorkspace(projects: Record<string, { targets: Record<string, unknown> }>): TestWorkspace {
  const root = tempDir('nx-aws-deploy-ws-');
  writeFileSync(join(root, 'package.json'), JSON.stringify({ name: 'test-workspace', private: true }));
  writeFileSync(join(root, 'nx.json'), JSON.stringify({ useDaemonProcess: false }));
  symlinkSync(TEST_NODE_MODULES, join(root, 'node_modules'));
  for (const [name, { targets }] of Object.entries(projects)) {
    mkdirSync(join(root, name), { recursive: true });
    writeFileSync(join(root, name, 'project.json'), JSON.stringify({ name, root: name, targets }));
  }
  const write = (files: Record<string, string | Buffer>) => {
    for (const [path, data] of Object.entries(files)) {
      mkdirSync(dirname(join(root, path)), { recursive: true });
      writeFileSync(join(root, path), data);
    }
  };
  const touchAll = (dir: string) => {
    const later = new Date(Date.now() + 60_000);
    for (const file of filesBelow(join(root, dir))) utimesSync(file, later, later);
  };
  const nx = (args: string[], env: Record<string, string> = {}) =>
    new Promise<{ code: number; stdout: string; stderr: string }>((resolve, reject) => {
      const inherited = outsideEnv();
      const child = spawn(
        process.execPath,
        [require.resolve('nx/bin/nx', { paths: [repoRoot] }), ...args, '--outputStyle=static'],
        {
          cwd: root,
          env: {
            ...inherited,
            ...NX_CI_ENV,
            NX_SKIP_NX_CACHE: 'true',
            FORCE_COLOR: '0',
            ...env,
          },
          stdio: ['ignore', 'pipe', 'pipe'],
        },
      );
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d) => (stdout += d));
      child.stderr.on('data', (d) => (stderr += d));
      child.on('error', reject);
      child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
    });
  return { root, nx, write, touchAll };
}
