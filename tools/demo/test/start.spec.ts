import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { getWithHost } from 'local-aws';

const root = join(__dirname, '..', '..', '..');

it('`npm start` builds and deploys the frontend to the local AWS, serves it through the edge, and Ctrl-C stops everything', async () => {
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('NX_') && !k.startsWith('AWS_')));
  const child = spawn(join(root, 'node_modules', '.bin', 'tsx'), [join(root, 'tools', 'demo', 'start.ts')], {
    cwd: root,
    env: { ...env, LOCAL_AWS_PORT: '0', LOCAL_AWS_DATA_DIR: mkdtempSync(join(tmpdir(), 'demo-data-')), CI: 'true', NX_DAEMON: 'false' },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  let output = '';
  const exited = once(child, 'exit');
  try {
    await new Promise<void>((resolve, reject) => {
      const onData = (d: Buffer) => {
        output += d;
        if (output.includes('Press Ctrl-C to stop.')) resolve();
      };
      child.stdout.on('data', onData);
      child.stderr.on('data', (d) => (output += d));
      void exited.then(() => reject(new Error(`npm start exited early:\n${output}`)));
      // Fail (and so reach the finally below) well before jest's own timeout would abandon this test.
      setTimeout(() => reject(new Error(`npm start printed no URL within 180 s:\n${output}`)), 180_000).unref();
    });
    await checkServedSite(output);
    process.kill(-child.pid!, 'SIGINT'); // as Ctrl-C does: to the whole process group
    let timer: NodeJS.Timeout | undefined;
    const stopped = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`npm start did not stop on SIGINT:\n${output}`)), 20_000)));
    const [code] = await Promise.race([exited, stopped]).finally(() => clearTimeout(timer));
    expect(code).toBe(0);
    await expectPortClosed(new URL(/Open (http:\/\/\S+?)\//.exec(output)![1]).port);
  } finally {
    // Never leave the demo running (it would keep jest alive), whatever failed above.
    try {
      process.kill(-child.pid!, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  expect(output).not.toContain('npm start failed');
}, 240_000);

/** The deployed site through the local edge: the app, its immutable assets, a deep SPA route, Storybook. */
async function checkServedSite(output: string): Promise<void> {
  expect(output).toMatch(/uploaded\s+\d+/);
  const site = /Open (http:\/\/[a-z0-9]+\.cloudfront\.localhost:\d+)\//.exec(output)![1];
  const { host, port } = new URL(site);
  const endpoint = `http://127.0.0.1:${port}`;

  const get = async (url: string, hostHeader: string) => {
    const response = await getWithHost(url, hostHeader);
    return { ...response, body: response.body.toString('utf8') };
  };
  const home = await get(`${endpoint}/`, host);
  expect(home.status).toBe(200);
  expect(home.body).toContain('<div id="app"></div>');
  const script = /src="(\/assets\/index-[^"]+\.js)"/.exec(home.body)![1];
  const asset = await get(`${endpoint}${script}`, host);
  expect(asset.status).toBe(200);
  expect(asset.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
  expect((await get(`${endpoint}/pricing`, host)).body).toContain('<div id="app"></div>');
  expect((await get(`${endpoint}/storybook`, host)).headers.get('location')).toBe('/storybook/');
  expect((await get(`${endpoint}/storybook/`, host)).body).toContain('storybook');

}

async function expectPortClosed(port: string): Promise<void> {
  const refused = await new Promise<boolean>((resolve) => {
    const socket = connect(Number(port), '127.0.0.1');
    socket.on('connect', () => (socket.destroy(), resolve(false)));
    socket.on('error', () => resolve(true));
  });
  expect(refused).toBe(true);
}
