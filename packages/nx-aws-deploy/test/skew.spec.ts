import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { startLocalAws, type LocalAwsHarness, type StackResult } from 'local-aws';
import type { Browser } from 'playwright-core';
import { tempDir } from 'test-support';
import { launchChromium } from 'test-support/browser';
import { exec } from './codebuild';
import { deployRouterStack } from './release-router-stack';
import { CLI } from './site';
import { outsideEnv } from './workspace';

/**
 * Skew protection in a real browser, on the local edge with the release router and pin: a tab opened on release 1
 * keeps loading release 1's lazy chunk after release 2 (which no longer has it) went live, and release 1's
 * `/config.json` (no content hash in its name: the page's cookie pins its release), which release 2 changed; a
 * reload shows release 2 and its config.
 */
const BUCKET = 'skew-site';
let local: LocalAwsHarness;
let stack: StackResult;
let browser: Browser;
let root: string;

beforeAll(async () => {
  [local, browser] = await Promise.all([startLocalAws({ kvsPropagationMs: 300 }), launchChromium()]);
  stack = await deployRouterStack(local, BUCKET, [{ name: 'Web', site: 'web', storybook: false }]);
  root = tempDir('skew-');
}, 120_000);
afterAll(async () => {
  await browser?.close();
  await local?.stop();
});

/** A page whose entry chunk imports a lazy chunk and fetches /config.json when its button is pressed. */
const release = (version: string, entry: string, lazy?: string) => ({
  'index.html': `<!doctype html><h1>${version}</h1><button>more</button><p id="lazy"></p><p id="config"></p><script type="module" src="/assets/${entry}"></script>`,
  [`assets/${entry}`]: lazy
    ? `document.querySelector('button').onclick = async () => {
        document.querySelector('#config').textContent = (await (await fetch('/config.json')).json()).of;
        document.querySelector('#lazy').textContent = (await import('./${lazy}')).text;
      };`
    : `document.querySelector('#config').textContent = 'loaded';`,
  ...(lazy ? { [`assets/${lazy}`]: `export const text = 'lazy of ${version}';` } : {}),
  'config.json': JSON.stringify({ of: version }),
});

async function deploy(files: Record<string, string>) {
  const site = join(root, 'dist');
  rmSync(site, { recursive: true, force: true });
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(dirname(join(site, path)), { recursive: true });
    writeFileSync(join(site, path), text);
  }
  const url = local.aws.edgeUrl(stack.outputs.WebDistributionId);
  const run = await exec(
    process.execPath,
    [
      CLI,
      'deploy',
      ...['--source-dir', 'dist', '--bucket', BUCKET, '--project', 'web'],
      ...['--release-mode', 'atomic', '--key-value-store-arn', stack.outputs.KeyValueStoreArn],
      ...['--wait-until-served', '--site-url', url],
    ],
    root,
    { ...outsideEnv(), ...local.env },
  );
  expect([run.code, run.stderr]).toEqual([0, expect.any(String)]);
  return url;
}

it("a tab on release 1 loads release 1's lazy chunk and unhashed config after release 2, which removed or changed them, went live; a reload shows release 2", async () => {
  const url = await deploy(release('release 1', 'index-Ab12Cd34.js', 'lazy-Zz98Yy76.js'));
  const tab = await browser.newPage();
  await tab.goto(`${url}/`);
  expect(await tab.textContent('h1')).toBe('release 1');
  // Release 2: another entry chunk, no lazy chunk at all.
  await deploy(release('release 2', 'index-Ef56Gh78.js'));
  await tab.click('button');
  await tab.waitForSelector('#lazy:not(:empty)');
  expect(await tab.textContent('#lazy')).toBe('lazy of release 1');
  expect(await tab.textContent('#config')).toBe('release 1');
  await tab.reload();
  expect(await tab.textContent('h1')).toBe('release 2');
  // The reloaded page pinned release 2: its config is release 2's (asked past the browser's own 5-minute cache of it).
  const config = await tab.evaluate(
    "fetch('/config.json', { cache: 'no-store' }).then((r) => r.json()).then((c) => c.of)",
  );
  expect(config).toBe('release 2');
}, 120_000);
