import { execFileSync } from 'node:child_process';
import type { LocalAwsProcess } from './local-aws-process';
import { runMeasured } from './peak-rss';

export interface SiteRun {
  seconds: number;
  /** Every request to the bucket and to the KeyValueStore API. */
  requests: number;
  puts: number;
  copies: number;
  /** PutKey and UpdateKeys: the writes that make a release live. */
  kvsWrites: number;
  /** PUT, part, copy and KeyValueStore writes. */
  writes: number;
}

/**
 * Runs a command of a site's deploy (deploy, rollback, a peer's sync) and counts what it asked of the site: the
 * bucket's requests by its log, and the KeyValueStore API's (they name the store, not the bucket).
 */
export function siteRunner(local: LocalAwsProcess, cwd: string, env: NodeJS.ProcessEnv) {
  return async (command: string, args: string[], bucket: string): Promise<SiteRun> => {
    await local.resetRequests();
    const result = await runMeasured(command, args, { cwd, env });
    if (result.code !== 0) throw new Error(`${command} ${args.join(' ')} failed:\n${result.stdout}\n${result.stderr}`);
    const counts = await local.requestsTo(bucket);
    const kvs = Object.entries(await local.requests()).filter(([o]) => o.startsWith('cloudfront-keyvaluestore.'));
    const puts = (counts['s3.PutObject'] ?? 0) + (counts['s3.UploadPart'] ?? 0);
    const copies = counts['s3.CopyObject'] ?? 0;
    const kvsWrites = kvs.filter(([o]) => /PutKey|UpdateKeys/.test(o)).reduce((n, [, c]) => n + c, 0);
    return {
      seconds: result.seconds,
      requests: [...Object.values(counts), ...kvs.map(([, n]) => n)].reduce((n, c) => n + c, 0),
      puts,
      copies,
      kvsWrites,
      writes: puts + copies + kvsWrites,
    };
  };
}

/** A KeyValueStore in the local AWS, made with the aws CLI (an independent client); returns its ARN. */
export function createKeyValueStore(local: LocalAwsProcess, env: NodeJS.ProcessEnv, name: string): string {
  const created = execFileSync(
    'aws',
    ['--endpoint-url', local.url, 'cloudfront', 'create-key-value-store', '--name', name],
    {
      env,
      encoding: 'utf8',
    },
  );
  return JSON.parse(created).KeyValueStore.ARN;
}
