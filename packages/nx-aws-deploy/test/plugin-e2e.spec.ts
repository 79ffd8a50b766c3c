import { execFile, execFileSync } from 'node:child_process';
import { promisify } from 'node:util';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startLocalAws, type LocalAwsHarness } from 'local-aws';
import { repoRoot } from './workspace';

/**
 * The plugin as users install it: built to dist, resolved as `nx-aws-deploy` from node_modules by a real
 * workspace that registers it with `nx g nx-aws-deploy:init`, infers the deploy target, and deploys.
 */
let local: LocalAwsHarness;
let ws: string;

/** Asynchronous: the local AWS that the deploy talks to answers from this same process. */
const nx = async (...args: string[]) => {
  const env = { ...Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('NX_'))), ...local.env, NX_DAEMON: 'false', NX_NO_CLOUD: 'true', NX_TUI: 'false', CI: 'true' };
  return (await promisify(execFile)(process.execPath, [require.resolve('nx/bin/nx', { paths: [repoRoot] }), ...args], { cwd: ws, env })).stdout;
};

beforeAll(async () => {
  local = await startLocalAws();
  const dist = join(repoRoot, 'dist', 'packages', 'nx-aws-deploy');
  rmSync(dist, { recursive: true, force: true });
  execFileSync('npm', ['run', 'build', '--silent'], { cwd: join(repoRoot, 'packages', 'nx-aws-deploy'), stdio: 'ignore' });
  ws = mkdtempSync(join(tmpdir(), 'plugin-e2e-'));
  // node_modules as an install would lay it out: every package of the repository's, and the plugin from dist.
  mkdirSync(join(ws, 'node_modules'));
  for (const entry of readdirSync(join(repoRoot, 'node_modules'))) {
    if (entry === 'nx-aws-deploy' || entry === '.bin') continue;
    symlinkSync(join(repoRoot, 'node_modules', entry), join(ws, 'node_modules', entry));
  }
  symlinkSync(dist, join(ws, 'node_modules', 'nx-aws-deploy'));
  writeFileSync(join(ws, 'package.json'), JSON.stringify({ name: 'e2e', private: true, devDependencies: { 'nx-aws-deploy': '0.1.0' } }));
  writeFileSync(join(ws, 'nx.json'), JSON.stringify({ useDaemonProcess: false }));
  mkdirSync(join(ws, 'apps', 'web', 'public'), { recursive: true });
  writeFileSync(join(ws, 'apps', 'web', 'public', 'index.html'), '<h1>web</h1>');
  writeFileSync(join(ws, 'apps', 'web', 'project.json'), JSON.stringify({
    name: 'web', root: 'apps/web',
    targets: { build: { executor: 'nx:run-commands', outputs: ['{workspaceRoot}/dist/web'], options: { command: 'mkdir -p dist/web && cp apps/web/public/* dist/web/' } } },
  }));
  await local.cli(['s3', 'mb', 's3://e2e-web-bucket']);
}, 120_000);

afterAll(() => local.stop());

it('nx g nx-aws-deploy:init registers the built plugin, which infers deploy and invalidate; nx run web:deploy ships the build', async () => {
  await nx('g', 'nx-aws-deploy:init', '--project=web', '--bucket=e2e-web-bucket', '--no-interactive');
  const nxJson = JSON.parse(readFileSync(join(ws, 'nx.json'), 'utf8'));
  expect(nxJson.plugins).toEqual([expect.objectContaining({ plugin: 'nx-aws-deploy' })]);
  const project = JSON.parse(await nx('show', 'project', 'web', '--json'));
  expect(project.targets.deploy).toMatchObject({ executor: 'nx-aws-deploy:deploy-s3', dependsOn: ['build'], options: { bucket: 'e2e-web-bucket' } });
  expect(project.targets.invalidate).toMatchObject({ executor: 'nx-aws-deploy:invalidate' });
  await nx('g', 'nx-aws-deploy:init', '--no-interactive');
  expect(JSON.parse(readFileSync(join(ws, 'nx.json'), 'utf8'))).toEqual(nxJson);

  const output = await nx('run', 'web:deploy', '--outputStyle=static');
  expect(output).toMatch(/uploaded\s+1/);
  expect((await local.cli(['s3', 'cp', 's3://e2e-web-bucket/index.html', '-'])).stdout).toBe('<h1>web</h1>');
});
