import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import type { LocalAwsHarness } from 'local-aws';

/** Either emulator (local-aws or moto), reached through the aws CLI. */
type AwsCli = Pick<LocalAwsHarness, 'cli'>;
import { tempDir } from 'test-support';

/** Bucket checks through the aws CLI: an independent client, not our own code. */
export const md5 = (data: string | Buffer) => createHash('md5').update(data).digest('hex');

let bucketCount = 0;
export async function newBucket(local: AwsCli, name = 'site'): Promise<string> {
  const bucket = `${name}-${++bucketCount}-${Date.now()}`;
  await local.cli(['s3', 'mb', `s3://${bucket}`]);
  return bucket;
}

/** A new bucket with versioning on, as the generated template makes it (with the aws CLI). */
export async function newVersionedBucket(local: AwsCli, name: string): Promise<string> {
  const bucket = await newBucket(local, name);
  await enableVersioning(local, bucket);
  return bucket;
}

export async function enableVersioning(local: AwsCli, bucket: string): Promise<void> {
  await local.cli([
    's3api',
    'put-bucket-versioning',
    '--bucket',
    bucket,
    '--versioning-configuration',
    'Status=Enabled',
  ]);
}

export async function listKeys(local: AwsCli, bucket: string): Promise<string[]> {
  const { stdout } = await local.cli(['s3api', 'list-objects-v2', '--bucket', bucket]);
  return (JSON.parse(stdout || '{}').Contents ?? []).map((o: { Key: string }) => o.Key).sort();
}

/** Every file below `dir`, as absolute paths. */
export function filesBelow(dir: string): string[] {
  return readdirSync(dir).flatMap((entry) =>
    statSync(join(dir, entry)).isDirectory() ? filesBelow(join(dir, entry)) : [join(dir, entry)],
  );
}

/** The bucket (below `prefix`) downloaded with the aws CLI into a new folder; `siteOnly` leaves the deploy state out. */
export async function download(local: AwsCli, bucket: string, { prefix = '', siteOnly = true } = {}): Promise<string> {
  const down = tempDir('down-');
  await local.cli([
    's3',
    'sync',
    `s3://${bucket}/${prefix}`,
    down,
    ...(siteOnly ? ['--exclude', '.nx-aws-deploy/*'] : []),
  ]);
  return down;
}

/** Downloads the bucket with the aws CLI and compares every site file byte for byte, and that nothing else is there. */
export async function expectBucketMatches(
  local: AwsCli,
  bucket: string,
  files: Record<string, string | Buffer>,
  prefix = '',
): Promise<void> {
  const down = await download(local, bucket, { prefix });
  for (const [path, data] of Object.entries(files))
    expect([path, md5(readFileSync(join(down, path)))]).toEqual([path, md5(data)]);
  const siteKeys = (await listKeys(local, bucket)).filter((k) => !k.includes('.nx-aws-deploy/'));
  expect(siteKeys).toEqual(
    Object.keys(files)
      .map((p) => prefix + p)
      .sort(),
  );
}

/** Downloads the bucket with the aws CLI; every script, stylesheet and image a page names must be there. */
export async function expectPagesReferenceOnlyExistingAssets(local: AwsCli, bucket: string): Promise<void> {
  const down = await download(local, bucket);
  const pages = filesBelow(down).filter((f) => f.endsWith('.html'));
  expect(pages.length).toBeGreaterThan(0);
  const missing = pages.flatMap((page) =>
    [...readFileSync(page, 'utf8').matchAll(/(?:src|href)="\/([^"]+)"/g)]
      .map((m) => m[1])
      .filter((ref) => {
        try {
          return !statSync(join(down, ref)).isFile();
        } catch {
          return true;
        }
      })
      .map((ref) => `${relative(down, page)} -> ${ref}`),
  );
  expect(missing).toEqual([]);
}
