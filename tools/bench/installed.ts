import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import type { LocalAwsProcess } from './local-aws-process';

export const repoRoot = join(__dirname, '..', '..');
const plugin = join(repoRoot, 'packages', 'nx-aws-deploy');

/** The version a package has in this repository's lockfile-pinned install. */
function installedVersion(name: string): string {
  return JSON.parse(readFileSync(join(repoRoot, 'node_modules', name, 'package.json'), 'utf8')).version;
}

/** The peers as the bench installs them (pinned here so every run compares the same versions). */
export const PEERS = { 's3-sync-client': '4.3.1', 's3-spa-upload': '2.1.5' } as const;

/**
 * A user's workspace in `dir`: nx and the plugin as published (built, `npm pack`ed, installed from the tarball),
 * registered in nx.json as `nx add` does, the peers from the registry (npm's cache when it has them), a project
 * `site` whose `deploy` target is the deploy-s3 executor on `apps/site/dist`, and the runner scripts of the peers
 * that have no command.
 */
export function installUserWorkspace(dir: string): void {
  execFileSync('npm', ['run', 'build', '--silent'], { cwd: plugin, stdio: 'ignore' });
  execFileSync('npm', ['pack', join(repoRoot, 'dist', 'packages', 'nx-aws-deploy'), '--pack-destination', dir], {
    stdio: 'ignore',
  });
  const tarball = readdirSync(dir).find((f) => f.endsWith('.tgz'))!;
  writeFileSync(
    join(dir, 'package.json'),
    JSON.stringify({
      name: 'bench-user',
      private: true,
      devDependencies: {
        nx: installedVersion('nx'),
        'nx-aws-deploy': `file:./${tarball}`,
        '@aws-sdk/client-s3': installedVersion('@aws-sdk/client-s3'),
        ...PEERS,
      },
    }),
  );
  // Registered as `nx add nx-aws-deploy` registers it: Nx then loads the plugin's entry for every command.
  writeFileSync(join(dir, 'nx.json'), JSON.stringify({ plugins: ['nx-aws-deploy'] }));
  mkdirSync(join(dir, 'apps', 'site'), { recursive: true });
  writeFileSync(
    join(dir, 'apps', 'site', 'project.json'),
    JSON.stringify({
      name: 'site',
      root: 'apps/site',
      targets: {
        deploy: {
          executor: 'nx-aws-deploy:deploy-s3',
          options: { sourceDir: 'apps/site/dist', bucket: 'set-on-the-command-line', maxDeletes: 1_000_000 },
        },
        // Nx alone: what any nx command costs before its task starts.
        noop: { executor: 'nx:noop' },
      },
    }),
  );
  for (const runner of readdirSync(join(__dirname, 'runners')))
    copyFileSync(join(__dirname, 'runners', runner), join(dir, runner));
  execFileSync('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', '--silent'], {
    cwd: dir,
    stdio: 'ignore',
  });
}

/** The variables the generated buildspec sets for every command of a build. */
export function buildspecVariables(): Record<string, string> {
  const template = join(plugin, 'src', 'generators', 'pipeline', 'files', 'buildspec', 'buildspec.yml');
  return parse(readFileSync(template, 'utf8')).env.variables;
}

/** A CodeBuild build's shell: no variables of the outer npm run or Nx; CI and the buildspec's; the local AWS's endpoint. */
export function userEnv(local: LocalAwsProcess): NodeJS.ProcessEnv {
  const outer = Object.entries(process.env).filter(([k]) => !/^(npm_|NX_|NODE_OPTIONS$)/i.test(k));
  return { ...Object.fromEntries(outer), ...local.env, ...buildspecVariables(), CI: 'true' };
}
