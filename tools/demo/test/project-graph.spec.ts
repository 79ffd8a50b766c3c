import { execFileSync } from 'node:child_process';
import { join } from 'node:path';

const root = join(__dirname, '..', '..', '..');

/** Projects Nx's project graph says a change to `file` affects. */
function affectedBy(file: string): string[] {
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('NX_')));
  const output = execFileSync(
    process.execPath,
    [require.resolve('nx/bin/nx', { paths: [root] }), 'show', 'projects', '--affected', `--files=${file}`, '--json'],
    {
      cwd: root,
      env: { ...env, NX_DAEMON: 'false' },
      encoding: 'utf8',
    },
  );
  return (JSON.parse(output) as string[]).sort();
}

it.each([
  ['packages/examples/backend/src/server.ts', ['backend']],
  ['packages/examples/shared-ui/src/index.ts', ['demo', 'frontend', 'shared-ui']],
  ['packages/examples/frontend/src/main.ts', ['demo', 'frontend']],
])('the example projects make the graph real: a change in %s affects %j', (file, projects) => {
  expect(affectedBy(file)).toEqual(projects);
});
