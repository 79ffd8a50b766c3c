import { execFileSync } from 'node:child_process';
import { join } from 'node:path';

const root = join(__dirname, '..', '..', '..');

function nx(...args: string[]): string {
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('NX_')));
  return execFileSync(process.execPath, [require.resolve('nx/bin/nx', { paths: [root] }), ...args], {
    cwd: root,
    env: { ...env, NX_DAEMON: 'false' },
    encoding: 'utf8',
  });
}

/** Projects Nx's project graph says a change to `file` affects. */
function affectedBy(file: string): string[] {
  return (JSON.parse(nx('show', 'projects', '--affected', `--files=${file}`, '--json')) as string[]).sort();
}

it.each([
  ['packages/examples/backend/src/server.ts', ['backend']],
  ['packages/examples/shared-ui/src/index.ts', ['demo', 'docs', 'frontend', 'shared-ui']],
  ['packages/examples/frontend/src/main.ts', ['demo', 'frontend']],
  ['packages/examples/docs/guide/index.html', ['demo', 'docs']],
])('the example projects make the graph real: a change in %s affects %j', (file, projects) => {
  expect(affectedBy(file)).toEqual(projects);
});

it("buildspec.yml's batch build list is the one nx sync keeps for this workspace's apps (frontend, docs)", () => {
  // Throws (exit 1, "out of sync") when a deployable project has no build or a build has no project.
  expect(nx('sync:check')).toContain('up to date');
});
