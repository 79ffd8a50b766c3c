import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';

it.each(['SIGINT', 'SIGTERM'] as const)(
  '`npm run local-aws` prints one ready line with the URLs and stops cleanly on %s',
  async (signal) => {
    // As `npm run local-aws` runs it: one node process with tsx's loader.
    const child = spawn(process.execPath, ['--import', 'tsx', join(__dirname, '..', 'src', 'cli.ts')], {
      env: { ...process.env, LOCAL_AWS_PORT: '0' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (d) => (output += d));
    while (!output.includes('\n')) await once(child.stdout, 'data');
    const url = /AWS_ENDPOINT_URL=(\S+)/.exec(output)?.[1];
    expect(output).toMatch(
      /^local-aws ready: AWS_ENDPOINT_URL=http:\/\/127\.0\.0\.1:\d+ .*edge: http:\/\/<distribution-id>\.cloudfront\.localhost:\d+\//,
    );
    expect(await (await fetch(`${url}/_local/health`)).json()).toEqual({ ok: true });
    child.kill(signal);
    const [code] = await once(child, 'exit');
    expect(code).toBe(0);
    expect(output).toContain(`local-aws stopped (${signal})`);
  },
);
