import { randomBytes } from 'node:crypto';
import { md5 } from './bucket';
import { createWorkspace, type TestWorkspace } from './workspace';

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
