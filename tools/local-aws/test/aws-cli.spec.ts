import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { tempDir } from 'test-support';
import { startLocalAws, type LocalAwsHarness } from '../src/testing';

/**
 * The harness's aws CLI (its entry point kept running, see src/aws-cli) answers as the `aws` command does:
 * the same output, bytes, exit codes and errors, relative paths from the caller's folder.
 */
let local: LocalAwsHarness;
const spawned = async (args: string[], cwd?: string) => {
  try {
    const { stdout } = await promisify(execFile)(
      'aws',
      ['--endpoint-url', local.aws.url, '--output', 'json', ...args],
      { cwd, env: { ...process.env, ...local.env } },
    );
    return { code: 0, stdout };
  } catch (error) {
    const { code, stdout } = error as { code: number; stdout: string };
    return { code, stdout };
  }
};
const kept = (args: string[], cwd?: string) =>
  local.cli(args, { cwd }).then(
    ({ stdout }) => ({ code: 0, stdout }),
    (error: { code: number; stdout: string }) => ({ code: error.code, stdout: error.stdout }),
  );

beforeAll(async () => {
  local = await startLocalAws();
});
afterAll(() => local.stop());

it('answers as the aws command: listings, bytes to stdout, a file by a relative path, and failures with their exit code', async () => {
  const dir = tempDir('aws-cli-');
  const body = randomBytes(100_000);
  writeFileSync(join(dir, 'blob.bin'), body);
  await local.cli(['s3', 'mb', 's3://kept-cli']);
  await local.cli(['s3', 'cp', 'blob.bin', 's3://kept-cli/a/blob.bin', '--content-type', 'text/plain'], { cwd: dir });
  const calls: string[][] = [
    ['s3api', 'list-objects-v2', '--bucket', 'kept-cli'],
    ['s3api', 'head-object', '--bucket', 'kept-cli', '--key', 'a/blob.bin'],
    ['s3', 'cp', 's3://kept-cli/a/blob.bin', '-'],
    ['s3api', 'head-object', '--bucket', 'kept-cli', '--key', 'missing'],
    ['s3api', 'list-objects-v2', '--bucket', 'no-such-bucket-anywhere'],
    ['s3api', 'list-objects-v2', '--no-such-flag'],
  ];
  for (const args of calls) {
    const [expected, actual] = await Promise.all([spawned(args, dir), kept(args, dir)]);
    // LastModified is the same object's; nothing else varies between the two clients.
    expect([args, actual]).toEqual([args, expected]);
  }
  expect((await local.cli(['s3', 'cp', 's3://kept-cli/a/blob.bin', '-'])).stdout).toBe(body.toString('utf8'));
  const failures = await Promise.all(calls.slice(3).map((args) => kept(args)));
  expect(failures.map((f) => f.code).every((code) => code > 0)).toBe(true);
});
