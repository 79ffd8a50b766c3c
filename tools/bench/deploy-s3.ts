/**
 * `npm run bench`: a 2 000-file / ~35 MB site deployed by our executor and by `aws s3 sync` to the same
 * local S3, in one run: first deploy, no-op, CI rebuild with the same bytes (new mtimes), 1 % changed.
 * Prints wall time and PUT requests for both, and their ratio. Numbers, not assertions.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startLocalAws } from 'local-aws';
import { bundleRunDeploy } from './bundle';

const FILES = Number(process.env.BENCH_FILES ?? 2000);
const TOTAL_BYTES = Number(process.env.BENCH_BYTES ?? 35 * 1024 * 1024);
const root = join(__dirname, '..', '..');

/** Deterministic pseudo-random bytes, so that every run deploys the same site. */
function bytes(seed: number, size: number): Buffer {
  const out = Buffer.alloc(size);
  let x = seed * 2654435761 || 1;
  for (let i = 0; i < size; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}

function generateSite(dir: string): string[] {
  const paths: string[] = [];
  const average = Math.floor(TOTAL_BYTES / FILES);
  for (let i = 0; i < FILES; i++) {
    const kind = i % 10;
    const path =
      kind === 0
        ? `pages/p${i}/index.html`
        : kind < 7
          ? `assets/chunk-${i}-A${(i * 7919).toString(36).padStart(6, '0')}9.js`
          : `img/photo-${i}.webp`;
    const size = Math.max(200, Math.floor(average * (0.5 + ((i * 37) % 100) / 100)));
    mkdirSync(join(dir, path, '..'), { recursive: true });
    writeFileSync(join(dir, path), bytes(i + 1, size));
    paths.push(path);
  }
  writeFileSync(join(dir, 'index.html'), '<!doctype html><title>bench</title>');
  return paths;
}

function touchAll(dir: string): void {
  const now = new Date();
  for (const entry of readdirSync(dir)) {
    const p = join(dir, entry);
    if (statSync(p).isDirectory()) touchAll(p);
    else utimesSync(p, now, now);
  }
}

async function main(): Promise<void> {
  const local = await startLocalAws();
  const site = mkdtempSync(join(root, 'tmp-bench-'));
  const paths = generateSite(site);
  const env = { ...process.env, ...local.env };
  // Asynchronous: the local AWS answers from this same process.
  const run = promisify(execFile);
  const cli = (...args: string[]) => run('aws', ['--endpoint-url', local.aws.url, ...args], { env });
  await cli('s3', 'mb', 's3://bench-ours');
  await cli('s3', 'mb', 's3://bench-sync');
  console.log(
    `Site: ${paths.length + 1} files, ${(TOTAL_BYTES / 1024 / 1024).toFixed(0)} MB, local S3 at ${local.aws.url}\n`,
  );

  const measure = async (deployOnce: () => Promise<unknown>) => {
    await local.resetRequests();
    const started = process.hrtime.bigint();
    await deployOnce();
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    const counts = await local.requests();
    return {
      seconds,
      puts: (counts['s3.PutObject'] ?? 0) + (counts['s3.UploadPart'] ?? 0) + (counts['s3.CopyObject'] ?? 0),
    };
  };
  const bundle = bundleRunDeploy(join(site, '..', `${site.split('/').pop()}-run-deploy.mjs`));
  const ours = () => run(process.execPath, [bundle, site, 'bench-ours', root], { env });
  const awsSync = () => cli('s3', 'sync', site, 's3://bench-sync', '--delete', '--only-show-errors');

  const scenarios: [string, () => void][] = [
    ['first deploy', () => undefined],
    ['no-op', () => undefined],
    ['rebuild, same bytes (touch all)', () => touchAll(site)],
    [
      '1 % of files changed',
      () =>
        paths.filter((_, i) => i % 100 === 1).forEach((p, i) => writeFileSync(join(site, p), bytes(100_000 + i, 1000))),
    ],
  ];
  const rows: string[][] = [['scenario', 'ours (s)', 'PUTs', 'aws s3 sync (s)', 'PUTs', 'time ratio']];
  for (const [name, prepare] of scenarios) {
    prepare();
    const a = await measure(ours);
    const b = await measure(awsSync);
    rows.push([
      name,
      a.seconds.toFixed(2),
      String(a.puts),
      b.seconds.toFixed(2),
      String(b.puts),
      `${(a.seconds / b.seconds).toFixed(2)}x`,
    ]);
  }
  const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => r[c].length)));
  for (const r of rows)
    console.log(r.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]) : cell.padStart(widths[c]))).join('  '));
  console.log('\nTargets: first deploy <= 0.5x; same-bytes rebuild 0 PUTs and <= 0.15x; no-op <= 1x.');
  rmSync(site, { recursive: true, force: true });
  rmSync(bundle, { force: true });
  await local.stop();
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
