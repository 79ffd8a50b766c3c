import { execFileSync } from 'node:child_process';
import { cpSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from 'test-support';

const root = join(__dirname, '..', '..', '..');

/** This repository's nx in `cwd` (default: the repository), with plugins loaded in Nx's own process as the buildspec has it. */
function nx(args: string[], cwd = root): string {
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('NX_')));
  return execFileSync(process.execPath, [require.resolve('nx/bin/nx', { paths: [root] }), ...args], {
    cwd,
    env: { ...env, NX_DAEMON: 'false', NX_ISOLATE_PLUGINS: 'false' },
    encoding: 'utf8',
  });
}

/** Projects Nx's project graph says a change to `file` affects. */
function affectedBy(file: string): string[] {
  return (JSON.parse(nx(['show', 'projects', '--affected', `--files=${file}`, '--json'])) as string[]).sort();
}

// `workspace` is the root project whose format check covers every file (and lint and typecheck every source file).
it.each([
  ['packages/examples/backend/src/server.ts', ['backend', 'workspace']],
  ['packages/examples/shared-ui/src/index.ts', ['demo', 'docs', 'frontend', 'shared-ui', 'workspace']],
  ['packages/examples/frontend/src/main.ts', ['demo', 'frontend', 'workspace']],
  ['packages/examples/docs/guide/index.html', ['demo', 'docs', 'workspace']],
])('the example projects make the graph real: a change in %s affects %j', (file, projects) => {
  expect(affectedBy(file)).toEqual(projects);
});

it("buildspec.yml's batch build list is the one nx sync keeps for this workspace's apps (frontend, docs)", () => {
  // Throws (exit 1, "out of sync") when a deployable project has no build or a build has no project.
  expect(nx(['sync:check'])).toContain('up to date');
});

describe('this repository runs its own plugin as a user workspace does', () => {
  it('registers it in nx.json, loaded from its TypeScript source, and the apps get every README target from nx-aws-deploy.json', () => {
    for (const app of ['frontend', 'docs']) {
      const { targets } = JSON.parse(nx(['show', 'project', app, '--json']));
      const executors = Object.fromEntries(
        ['deploy', 'invalidate', 'rollback', 'releases', 'promote'].map((t) => [t, targets[t]?.executor]),
      );
      expect([app, executors]).toEqual([
        app,
        {
          deploy: 'nx-aws-deploy:deploy-s3',
          invalidate: 'nx-aws-deploy:invalidate',
          rollback: 'nx-aws-deploy:rollback',
          releases: 'nx-aws-deploy:releases',
          promote: 'nx-aws-deploy:promote',
        },
      ]);
      expect(targets.deploy.options.bucket).toBe(`sites-dev-${app}sitebucket`);
      expect(targets.deploy.dependsOn).toEqual(['build']);
    }
  });

  it("the README's `nx g nx-aws-deploy:pipeline --project=frontend --environment=prod --batch`, run here, leaves nx working and in sync", () => {
    const copy = tempDir('dogfood-');
    // The repository as committed (and as being changed), without what installs and builds leave.
    const tracked = execFileSync('git', ['ls-files', '-co', '--exclude-standard', '-z'], {
      cwd: root,
      encoding: 'utf8',
    });
    for (const path of tracked.split('\0').filter(Boolean))
      cpSync(join(root, path), join(copy, path), { recursive: true });
    symlinkSync(join(root, 'node_modules'), join(copy, 'node_modules'));
    expect(
      nx(
        ['g', 'nx-aws-deploy:pipeline', '--project=frontend', '--environment=prod', '--batch', '--no-interactive'],
        copy,
      ),
    ).toContain('infra/frontend-prod.yml');
    expect(nx(['sync:check'], copy)).toContain('up to date');
    expect(JSON.parse(nx(['show', 'projects', '--json'], copy)).sort()).toEqual(
      JSON.parse(nx(['show', 'projects', '--json'])).sort(),
    );
  });
});
