/**
 * `npm run bench:atomic`: the same changes to the 2 000-file Vite-like site (60 % content-hashed chunks, 30 %
 * unhashed images, 10 % pages) deployed in place and as atomic releases by the installed command, every request
 * (S3's and the KeyValueStore API's) delayed by BENCH_LATENCY_MS (30) as S3's round trips are: a first deploy, a
 * no-op, 20 chunks changed, and 20 files of every kind changed. Each round deploys the same builds in both modes,
 * in alternating order; medians of BENCH_ROUNDS (3). In place, the invalidation that must follow is not counted.
 * Writes tools/bench/results/atomic.json. Numbers, not assertions.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startFaultProxy } from 'fault-proxy';
import { table } from '../../packages/nx-aws-deploy/src/lib/util/format';
import { userEnv } from './installed';
import { median } from './peak-rss';
import { bytes, generateSite } from './site';
import { benchInUserWorkspace } from './harness';
import { createKeyValueStore, siteRunner, type SiteRun } from './site-requests';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const FILES = Number(process.env.BENCH_FILES ?? 2000);
const TOTAL_BYTES = Number(process.env.BENCH_BYTES ?? 34 * 1024 * 1024);
const LATENCY_MS = Number(process.env.BENCH_LATENCY_MS ?? 30);
const CHANGED = 20;
const MODES = ['in place', 'atomic'] as const;

benchInUserWorkspace('atomic', async ({ ws, local }) => {
  const proxy = await startFaultProxy({ target: local.url, rate: 0, latencyMs: LATENCY_MS, lifetimeMs: 3_600_000 });
  try {
    // The KeyValueStore API too: the command takes the proxy's loopback address by name (see keyValueStoreEndpoint).
    const env = { ...userEnv(local), AWS_ENDPOINT_URL: proxy.url };
    const run = siteRunner(local, ws, env);
    const bin = join(ws, 'node_modules', '.bin', 'nx-aws-deploy');
    const site = join(ws, 'apps', 'site', 'dist');
    const change = (paths: string[], pick: (path: string, index: number) => boolean) =>
      paths
        .filter(pick)
        .slice(0, CHANGED)
        .forEach((p, i) => writeFileSync(join(site, p), bytes(800_000 + i, 4000)));
    const scenarios: [string, (paths: string[]) => void][] = [
      ['first deploy', () => undefined],
      ['no-op', () => undefined],
      [`${CHANGED} chunks changed`, (paths) => change(paths, (p) => p.startsWith('assets/'))],
      // Every 97th file: chunks, images and pages alike.
      [`${CHANGED} files of every kind changed`, (paths) => change(paths, (_, i) => i % 97 === 5)],
    ];
    const samples = new Map<string, SiteRun[]>();
    console.log(
      `Site: ${FILES} files, ${(TOTAL_BYTES / 1024 / 1024).toFixed(0)} MB; +${LATENCY_MS} ms per request; ${ROUNDS} rounds\n`,
    );
    for (let round = 0; round < ROUNDS; round++) {
      const paths = generateSite(site, FILES, TOTAL_BYTES);
      const buckets = { 'in place': `in-place-r${round}`, atomic: `atomic-r${round}` };
      for (const bucket of Object.values(buckets))
        await run('aws', ['--endpoint-url', local.url, 's3', 'mb', `s3://${bucket}`], bucket);
      const store = createKeyValueStore(local, env, buckets.atomic);
      const args = {
        'in place': ['--bucket', buckets['in place']],
        atomic: [
          '--bucket',
          buckets.atomic,
          '--release-mode',
          'atomic',
          '--key-value-store-arn',
          store,
          '--site',
          'site',
        ],
      };
      for (const [s, [scenario, prepare]] of scenarios.entries()) {
        prepare(paths);
        for (const mode of (round + s) % 2 ? [...MODES].reverse() : MODES) {
          const sample = await run(bin, ['deploy', '--source-dir', site, ...args[mode]], buckets[mode]);
          const key = `${scenario}\u0000${mode}`;
          samples.set(key, [...(samples.get(key) ?? []), sample]);
          process.stdout.write('.');
        }
      }
    }
    console.log('\n');
    const results: Record<string, Record<string, Omit<SiteRun, 'writes'>>> = {};
    const rows = [['scenario', 'mode', 'time', 'vs in place', 'requests', 'PUT', 'copies', 'KVS writes']];
    for (const [scenario] of scenarios) {
      results[scenario] = {};
      for (const mode of MODES) {
        const runs = samples.get(`${scenario}\u0000${mode}`)!;
        const of = (field: keyof SiteRun) => median(runs.map((r) => r[field]));
        results[scenario][mode] = {
          seconds: of('seconds'),
          requests: of('requests'),
          puts: of('puts'),
          copies: of('copies'),
          kvsWrites: of('kvsWrites'),
        };
      }
      for (const mode of MODES) {
        const r = results[scenario][mode];
        rows.push([
          scenario,
          mode,
          `${r.seconds.toFixed(2)} s`,
          `${(r.seconds / results[scenario]['in place'].seconds).toFixed(2)}x`,
          String(r.requests),
          String(r.puts),
          String(r.copies),
          String(r.kvsWrites),
        ]);
      }
    }
    console.log(table(rows));
    const out = join(__dirname, 'results', 'atomic.json');
    mkdirSync(join(out, '..'), { recursive: true });
    writeFileSync(
      out,
      `${JSON.stringify({ measured: new Date().toISOString(), files: FILES, bytes: TOTAL_BYTES, rounds: ROUNDS, addedMs: LATENCY_MS, node: process.version, results }, null, 2)}\n`,
    );
    console.log(`\nWritten: ${out}`);
  } finally {
    await proxy.stop();
  }
});
