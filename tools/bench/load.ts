/**
 * `npm run bench:load`: many small files (BENCH_LOAD_FILES, default 20 000; the target is met at 100 000 too)
 * deployed by the installed command (`node_modules/.bin/nx-aws-deploy deploy` of the packed package) to the local
 * S3: first deploy, no-op, ten deploys that change one file each (each a release of every file: the last one
 * deploys beside the ten kept by default), a rollback to the release before (reading the ten kept records), a
 * promote of that release to an empty bucket, then a prune of all of them. Prints time, the list, PUT, copy and
 * delete requests and the peak RSS of the process tree against the 300 MB target. Numbers, not tests.
 * It runs in place (names without a content hash), then as atomic releases (names with one, as a bundler's are)
 * through a KeyValueStore of the local AWS, whose writes are counted too; BENCH_LOAD_MODE runs one of them.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { table } from '../../packages/nx-aws-deploy/src/lib/util/format';
import { runMeasured } from './peak-rss';
import { benchInUserWorkspace } from './harness';
import type { LocalAwsProcess } from './local-aws-process';
import { createKeyValueStore } from './site-requests';

const FILES = Number(process.env.BENCH_LOAD_FILES ?? 20_000);
/** Both by default, one after the other; BENCH_LOAD_MODE=in-place or atomic runs one. */
const MODES = (process.env.BENCH_LOAD_MODE ? [process.env.BENCH_LOAD_MODE] : ['in-place', 'atomic']) as (
  'in-place' | 'atomic'
)[];
const RSS_TARGET_MB = 300;
/** keepReleases' default: the last of as many changing deploys reads the records of all the others. */
const RELEASES_KEPT = 10;

benchInUserWorkspace('load', async ({ ws, local }) => {
  for (const mode of MODES) await runMode(mode, ws, local);
});

/** The scenarios in one mode, in buckets of its own (`bench-load-<mode>`, and `-prod` for the promote). */
async function runMode(mode: 'in-place' | 'atomic', ws: string, local: LocalAwsProcess): Promise<void> {
  const atomic = mode === 'atomic';
  const site = join(ws, mode, 'site');
  const pruned = join(ws, mode, 'pruned');
  for (let i = 0; i < FILES; i++) {
    const dir = join(site, 'assets', `d${i % 200}`);
    if (i < 200) mkdirSync(dir, { recursive: true });
    const hash = ((i * 2654435761) >>> 0).toString(36);
    // Atomic: a Vite-like hash (8 characters: upper and lower case, digits), which the deploy shares between releases.
    const name = atomic ? `f${i}-Aq${hash.padStart(5, '0').slice(-5)}7.js` : `f${i}-${hash}.js`;
    writeFileSync(join(dir, name), `export const n${i} = ${i};\n`.repeat(1 + (i % 20)));
  }
  writeFileSync(join(site, 'index.html'), '<!doctype html><title>load</title>');
  mkdirSync(pruned);
  writeFileSync(join(pruned, 'index.html'), '<!doctype html><title>load, pruned</title>');
  const env = { ...process.env, ...local.env };
  const bucket = `bench-load-${mode}`;
  for (const name of [bucket, `${bucket}-prod`])
    execFileSync('aws', ['--endpoint-url', local.url, 's3', 'mb', `s3://${name}`], { env, stdio: 'ignore' });
  const store = atomic
    ? ['--release-mode', 'atomic', '--key-value-store-arn', createKeyValueStore(local, env, bucket), '--site', 'load']
    : [];
  console.log(
    `\n${FILES + 1} files, ${atomic ? 'atomic releases (names with a content hash)' : 'in place (names without a content hash)'}, local S3 at ${local.url}\n`,
  );

  const columns = ['PutObject', 'CopyObject', 'ListObjectsV2', 'DeleteObjects'];
  const rows = [
    ['scenario', 'time (s)', 'PUT', 'CopyObject', 'ListObjectsV2', 'DeleteObjects', 'KVS writes', 'peak RSS (MB)'],
  ];
  let peakMb = 0;
  const deploy = (dir: string) => [
    'deploy',
    '--source-dir',
    dir,
    '--bucket',
    bucket,
    '--max-deletes',
    String(FILES),
    ...store,
  ];
  const changes = Array.from({ length: RELEASES_KEPT }, (_, i) => [`1 changed (${i + 1})`, deploy(site), i] as const);
  for (const [name, args, change] of [
    ['first deploy', deploy(site)],
    ['no-op', deploy(site)],
    ...changes,
    // Back one release, reading the records of the ten kept; then that release copied whole to another bucket.
    ['rollback (10 kept)', ['rollback', '--bucket', bucket]],
    ['promote to an empty bucket', ['promote', '--from-bucket', bucket, '--bucket', `${bucket}-prod`]],
    [`prune ${FILES}`, deploy(pruned)],
  ] as const) {
    if (change !== undefined)
      writeFileSync(join(site, 'index.html'), `<!doctype html><title>load, change ${change + 1}</title>`);
    await local.resetRequests();
    const result = await runMeasured(join(ws, 'node_modules', '.bin', 'nx-aws-deploy'), [...args], {
      cwd: ws,
      env,
      sampleRss: true,
    });
    if (result.code !== 0) throw new Error(`${name} failed:\n${result.stderr}`);
    // Every request of the run went to the local AWS; the full counts, since 100 000 PUTs outrun the request log.
    const counts = await local.requests();
    peakMb = Math.max(peakMb, result.peakRssMb);
    // Of the changing deploys, the first and the last (the one beside ten kept releases).
    if (change !== undefined && change > 0 && change < RELEASES_KEPT - 1) continue;
    const kvsWrites =
      (counts['cloudfront-keyvaluestore.PutKey'] ?? 0) + (counts['cloudfront-keyvaluestore.UpdateKeys'] ?? 0);
    rows.push([
      name,
      result.seconds.toFixed(2),
      ...columns.map((op) => String(counts[`s3.${op}`] ?? 0)),
      String(kvsWrites),
      result.peakRssMb.toFixed(0),
    ]);
  }
  console.log(table(rows));
  console.log(
    `\nPeak RSS ${peakMb.toFixed(0)} MB: ${peakMb <= RSS_TARGET_MB ? 'within' : 'OVER'} the ${RSS_TARGET_MB} MB target.`,
  );
}
