import { execFileSync, spawn } from 'node:child_process';
import { once } from 'node:events';
import { cpSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { dirname, join } from 'node:path';
import { getWithHost } from 'local-aws';
import type { Page } from 'playwright-core';
import { launchChromium } from 'test-support/browser';
import { tempDir } from 'test-support';

const root = join(__dirname, '..', '..', '..');

/** The URL `npm start` prints for an app's distribution on the local edge. */
const siteUrl = (output: string, app: string) =>
  new RegExp(`^ +${app} +(http://[a-z0-9]+\\.cloudfront\\.localhost:\\d+)/$`, 'm').exec(output)![1];

it('`npm start` builds and deploys both apps to the local AWS, serves each through its own distribution on the edge, and Ctrl-C stops everything', async () => {
  const env = Object.fromEntries(
    Object.entries(process.env).filter(([k]) => !k.startsWith('NX_') && !k.startsWith('AWS_')),
  );
  // As `npm start` runs it: one node process with tsx's loader (tsx's CLI wrapper would relay Ctrl-C itself).
  const child = spawn(process.execPath, ['--import', 'tsx', join(root, 'tools', 'demo', 'start.ts')], {
    cwd: root,
    env: { ...env, LOCAL_AWS_PORT: '0', LOCAL_AWS_DATA_DIR: tempDir('demo-data-'), CI: 'true', NX_DAEMON: 'false' },
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
    expect(output).toMatch(/uploaded\s+\d+/);
    await checkServedSite(siteUrl(output, 'frontend'));
    await checkServedDocs(siteUrl(output, 'docs'));
    await checkAtomicRollback(output, env);
    await checkPreview(output, env);
    expect(output).toContain(`storybook  ${siteUrl(output, 'frontend')}/storybook/`);
    await checkInBrowser(siteUrl(output, 'frontend'));
    process.kill(-child.pid!, 'SIGINT'); // as Ctrl-C does: to the whole process group
    let timer: NodeJS.Timeout | undefined;
    const stopped = new Promise<never>(
      (_, reject) =>
        (timer = setTimeout(() => reject(new Error(`npm start did not stop on SIGINT:\n${output}`)), 20_000)),
    );
    const [code] = await Promise.race([exited, stopped]).finally(() => clearTimeout(timer));
    expect(code).toBe(0);
    await expectPortClosed(new URL(siteUrl(output, 'frontend')).port);
  } finally {
    // Never leave the demo running (it would keep jest alive), whatever failed above.
    try {
      process.kill(-child.pid!, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  expect(output).not.toContain('npm start failed');
}, 420_000);

const SCREENSHOTS = join(root, 'test-results', 'screenshots');

/**
 * What a person sees: a headless Chromium from npm (see launchChromium), driven by playwright-core, loads the
 * site, a deep SPA route, client-side navigation, Storybook and a story through the local edge, with the dev
 * CloudFront Function of the generated stack running. Chromium resolves *.localhost itself. Screenshots go to
 * test-results/screenshots; on a failure the page's HTML and console are saved beside them.
 */
async function checkInBrowser(site: string): Promise<void> {
  const browser = await launchChromium();
  mkdirSync(SCREENSHOTS, { recursive: true });
  const page = await browser.newPage();
  const browserLog: string[] = [];
  const errors: string[] = [];
  page.on('console', (message) => {
    browserLog.push(`${message.type()}: ${message.text()}`);
    if (message.type() === 'error') errors.push(message.text());
  });
  page.on('pageerror', (error) => errors.push(error.message));
  page.on('requestfailed', (request) =>
    browserLog.push(`request failed: ${request.url()} ${request.failure()?.errorText}`),
  );
  let step = 'start';
  try {
    const visit = async (path: string, selector: string, text: string, name: string) => {
      step = name;
      await page.goto(`${site}${path}`, { waitUntil: 'load', timeout: 60_000 });
      await expectText(page, selector, text);
      await page.screenshot({ path: join(SCREENSHOTS, `${name}.png`) });
    };
    await visit('/', 'main h1', 'Welcome to Acme Frontend', 'home');
    await visit('/pricing', 'main h1', 'Pricing', 'deep-route');
    step = 'client-navigation';
    await page.click('a[href="/about"]');
    await expectText(page, 'main h1', 'About');
    step = 'storybook';
    await page.goto(`${site}/storybook/?path=/story/shared-ui-button--primary`, { waitUntil: 'load', timeout: 60_000 });
    await expect(
      page.frameLocator('#storybook-preview-iframe').locator('button.ui-button').textContent({ timeout: 60_000 }),
    ).resolves.toBe('Click me');
    await page.screenshot({ path: join(SCREENSHOTS, 'storybook.png') });
    await visit(
      '/storybook/iframe.html?id=shared-ui-button--primary&viewMode=story',
      'button.ui-button',
      'Click me',
      'story',
    );
    expect(errors).toEqual([]);
  } catch (error) {
    await page.screenshot({ path: join(SCREENSHOTS, `failed-${step}.png`) }).catch(() => undefined);
    writeFileSync(
      join(SCREENSHOTS, `failed-${step}.txt`),
      `${page.url()}\n\n${browserLog.join('\n')}\n\n${await page.content().catch(() => '')}`,
    );
    throw new Error(
      `In the browser, at ${step} (${page.url()}): ${(error as Error).message}\nconsole:\n${browserLog.join('\n')}`,
      { cause: error },
    );
  } finally {
    await browser.close();
  }
}

async function expectText(page: Page, selector: string, text: string): Promise<void> {
  await page.waitForSelector(selector, { timeout: 60_000 });
  expect(await page.locator(selector).first().textContent()).toContain(text);
}

/** GET through the local edge with the distribution's host name, as a browser resolving *.localhost would. */
async function get(url: string, host: string) {
  const response = await getWithHost(url, host);
  return { ...response, body: response.body.toString('utf8') };
}

function edge(site: string): { host: string; endpoint: string } {
  const { host, port } = new URL(site);
  return { host, endpoint: `http://127.0.0.1:${port}` };
}

/** The deployed site through the local edge: the app, its immutable assets, a deep SPA route, Storybook. */
async function checkServedSite(site: string): Promise<void> {
  const { host, endpoint } = edge(site);
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
  // The deploy's bookkeeping (every key and ETag) is not served: the generated bucket policy denies it to the
  // distribution, which answers as for any file that is not there (the release router answers only app routes,
  // paths without an extension, with the app).
  const bookkeeping = await get(`${endpoint}/.nx-aws-deploy/state.json`, host);
  expect(bookkeeping.body).not.toContain('"objects"');
  expect(bookkeeping.status).toBe(403);
}

/** The docs, the second app, through its own distribution: plain pages at folder URLs, the shared navigation. */
async function checkServedDocs(site: string): Promise<void> {
  const { host, endpoint } = edge(site);
  const home = await get(`${endpoint}/`, host);
  expect([home.status, home.body]).toEqual([200, expect.stringContaining('<h1>Acme Docs</h1>')]);
  expect((await get(`${endpoint}/guide/`, host)).body).toContain('<h1>Guide</h1>');
  const script = /src="(\/assets\/main-[^"]+\.js)"/.exec(home.body)![1];
  // shared-ui's navigation is bundled into the docs too: a change to it ships both apps.
  expect((await get(`${endpoint}${script}`, host)).body).toContain('ui-nav');
}

/** A command `npm start` printed for frontend (`npm run local-aws -- exec ...`), run as a person would in a shell. */
function runPrinted(output: string, target: string, env: Record<string, string | undefined>, extra = ''): string {
  const command = new RegExp(
    `^  ((?:LOCAL_AWS_PORT=\\d+ )?npm run local-aws -- exec npx nx run frontend:${target} .*)$`,
    'm',
  ).exec(output)![1];
  return execFileSync('bash', ['-c', `${command}${extra} --outputStyle=static`], {
    cwd: root,
    encoding: 'utf8',
    env: { ...env, NX_DAEMON: 'false', NX_ISOLATE_PLUGINS: 'false' },
  });
}

/**
 * The demo's sites are atomic releases: release 2 of frontend (its page changed) goes live, and the rollback command
 * `npm start` printed makes release 1 live again with one KeyValueStore write, served by the edge at once.
 */
async function checkAtomicRollback(output: string, env: Record<string, string | undefined>): Promise<void> {
  const listed = JSON.parse(
    runPrinted(output, 'releases', env, ' --json')
      .replace(/^[^{]*/s, '')
      .replace(/[^}]*$/s, ''),
  );
  expect(listed.live).toBe(1);
  const { keyValueStoreArn, site } = listed.releases[0].atomic;
  const bucket = /frontend:rollback --bucket=(\S+)/.exec(output)![1];
  // A build folder must be inside the workspace (the deploy refuses others): beside the app's own build.
  const build = join(root, 'dist', 'demo-release-2', 'frontend');
  cpSync(join(root, 'dist', 'packages', 'examples', 'frontend'), build, { recursive: true });
  const page = join(build, 'index.html');
  writeFileSync(page, readFileSync(page, 'utf8').replace('</body>', '<!-- release 2 --></body>'));
  const port = new URL(siteUrl(output, 'frontend')).port;
  try {
    execFileSync(
      'npm',
      [
        'run',
        '--silent',
        'local-aws',
        '--',
        'exec',
        process.execPath,
        join(root, 'packages', 'nx-aws-deploy', 'bin', 'nx-aws-deploy.js'),
        'deploy',
        `--source-dir=${build}`,
        `--bucket=${bucket}`,
        '--release-mode=atomic',
        `--key-value-store-arn=${keyValueStoreArn}`,
        `--site=${site}`,
      ],
      { cwd: root, env: { ...env, LOCAL_AWS_PORT: port }, stdio: 'pipe' },
    );
  } finally {
    rmSync(dirname(build), { recursive: true, force: true });
  }
  const { host, endpoint } = edge(siteUrl(output, 'frontend'));
  expect((await get(`${endpoint}/`, host)).body).toContain('<!-- release 2 -->');
  expect(runPrinted(output, 'rollback', env)).toMatch(
    /Release 3 is live: .* release 1's files again, made live with one write/,
  );
  expect((await get(`${endpoint}/`, host)).body).not.toContain('<!-- release 2 -->');
}

/** The preview command `npm start` printed for frontend: the preview at its printed URL, production as it was. */
async function checkPreview(output: string, env: Record<string, string | undefined>): Promise<void> {
  const url = /^Preview frontend .* at (http:\/\/pr-1--\S+\/):$/m.exec(output)![1];
  expect(runPrinted(output, 'deploy', env)).toContain(`preview: ${url}`);
  const { host, port } = new URL(url);
  const preview = await get(`http://127.0.0.1:${port}/`, host);
  expect([preview.status, preview.headers.get('x-robots-tag'), preview.body]).toEqual([
    200,
    'noindex',
    expect.stringContaining('<div id="app"></div>'),
  ]);
  const production = edge(siteUrl(output, 'frontend'));
  expect((await get(`${production.endpoint}/`, production.host)).headers.get('x-robots-tag')).toBeNull();
}

async function expectPortClosed(port: string): Promise<void> {
  const refused = await new Promise<boolean>((resolve) => {
    const socket = connect(Number(port), '127.0.0.1');
    socket.on('connect', () => (socket.destroy(), resolve(false)));
    socket.on('error', () => resolve(true));
  });
  expect(refused).toBe(true);
}
