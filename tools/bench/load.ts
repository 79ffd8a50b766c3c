/**
 * `npm run bench:load`: 20 000 small generated files deployed to the local S3 by the bundled deploy in its own
 * process: first deploy, no-op, then a prune of all of them. Prints time, the list and delete requests (paginated
 * by 1 000, batched by 1 000) and the deploy process's peak RSS against the 300 MB target. Numbers, not tests.
 * BENCH_NODE_FLAGS passes flags to the deploy's node (e.g. --max-old-space-size=120 shows what is live, not
 * garbage V8 has not collected yet).
 */
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { startLocalAws } from 'local-aws';
import { bundleRunDeploy } from './bundle';

const FILES = Number(process.env.BENCH_LOAD_FILES ?? 20_000);
const RSS_TARGET_MB = 300;
const root = join(__dirname, '..', '..');

async function main(): Promise<void> {
  const local = await startLocalAws();
  const work = mkdtempSync(join(root, 'tmp-bench-load-'));
  const site = join(work, 'site');
  const pruned = join(work, 'pruned');
  for (let i = 0; i < FILES; i++) {
    const dir = join(site, 'assets', `d${i % 200}`);
    if (i < 200) mkdirSync(dir, { recursive: true });
    writeFileSync(
      join(dir, `f${i}-${((i * 2654435761) >>> 0).toString(36)}.js`),
      `export const n${i} = ${i};\n`.repeat(1 + (i % 20)),
    );
  }
  writeFileSync(join(site, 'index.html'), '<!doctype html><title>load</title>');
  mkdirSync(pruned);
  writeFileSync(join(pruned, 'index.html'), '<!doctype html><title>load, pruned</title>');
  const bundle = bundleRunDeploy(join(work, 'run-deploy.mjs'));
  // The deploy process reports its own peak resident set size as it exits (resourceUsage().maxRSS is in KiB).
  const reporter = join(work, 'report-rss.cjs');
  writeFileSync(
    reporter,
    "process.on('exit', () => require('fs').writeSync(2, `peak-rss-kib ${process.resourceUsage().maxRSS}\\n`));\n",
  );
  await promisify(execFile)('aws', ['--endpoint-url', local.aws.url, 's3', 'mb', 's3://bench-load'], {
    env: { ...process.env, ...local.env },
  });
  console.log(`${FILES + 1} files, local S3 at ${local.aws.url}\n`);

  const rows = [['scenario', 'time (s)', 'PUT', 'ListObjectsV2', 'DeleteObjects', 'peak RSS (MB)']];
  let peakMb = 0;
  for (const [name, dir] of [
    ['first deploy', site],
    ['no-op', site],
    [`prune ${FILES}`, pruned],
  ]) {
    await local.resetRequests();
    const started = process.hrtime.bigint();
    const { stderr } = await promisify(execFile)(
      process.execPath,
      [
        ...(process.env.BENCH_NODE_FLAGS ?? '').split(' ').filter(Boolean),
        '--require',
        reporter,
        bundle,
        dir,
        'bench-load',
        work,
      ],
      { env: { ...process.env, ...local.env }, maxBuffer: 16 * 1024 * 1024 },
    );
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    const counts = await local.requests();
    const mb = Number(/peak-rss-kib (\d+)/.exec(stderr)![1]) / 1024;
    peakMb = Math.max(peakMb, mb);
    rows.push([
      name,
      seconds.toFixed(2),
      String(counts['s3.PutObject'] ?? 0),
      String(counts['s3.ListObjectsV2'] ?? 0),
      String(counts['s3.DeleteObjects'] ?? 0),
      mb.toFixed(0),
    ]);
  }
  const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => r[c].length)));
  for (const r of rows)
    console.log(r.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]) : cell.padStart(widths[c]))).join('  '));
  console.log(
    `\nPeak RSS ${peakMb.toFixed(0)} MB: ${peakMb <= RSS_TARGET_MB ? 'within' : 'OVER'} the ${RSS_TARGET_MB} MB target.`,
  );
  rmSync(work, { recursive: true, force: true });
  await local.stop();
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
