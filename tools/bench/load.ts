/**
 * `npm run bench:load`: many small files (BENCH_LOAD_FILES, default 20 000; the target is met at 100 000 too)
 * deployed by the installed command (`node_modules/.bin/nx-aws-deploy deploy` of the packed package) to the local
 * S3: first deploy, no-op, ten deploys that change one file each (each a release of every file: the last one
 * deploys beside the ten kept by default), a rollback to the release before (reading the ten kept records), a
 * promote of that release to an empty bucket, then a prune of all of them. Prints time, the list, PUT, copy and
 * delete requests and the peak RSS of the process tree against the 300 MB target. Numbers, not tests.
 * BENCH_LOAD_MODE=atomic: the files' names carry a content hash (as a bundler's do) and each deploy is an atomic
 * release through a KeyValueStore of the local AWS, whose requests are counted too.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { table } from '../../packages/nx-aws-deploy/src/lib/util/format';
import { runMeasured } from './peak-rss';
import { benchInUserWorkspace } from './harness';
import { createKeyValueStore } from './site-requests';

const FILES = Number(process.env.BENCH_LOAD_FILES ?? 20_000);
const ATOMIC = process.env.BENCH_LOAD_MODE === 'atomic';
const RSS_TARGET_MB = 300;
/** keepReleases' default: the last of as many changing deploys reads the records of all the others. */
const RELEASES_KEPT = 10;

benchInUserWorkspace('load', async ({ ws, local }) => {
  const site = join(ws, 'site');
  const pruned = join(ws, 'pruned');
  for (let i = 0; i < FILES; i++) {
    const dir = join(site, 'assets', `d${i % 200}`);
    if (i < 200) mkdirSync(dir, { recursive: true });
    const hash = ((i * 2654435761) >>> 0).toString(36);
    // Atomic: a Vite-like hash (8 characters: upper and lower case, digits), which the deploy shares between releases.
    const name = ATOMIC ? `f${i}-Aq${hash.padStart(5, '0').slice(-5)}7.js` : `f${i}-${hash}.js`;
    writeFileSync(join(dir, name), `export const n${i} = ${i};\n`.repeat(1 + (i % 20)));
  }
  writeFileSync(join(site, 'index.html'), '<!doctype html><title>load</title>');
  mkdirSync(pruned);
  writeFileSync(join(pruned, 'index.html'), '<!doctype html><title>load, pruned</title>');
  const env = { ...process.env, ...local.env };
  for (const bucket of ['bench-load', 'bench-load-prod'])
    execFileSync('aws', ['--endpoint-url', local.url, 's3', 'mb', `s3://${bucket}`], { env, stdio: 'ignore' });
  const store = ATOMIC
    ? [
        '--release-mode',
        'atomic',
        '--key-value-store-arn',
        createKeyValueStore(local, env, 'bench-load'),
        '--site',
        'load',
      ]
    : [];
  console.log(`${FILES + 1} files${ATOMIC ? ', atomic releases' : ''}, local S3 at ${local.url}\n`);

  const rows = [
    [
      'scenario',
      'time (s)',
      'PUT',
      'CopyObject',
      'ListObjectsV2',
      'DeleteObjects',
      ...(ATOMIC ? ['KVS writes'] : []),
      'peak RSS (MB)',
    ],
  ];
  let peakMb = 0;
  const deploy = (dir: string) => [
    'deploy',
    '--source-dir',
    dir,
    '--bucket',
    'bench-load',
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
    ['rollback (10 kept)', ['rollback', '--bucket', 'bench-load']],
    ['promote to an empty bucket', ['promote', '--from-bucket', 'bench-load', '--bucket', 'bench-load-prod']],
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
    // Every request of the run went to the local S3; the full counts, since 100 000 PUTs outrun the request log.
    const counts = await local.requests();
    peakMb = Math.max(peakMb, result.peakRssMb);
    // Of the changing deploys, the first and the last (the one beside ten kept releases).
    if (change !== undefined && change > 0 && change < RELEASES_KEPT - 1) continue;
    rows.push([
      name,
      result.seconds.toFixed(2),
      ...['PutObject', 'CopyObject', 'ListObjectsV2', 'DeleteObjects'].map((op) => String(counts[`s3.${op}`] ?? 0)),
      ...(ATOMIC
        ? [
            String(
              (counts['cloudfront-keyvaluestore.PutKey'] ?? 0) + (counts['cloudfront-keyvaluestore.UpdateKeys'] ?? 0),
            ),
          ]
        : []),
      result.peakRssMb.toFixed(0),
    ]);
  }
  console.log(table(rows));
  console.log(
    `\nPeak RSS ${peakMb.toFixed(0)} MB: ${peakMb <= RSS_TARGET_MB ? 'within' : 'OVER'} the ${RSS_TARGET_MB} MB target.`,
  );
});
