import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { md5 } from './bucket';
import { BUILT_CLI } from './built-package';
import { createWorkspace, outsideEnv, type TestWorkspace } from './workspace';

/** The installed command (of the build, see built-package.ts), as a user (or a script) runs it outside Nx. */
export const CLI = BUILT_CLI;

/** A small built site: hashed assets, entry files, unhashed public files, keys with spaces, unicode and `+`. */
export const SITE: Record<string, string | Buffer> = {
  'index.html':
    '<!doctype html><script type="module" src="/assets/index-B-XZhOr9.js"></script><link rel="stylesheet" href="/assets/index-Cbk1BLrK.css">',
  'about/index.html': '<h1>About</h1>',
  'assets/index-B-XZhOr9.js': 'console.log("app")',
  'assets/index-Cbk1BLrK.css': 'body{margin:0}',
  'assets/pricing-OKxo0MUH.js': 'export const p = 1',
  'favicon.ico': Buffer.from([0, 0, 1, 0, 1, 0]),
  'robots.txt': 'User-agent: *\n',
  'site.webmanifest': '{"name":"x"}',
  'dir with space/ünïcødé file.txt': 'unicode key',
  'plus+sign.txt': 'plus',
};

/** A workspace with a `site` project whose build output is dist/site and whose deploy target ships it. */
export function siteWorkspace(
  deployOptions: Record<string, unknown>,
  files: Record<string, string | Buffer> = SITE,
  invalidateOptions: Record<string, unknown> = {},
): TestWorkspace {
  const ws = createWorkspace({
    site: {
      targets: {
        build: {
          executor: 'nx:run-commands',
          outputs: ['{workspaceRoot}/dist/site'],
          options: { command: 'echo built' },
        },
        deploy: { executor: 'nx-aws-deploy:deploy-s3', options: deployOptions },
        invalidate: { executor: 'nx-aws-deploy:invalidate', options: invalidateOptions },
      },
    },
  });
  ws.write(Object.fromEntries(Object.entries(files).map(([p, d]) => [`dist/site/${p}`, d])));
  return ws;
}

/** Version `v` of a site: content-hashed assets (new names each version), pages that name some of them, and unchanged files. */
export function siteVersion(v: number, extra: Record<string, Buffer> = {}): Record<string, string | Buffer> {
  const files: Record<string, string | Buffer> = {
    'robots.txt': 'User-agent: *\n',
    'img/logo.svg': '<svg/>',
    ...extra,
  };
  const assets: string[] = [];
  for (let i = 0; i < 24; i++) {
    const body = `export const v${v}_${i} = ${JSON.stringify(randomBytes(300).toString('hex'))};`;
    const name = `assets/chunk-${i}-${md5(body).slice(0, 8)}.${i % 3 === 0 ? 'css' : 'js'}`;
    files[name] = body;
    assets.push(name);
  }
  for (let p = 0; p < 6; p++) {
    const uses = [assets[p], assets[(p * 5 + 3) % assets.length], assets[(p * 7 + 1) % assets.length]];
    const tags = uses
      .map((a) =>
        a.endsWith('.css') ? `<link rel="stylesheet" href="/${a}">` : `<script type="module" src="/${a}"></script>`,
      )
      .join('');
    files[p === 0 ? 'index.html' : `page-${p}/index.html`] =
      `<!doctype html><title>v${v}</title>${tags}<img src="/img/logo.svg">`;
  }
  return files;
}

/** The flags of `nx-aws-deploy deploy` for deploy-s3 options (camelCase to --kebab-case, lists repeated). */
function deployFlags(options: Record<string, unknown>): string[] {
  return Object.entries(options).flatMap(([name, value]) => {
    if (name === 'headers') throw new Error('Header rules are an option of the executor only: deploy through nx.');
    const flag = `--${name.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;
    if (name === 'prune') return value === false ? ['--no-prune'] : [];
    if (typeof value === 'boolean') return value ? [flag] : [];
    return (Array.isArray(value) ? value : [value]).flatMap((v) => [flag, String(v)]);
  });
}

/**
 * The site project's deploy as the `nx-aws-deploy deploy` command with the project.json options as flags: the same
 * deploy as `nx run site:deploy` for the tests that are not about Nx, at a third of its start-up (Nx's own
 * process and the executor's fork). `env` adds to the environment (the local AWS).
 */
export function deployCommand(
  ws: TestWorkspace,
  env: Record<string, string>,
  ...args: string[]
): Promise<{ code: number; stdout: string; stderr: string; output: string }> {
  const project = JSON.parse(readFileSync(join(ws.root, 'site/project.json'), 'utf8'));
  const options = { sourceDir: 'dist/site', ...project.targets.deploy.options };
  const child = spawn(process.execPath, [CLI, 'deploy', '--project', 'site', ...deployFlags(options), ...args], {
    cwd: ws.root,
    env: { ...outsideEnv(), CI: 'true', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => (stdout += d));
  child.stderr.on('data', (d) => (stderr += d));
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr, output: stdout + stderr }));
  });
}
