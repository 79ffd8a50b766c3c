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
