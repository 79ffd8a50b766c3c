/**
 * `npm run bench:rollback`: going back one release on the 2 000-file site, several ways, with the installed command:
 * `nx-aws-deploy rollback` (no build, no files; in an unversioned bucket, from snapshot copies, in a versioned
 * one, from the recorded versions, and of atomic releases, one KeyValueStore write), a redeploy of the previous build with `nx-aws-deploy deploy` from a
 * fresh clone (no hash cache; the build itself, which a redeploy also needs, is not counted), and `aws s3 sync` of
 * that build. Each round ships release 1, then release 2 (every page and a tenth of the chunks new), then goes back;
 * medians of BENCH_ROUNDS (3). Writes tools/bench/results/rollback.json. Numbers, not assertions.
 */
import { execFileSync } from 'node:child_process';
import { cpSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { table } from '../../packages/nx-aws-deploy/src/lib/util/format';
import { userEnv } from './installed';
import { median } from './peak-rss';
import { createKeyValueStore, siteRunner, type SiteRun } from './site-requests';
import { bytes, generateSite } from './site';
import { benchInUserWorkspace } from './harness';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const FILES = Number(process.env.BENCH_FILES ?? 2000);
const TOTAL_BYTES = Number(process.env.BENCH_BYTES ?? 34 * 1024 * 1024);
const WAYS = [
  'nx-aws-deploy rollback',
  'nx-aws-deploy rollback, versioned bucket',
  'nx-aws-deploy rollback, atomic releases',
  'redeploy (nx-aws-deploy deploy)',
  'redeploy (aws s3 sync)',
] as const;

benchInUserWorkspace('rollback', async ({ ws, local }) => {
  const env = userEnv(local);
  const bin = join(ws, 'node_modules', '.bin', 'nx-aws-deploy');
  const release1 = join(ws, 'release-1');
  const release2 = join(ws, 'release-2');
  const paths = generateSite(release1, FILES, TOTAL_BYTES);
  cpSync(release1, release2, { recursive: true });
  // Release 2: every page rebuilt, a tenth of the chunks renamed (new content hash), as a typical change does.
  paths.forEach((path, i) => {
    if (path.endsWith('.html')) writeFileSync(join(release2, path), `<!doctype html><title>release 2 ${i}</title>`);
    else if (path.startsWith('assets/') && i % 10 === 1) {
      rmSync(join(release2, path));
      writeFileSync(join(release2, path.replace(/-A\w+9\.js$/, '-B2bench9.js')), bytes(700_000 + i, 3000));
    }
  });

  const run = siteRunner(local, ws, env);
  /** Each atomic bucket's KeyValueStore, by bucket. */
  const stores = new Map<string, string>();
  const deploy = (dir: string, bucket: string) => {
    // A CI machine's fresh clone: no hash cache of an earlier deploy from this workspace.
    rmSync(join(ws, '.nx'), { recursive: true, force: true });
    const atomic = stores.has(bucket)
      ? ['--release-mode', 'atomic', '--key-value-store-arn', stores.get(bucket)!, '--site', 'bench']
      : [];
    return run(bin, ['deploy', '--source-dir', dir, '--bucket', bucket, '--max-deletes', '100000', ...atomic], bucket);
  };
  const back: Record<(typeof WAYS)[number], (bucket: string) => Promise<SiteRun>> = {
    'nx-aws-deploy rollback': (bucket) => run(bin, ['rollback', '--bucket', bucket], bucket),
    'nx-aws-deploy rollback, versioned bucket': (bucket) => run(bin, ['rollback', '--bucket', bucket], bucket),
    'nx-aws-deploy rollback, atomic releases': (bucket) => run(bin, ['rollback', '--bucket', bucket], bucket),
    'redeploy (nx-aws-deploy deploy)': (bucket) => deploy(release1, bucket),
    'redeploy (aws s3 sync)': (bucket) =>
      run(
        'aws',
        ['--endpoint-url', local.url, 's3', 'sync', release1, `s3://${bucket}`, '--delete', '--only-show-errors'],
        bucket,
      ),
  };
  const samples = new Map<string, SiteRun[]>();
  console.log(`Site: ${FILES} files, ${(TOTAL_BYTES / 1024 / 1024).toFixed(0)} MB; ${ROUNDS} rounds\n`);
  for (let round = 0; round < ROUNDS; round++) {
    const order = WAYS.map((_, i) => WAYS[(i + round) % WAYS.length]);
    for (const way of order) {
      const bucket = `r${round}-${WAYS.indexOf(way)}`;
      const aws = (...args: string[]) =>
        execFileSync('aws', ['--endpoint-url', local.url, ...args], { env, stdio: 'ignore' });
      aws('s3', 'mb', `s3://${bucket}`);
      if (way.endsWith('versioned bucket'))
        aws('s3api', 'put-bucket-versioning', '--bucket', bucket, '--versioning-configuration', 'Status=Enabled');
      if (way.endsWith('atomic releases')) {
        stores.set(bucket, createKeyValueStore(local, env, bucket));
      }
      await deploy(release1, bucket);
      await deploy(release2, bucket);
      samples.set(way, [...(samples.get(way) ?? []), await back[way](bucket)]);
      process.stdout.write('.');
    }
  }
  console.log('\n');
  const results = Object.fromEntries(
    WAYS.map((way) => {
      const runs = samples.get(way)!;
      return [
        way,
        {
          seconds: median(runs.map((r) => r.seconds)),
          requests: median(runs.map((r) => r.requests)),
          writes: median(runs.map((r) => r.writes)),
        },
      ];
    }),
  );
  const base = results['nx-aws-deploy rollback'].seconds;
  console.log(
    table([
      ['back to the previous release', 'time', 'vs rollback', 'requests', 'writes (PUT, part, copy, KVS)'],
      ...WAYS.map((way) => [
        way,
        `${results[way].seconds.toFixed(2)} s`,
        `${(results[way].seconds / base).toFixed(1)}x`,
        String(results[way].requests),
        String(results[way].writes),
      ]),
    ]),
  );
  const out = join(__dirname, 'results', 'rollback.json');
  mkdirSync(join(out, '..'), { recursive: true });
  writeFileSync(
    out,
    `${JSON.stringify({ measured: new Date().toISOString(), files: FILES, bytes: TOTAL_BYTES, rounds: ROUNDS, node: process.version, results }, null, 2)}\n`,
  );
  console.log(`\nWritten: ${out}`);
});
