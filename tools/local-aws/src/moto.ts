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
  /**
   * With `iam`: creates a role with these inline policies in moto's IAM and answers a process's environment with
   * credentials of a session of it from moto's STS.
   */
  assumeRole(name: string, policies: { name: string; policy: unknown }[]): Promise<Record<string, string>>;
  stop(): Promise<void>;
}

/**
 * moto's IAM check lets this many requests through unauthenticated, then authenticates and authorizes every
 * request: the three that create the administrator whose keys the harness then uses.
 */
const UNAUTHENTICATED_SETUP_REQUESTS = 3;

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

/**
 * Starts `moto_server` on a free loopback port and waits (at most 30 s) until it answers. `iam`: with moto's IAM
 * check on (`INITIAL_NO_AUTH_ACTION_COUNT`): the harness acts as an administrator user it creates first.
 */
export async function startMoto(options: { iam?: boolean } = {}): Promise<MotoHarness> {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const child = spawn('moto_server', ['-H', '127.0.0.1', '-p', String(port)], {
    stdio: 'ignore',
    detached: true,
    env: options.iam
      ? { ...process.env, INITIAL_NO_AUTH_ACTION_COUNT: String(UNAUTHENTICATED_SETUP_REQUESTS) }
      : process.env,
  });
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
  const cliWith = (environment: Record<string, string>) =>
    awsCliRunner({ ...process.env, ...environment } as Record<string, string>, [
      '--endpoint-url',
      url,
      '--output',
      'json',
    ]);
  let awsCli = cliWith(env);
  const json = async (args: string[]) => JSON.parse((await awsCli.cli(args)).stdout || '{}');
  if (options.iam) {
    const everything = { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: '*', Resource: '*' }] };
    await awsCli.cli(['iam', 'create-user', '--user-name', 'administrator']);
    await awsCli.cli([
      'iam',
      'put-user-policy',
      '--user-name',
      'administrator',
      '--policy-name',
      'everything',
      '--policy-document',
      JSON.stringify(everything),
    ]);
    const { AccessKey } = await json(['iam', 'create-access-key', '--user-name', 'administrator']);
    awsCli.stop();
    Object.assign(env, { AWS_ACCESS_KEY_ID: AccessKey.AccessKeyId, AWS_SECRET_ACCESS_KEY: AccessKey.SecretAccessKey });
    awsCli = cliWith(env);
  }
  return {
    url,
    env,
    cli: (args) => awsCli.cli(args),
    assumeRole: async (name, policies) => {
      const trust = {
        Version: '2012-10-17',
        Statement: [{ Effect: 'Allow', Principal: { AWS: '*' }, Action: 'sts:AssumeRole' }],
      };
      const { Role } = await json([
        'iam',
        'create-role',
        '--role-name',
        name,
        '--assume-role-policy-document',
        JSON.stringify(trust),
      ]);
      for (const { name: policyName, policy } of policies)
        await awsCli.cli([
          'iam',
          'put-role-policy',
          '--role-name',
          name,
          '--policy-name',
          policyName,
          '--policy-document',
          JSON.stringify(policy),
        ]);
      const { Credentials } = await json([
        'sts',
        'assume-role',
        '--role-arn',
        Role.Arn,
        '--role-session-name',
        `${name}-session`,
      ]);
      return {
        ...env,
        AWS_ACCESS_KEY_ID: Credentials.AccessKeyId,
        AWS_SECRET_ACCESS_KEY: Credentials.SecretAccessKey,
        AWS_SESSION_TOKEN: Credentials.SessionToken,
      };
    },
    stop: async () => {
      awsCli.stop();
      await stop();
    },
  };
}
