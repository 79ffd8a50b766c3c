/**
 * `npm run bench`: nx-aws-deploy as users run it (`nx run site:deploy` and `node_modules/.bin/nx-aws-deploy deploy`
 * of the packed, installed package) beside `aws s3 sync`, s3-sync-client, s3-spa-upload and an SDK floor, on the
 * same local S3, interleaved, in rounds (median), with the requests each made; then a 20 000-file first deploy by
 * every tool for its peak memory (the whole process tree), and their no-op with a delay added to every request as S3's
 * round trips add it. Prints tables and writes tools/bench/results/deploy-s3.json. Numbers, not assertions.
 * BENCH_ROUNDS (3), BENCH_FILES (2 000), BENCH_BYTES (34 MB), BENCH_RSS_FILES (20 000), BENCH_LATENCY_MS (30).
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { table } from '../../packages/nx-aws-deploy/src/lib/util/format';
import { PEERS, userEnv } from './installed';
import { median, runMeasured } from './peak-rss';
import { bytes, generateSite, touchAll } from './site';
import { benchInUserWorkspace } from './harness';
import { startFaultProxy } from 'fault-proxy';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const FILES = Number(process.env.BENCH_FILES ?? 2000);
const TOTAL_BYTES = Number(process.env.BENCH_BYTES ?? 34 * 1024 * 1024);
const RSS_FILES = Number(process.env.BENCH_RSS_FILES ?? 20_000);
const LATENCY_MS = Number(process.env.BENCH_LATENCY_MS ?? 30);
const CHANGED = 20;

interface Tool {
  name: string;
  command(bucket: string, dir: string): [string, string[]];
}

/** The tools side by side; the aws CLI is given `endpoint` as a flag (older CLIs ignore AWS_ENDPOINT_URL). */
function tools(ws: string, endpoint: string): Tool[] {
  const bin = (name: string) => join(ws, 'node_modules', '.bin', name);
  return [
    {
      name: 'aws s3 sync',
      command: (b, dir) => [
        'aws',
        ['--endpoint-url', endpoint, 's3', 'sync', dir, `s3://${b}`, '--delete', '--only-show-errors'],
      ],
    },
    { name: 's3-sync-client', command: (b, dir) => [process.execPath, ['s3-sync-client.cjs', dir, b]] },
    { name: 's3-spa-upload', command: (b, dir) => [bin('s3-spa-upload'), [dir, b, '--delete']] },
    {
      name: 'nx run site:deploy',
      command: (b, dir) => [
        bin('nx'),
        ['run', 'site:deploy', `--bucket=${b}`, `--sourceDir=${dir.slice(ws.length + 1)}`],
      ],
    },
    {
      name: 'nx-aws-deploy deploy',
      command: (b, dir) => [
        bin('nx-aws-deploy'),
        ['deploy', '--source-dir', dir, '--bucket', b, '--max-deletes', '1000000'],
      ],
    },
    { name: 'SDK floor', command: (b, dir) => [process.execPath, ['sdk-floor.cjs', dir, b]] },
  ];
}

const PUT_OPERATIONS = ['s3.PutObject', 's3.UploadPart', 's3.CopyObject'];

benchInUserWorkspace('deploy-s3', async ({ ws, local }) => {
  const env = userEnv(local);
  const all = tools(ws, local.url);
  const awsVersion = execFileSync('aws', ['--version'], { encoding: 'utf8' }).trim();
  const makeBucket = (name: string) =>
    execFileSync('aws', ['--endpoint-url', local.url, 's3', 'mb', `s3://${name}`], { env, stdio: 'ignore' });

  const run = async (tool: Tool, bucket: string, dir: string, { sampleRss = false, toolEnv = env } = {}) => {
    await local.resetRequests();
    const [command, args] = tool.command(bucket, dir);
    const result = await runMeasured(command, args, { cwd: ws, env: toolEnv, sampleRss });
    if (result.code !== 0) throw new Error(`${tool.name} failed (${result.code}):\n${result.stdout}\n${result.stderr}`);
    const counts = await local.requestsTo(bucket);
    const bookkeeping = await local.requestsTo(`${bucket}/.nx-aws-deploy`);
    const puts = PUT_OPERATIONS.reduce((n, op) => n + (counts[op] ?? 0), 0);
    const bookkeepingPuts = PUT_OPERATIONS.reduce((n, op) => n + (bookkeeping[op] ?? 0), 0);
    const requests = Object.values(counts).reduce((n, c) => n + c, 0);
    return {
      seconds: result.seconds,
      peakRssMb: result.peakRssMb,
      puts: puts - bookkeepingPuts,
      bookkeepingPuts,
      requests,
      listPages: counts['s3.ListObjectsV2'] ?? 0,
    };
  };

  const site = join(ws, 'apps', 'site', 'dist');
  const scenarios: [string, (paths: string[]) => void][] = [
    ['first deploy', () => undefined],
    ['no-op', () => undefined],
    ['CI rebuild, same bytes', () => touchAll(site)],
    [
      `${CHANGED} files changed`,
      (paths) =>
        paths
          .filter((p) => p.startsWith('assets/'))
          .slice(0, CHANGED)
          .forEach((p, i) => writeFileSync(join(site, p), bytes(900_000 + i, 4000))),
    ],
  ];
  type Sample = Awaited<ReturnType<typeof run>>;
  const samples = new Map<string, Sample[]>();
  console.log(`Site: ${FILES} files, ${(TOTAL_BYTES / 1024 / 1024).toFixed(0)} MB; ${ROUNDS} rounds; ${awsVersion}\n`);
  for (let round = 0; round < ROUNDS; round++) {
    const paths = generateSite(site, FILES, TOTAL_BYTES);
    for (const tool of all) makeBucket(`r${round}-${slug(tool.name)}`);
    for (const [s, [scenario, prepare]] of scenarios.entries()) {
      prepare(paths);
      // Each round and scenario starts with another tool, so no tool always runs on a warm or a cold machine.
      const order = all.map((_, i) => all[(i + round + s) % all.length]);
      for (const tool of order) {
        const sample = await run(tool, `r${round}-${slug(tool.name)}`, site);
        const key = `${scenario}\u0000${tool.name}`;
        samples.set(key, [...(samples.get(key) ?? []), sample]);
        process.stdout.write('.');
      }
    }
  }
  console.log('\n');

  const results: Record<
    string,
    Record<string, { seconds: number; ratio: number; puts: number; bookkeepingPuts: number; requests: number }>
  > = {};
  const rows = [['scenario', ...all.map((t) => t.name)]];
  for (const [scenario] of scenarios) {
    const base = median(samples.get(`${scenario}\u0000aws s3 sync`)!.map((s) => s.seconds));
    results[scenario] = {};
    const cells = all.map((tool) => {
      const runs = samples.get(`${scenario}\u0000${tool.name}`)!;
      const seconds = median(runs.map((r) => r.seconds));
      const puts = median(runs.map((r) => r.puts));
      const bookkeepingPuts = median(runs.map((r) => r.bookkeepingPuts));
      const requests = median(runs.map((r) => r.requests));
      results[scenario][tool.name] = { seconds, ratio: seconds / base, puts, bookkeepingPuts, requests };
      // Writes of the deploy's own bookkeeping (lease, state) are shown apart: "+2".
      return `${seconds.toFixed(2)} s ${(seconds / base).toFixed(2)}x ${puts}${bookkeepingPuts ? `+${bookkeepingPuts}` : ''} PUT`;
    });
    rows.push([scenario, ...cells]);
  }
  console.log(table(rows));

  // Start-up of the installed command, what every run pays first.
  const helpRuns: number[] = [];
  for (let i = 0; i < 5; i++)
    helpRuns.push(
      (await runMeasured(join(ws, 'node_modules', '.bin', 'nx-aws-deploy'), ['--help'], { cwd: ws, env })).seconds,
    );
  const startup = median(helpRuns);
  console.log(`\nnx-aws-deploy --help: ${(startup * 1000).toFixed(0)} ms (median of 5)`);

  // Nx alone (a target that does nothing), what `nx run` pays before any deploy: with the buildspec's variables,
  // and with Nx's default of a worker process per plugin.
  const nxAlone = async (nxEnv: NodeJS.ProcessEnv) => {
    const runs: number[] = [];
    for (let i = 0; i < 5; i++)
      runs.push(
        (await runMeasured(join(ws, 'node_modules', '.bin', 'nx'), ['run', 'site:noop'], { cwd: ws, env: nxEnv }))
          .seconds,
      );
    return median(runs);
  };
  const { NX_ISOLATE_PLUGINS: _inProcess, ...isolatedEnv } = env;
  const nxSeconds = { buildspec: await nxAlone(env), isolatedPlugins: await nxAlone(isolatedEnv) };
  const noOpBase = results['no-op']['aws s3 sync'].seconds;
  console.log(
    `nx run site:noop (Nx alone, median of 5): ${nxSeconds.buildspec.toFixed(2)} s, ${(nxSeconds.buildspec / noOpBase).toFixed(2)}x the no-op of aws s3 sync; ` +
      `with a worker process per plugin (Nx's default): ${nxSeconds.isolatedPlugins.toFixed(2)} s, ${(nxSeconds.isolatedPlugins / noOpBase).toFixed(2)}x`,
  );

  console.log(`\nPeak memory of a first deploy of ${RSS_FILES} small files (process tree):\n`);
  const many = join(ws, 'apps', 'many', 'dist');
  generateSite(many, RSS_FILES, RSS_FILES * 600);
  const memory: Record<string, { peakRssMb: number; seconds: number }> = {};
  for (const tool of all) {
    const bucket = `rss-${slug(tool.name)}`;
    makeBucket(bucket);
    const sample = await run(tool, bucket, many, { sampleRss: true });
    memory[tool.name] = { peakRssMb: sample.peakRssMb, seconds: sample.seconds };
  }
  console.log(
    table([
      ['tool', 'peak RSS', 'time'],
      ...all.map((t) => [
        t.name,
        `${memory[t.name].peakRssMb.toFixed(0)} MB`,
        `${memory[t.name].seconds.toFixed(1)} s`,
      ]),
    ]),
  );

  // On S3 every request is a round trip of its own (tens of milliseconds), where the local S3 answers within a
  // millisecond: a first deploy of the 2 000-file site and the no-op of the 20 000 files again, each request
  // delayed by a proxy. s3-spa-upload's no-op is left out: it uploads every file each time.
  const proxy = await startFaultProxy({ target: local.url, rate: 0, latencyMs: LATENCY_MS, lifetimeMs: 3_600_000 });
  type Latency = { seconds: number; ratio: number; puts: number; requests: number; listPages: number };
  const latency: Record<string, Record<string, Latency>> = {};
  try {
    const slowTools = tools(ws, proxy.url);
    const slowScenarios = [
      {
        name: `first deploy, ${FILES} files`,
        dir: site,
        // A first deploy: a new bucket per round and tool.
        bucket: (round: number, tool: Tool) => `lat-r${round}-${slug(tool.name)}`,
        noOp: false,
        tools: slowTools,
      },
      {
        name: `no-op, ${RSS_FILES} files`,
        dir: many,
        // Again into the bucket each tool filled in the memory scenario: nothing may be uploaded.
        bucket: (_: number, tool: Tool) => `rss-${slug(tool.name)}`,
        noOp: true,
        tools: slowTools.filter((t) => t.name !== 's3-spa-upload'),
      },
    ];
    console.log(`\nWith ${LATENCY_MS} ms added to every request (median of ${ROUNDS}):\n`);
    for (const scenario of slowScenarios) {
      const slowSamples = new Map<string, Sample[]>();
      for (let round = 0; round < ROUNDS; round++)
        for (const tool of scenario.tools.map((_, i) => scenario.tools[(i + round) % scenario.tools.length])) {
          const bucket = scenario.bucket(round, tool);
          if (!scenario.noOp) makeBucket(bucket);
          const sample = await run(tool, bucket, scenario.dir, { toolEnv: { ...env, AWS_ENDPOINT_URL: proxy.url } });
          if (scenario.noOp && sample.puts) throw new Error(`${tool.name}: ${sample.puts} PUTs on a no-op`);
          slowSamples.set(tool.name, [...(slowSamples.get(tool.name) ?? []), sample]);
          process.stdout.write('.');
        }
      const base = median(slowSamples.get('aws s3 sync')!.map((r) => r.seconds));
      latency[scenario.name] = {};
      for (const tool of scenario.tools) {
        const runs = slowSamples.get(tool.name)!;
        const seconds = median(runs.map((r) => r.seconds));
        latency[scenario.name][tool.name] = {
          seconds,
          ratio: seconds / base,
          puts: median(runs.map((r) => r.puts)),
          requests: median(runs.map((r) => r.requests)),
          listPages: median(runs.map((r) => r.listPages)),
        };
      }
      console.log(
        `\n${table([
          [scenario.name, 'time', 'vs aws s3 sync', 'site PUTs', 'requests', 'list pages'],
          ...scenario.tools.map((t) => {
            const l = latency[scenario.name][t.name];
            return [
              t.name,
              `${l.seconds.toFixed(2)} s`,
              `${l.ratio.toFixed(2)}x`,
              String(l.puts),
              String(l.requests),
              String(l.listPages),
            ];
          }),
        ])}\n`,
      );
    }
  } finally {
    await proxy.stop();
  }

  const out = join(__dirname, 'results', 'deploy-s3.json');
  mkdirSync(join(out, '..'), { recursive: true });
  writeFileSync(
    out,
    `${JSON.stringify({ measured: new Date().toISOString(), files: FILES, bytes: TOTAL_BYTES, rounds: ROUNDS, aws: awsVersion, helpSeconds: startup, nxAloneSeconds: nxSeconds, peers: PEERS, node: process.version, results, memory: { files: RSS_FILES, ...memory }, latency: { addedMs: LATENCY_MS, ...latency } }, null, 2)}\n`,
  );
  console.log(`\nWritten: ${out}`);
});

function slug(name: string): string {
  return name
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-|-$/g, '');
}
