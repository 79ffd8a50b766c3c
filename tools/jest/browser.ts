import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import chromium from '@sparticuz/chromium';
import { chromium as playwright, type Browser } from 'playwright-core';

const root = join(__dirname, '..', '..');

/**
 * A headless Chromium that `npm install` brings: @sparticuz/chromium ships one inside the npm package. It unpacks
 * into os.tmpdir(); we point that at a cache under node_modules instead, so the 190 MB binary is unpacked once
 * per install and never left in the temp folder. CHROMIUM_PATH overrides it with a browser of your own.
 */
export async function launchChromium(): Promise<Browser> {
  const own = process.env.CHROMIUM_PATH;
  if (own) {
    return playwright.launch({
      executablePath: own,
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        '--disable-dev-shm-usage',
      ],
    });
  }
  return playwright.launch({ executablePath: await unpackedChromium(), args: [...chromium.args, '--disable-quic'] });
}

async function unpackedChromium(): Promise<string> {
  // The package exports no package.json; npm workspaces hoist it to the root node_modules.
  const { version } = JSON.parse(
    readFileSync(join(root, 'node_modules', '@sparticuz', 'chromium', 'package.json'), 'utf8'),
  ) as { version: string };
  const cache = join(root, 'node_modules', '.cache', `sparticuz-chromium-${version}`);
  const binary = join(cache, 'chromium');
  if (existsSync(binary)) return binary;
  // Unpack beside the cache and rename into place, so an interrupted unpack never passes for a whole one.
  const partial = `${cache}.partial-${process.pid}`;
  rmSync(partial, { recursive: true, force: true });
  mkdirSync(partial, { recursive: true });
  // In a child process: os.tmpdir(), where the package unpacks to, reads the real environment, not jest's copy.
  execFileSync(process.execPath, ['-e', "require('@sparticuz/chromium').executablePath()"], {
    env: { ...process.env, TMPDIR: partial },
    stdio: 'inherit',
  });
  try {
    renameSync(partial, cache);
  } catch (error) {
    // Another run unpacked it first.
    rmSync(partial, { recursive: true, force: true });
    if (!existsSync(binary)) throw error;
  }
  return binary;
}
