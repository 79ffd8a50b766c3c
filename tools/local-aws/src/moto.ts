import { execFileSync, spawn } from 'node:child_process';
import { awsCliRunner, type AwsCli } from './aws-cli';
import { createServer, type AddressInfo } from 'node:net';

/** moto's server: an S3 + CloudFront emulator nobody here wrote, to check tools/local-aws and the plugin against. */
export interface MotoHarness {
  url: string;
  /** What a process needs to reach it through the SDK's default provider chain. */
  env: Record<string, string>;
  /** The aws CLI against it. */
  cli: AwsCli;
  stop(): Promise<void>;
}

/** Whether `moto_server` is installed (it comes with the machine's Python here; pip cannot reach PyPI). */
export function motoInstalled(): boolean {
  try {
    execFileSync('moto_server', ['--help'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** Starts `moto_server` on a free loopback port and waits (at most 30 s) until it answers. */
export async function startMoto(): Promise<MotoHarness> {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const child = spawn('moto_server', ['-H', '127.0.0.1', '-p', String(port)], { stdio: 'ignore', detached: true });
  const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()));
  const stop = async () => {
    try {
      process.kill(-child.pid!, 'SIGTERM');
    } catch {
      return; // already gone
    }
    await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 5000).unref())]);
  };
  for (const until = Date.now() + 30_000; ;) {
    if (
      await fetch(`${url}/moto-api/`).then(
        (r) => r.ok,
        () => false,
      )
    )
      break;
    if (child.exitCode !== null || Date.now() > until) {
      await stop();
      throw new Error(`moto_server did not answer on ${url} within 30 s`);
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  const env = {
    AWS_ENDPOINT_URL: url,
    AWS_ACCESS_KEY_ID: 'moto',
    AWS_SECRET_ACCESS_KEY: 'moto',
    AWS_REGION: 'us-east-1',
    AWS_DEFAULT_REGION: 'us-east-1',
    AWS_PAGER: '',
    AWS_EC2_METADATA_DISABLED: 'true',
  };
  const awsCli = awsCliRunner({ ...process.env, ...env } as Record<string, string>, [
    '--endpoint-url',
    url,
    '--output',
    'json',
  ]);
  return {
    url,
    env,
    cli: awsCli.cli,
    stop: async () => {
      awsCli.stop();
      await stop();
    },
  };
}
