/**
 * `npm run bench:batch`: what CodeBuild batch builds (pipeline generator --batch) would save when many apps are
 * affected at once, for 2, 8 and 32 apps (synthetic: each builds a 200-file site from a shared library), with the
 * packed plugin installed in a scratch workspace and a local S3 in its own process.
 *
 * Measured here: each app's build + deploy alone (`nx run appN:deploy`, what a build of the batch runs), today's
 * single build (`nx run-many -t deploy` over all of them, Nx's default parallelism) and `npm ci` of the workspace
 * (what every build pays first). Estimated: a batch's wall time is the slowest build plus what each build pays
 * before it (install, and CodeBuild's provisioning, an ASSUMPTION: BENCH_BATCH_PROVISION_S, default 30 s, not
 * measured here); the single build pays provisioning and install once. Writes tools/bench/results/batch.json.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { table } from '../../packages/nx-aws-deploy/src/lib/util/format';
import { userEnv } from './installed';
import { runMeasured } from './peak-rss';
import { benchInUserWorkspace } from './harness';

const COUNTS = (process.env.BENCH_BATCH_APPS ?? '2,8,32').split(',').map(Number);
const PROVISION_SECONDS = Number(process.env.BENCH_BATCH_PROVISION_S ?? 30);
const FILES_PER_APP = 200;

/** An app whose build writes a small site (pages, content-hashed chunks) that names the shared library's version. */
function writeApp(ws: string, name: string): void {
  const root = join(ws, 'apps', name);
  mkdirSync(root, { recursive: true });
  writeFileSync(
    join(root, 'build.js'),
    `const fs = require('fs'), path = require('path'), crypto = require('crypto');
const lib = fs.readFileSync('libs/shared/version.txt', 'utf8');
const out = path.join('apps', ${JSON.stringify(name)}, 'dist');
fs.rmSync(out, { recursive: true, force: true });
for (let i = 0; i < ${FILES_PER_APP - 1}; i++) {
  const body = ${JSON.stringify(name)} + ' chunk ' + i + ' ' + lib + ' '.repeat(2000);
  const file = i % 10 === 0 ? 'page-' + i + '/index.html' : 'assets/c' + i + '-' + crypto.createHash('md5').update(body).digest('hex').slice(0, 8) + '.js';
  fs.mkdirSync(path.dirname(path.join(out, file)), { recursive: true });
  fs.writeFileSync(path.join(out, file), body);
}
fs.writeFileSync(path.join(out, 'index.html'), '<!doctype html><title>' + ${JSON.stringify(name)} + ' ' + lib + '</title>');
`,
  );
  writeFileSync(
    join(root, 'project.json'),
    JSON.stringify({
      name,
      root: `apps/${name}`,
      implicitDependencies: ['shared'],
      targets: {
        build: { executor: 'nx:run-commands', options: { command: `node apps/${name}/build.js` } },
        deploy: {
          executor: 'nx-aws-deploy:deploy-s3',
          dependsOn: ['build'],
          options: { sourceDir: `apps/${name}/dist`, bucket: `batch-${name}` },
        },
      },
    }),
  );
}

benchInUserWorkspace('batch', async ({ ws, local }) => {
  const env = userEnv(local);
  const nx = join(ws, 'node_modules', '.bin', 'nx');
  const run = async (command: string, args: string[]) => {
    const result = await runMeasured(command, args, { cwd: ws, env });
    if (result.code !== 0) throw new Error(`${command} ${args.join(' ')} failed:\n${result.stdout}\n${result.stderr}`);
    return result.seconds;
  };
  mkdirSync(join(ws, 'libs', 'shared'), { recursive: true });
  writeFileSync(join(ws, 'libs', 'shared', 'project.json'), JSON.stringify({ name: 'shared', root: 'libs/shared' }));
  // What every build of a batch pays before its own work: a clean install of the workspace.
  rmSync(join(ws, 'node_modules'), { recursive: true, force: true });
  const install = await run('npm', ['ci', '--prefer-offline', '--no-audit', '--no-fund', '--silent']);

  const results: Record<string, unknown>[] = [];
  const rows = [
    ['affected apps', 'run-many, all', 'slowest app alone', 'single build (est.)', 'batch (est.)', 'batch faster'],
  ];
  let created = 0;
  for (const count of COUNTS) {
    for (; created < count; created++) {
      writeApp(ws, `app${created}`);
      execFileSync('aws', ['--endpoint-url', local.url, 's3', 'mb', `s3://batch-app${created}`], {
        env,
        stdio: 'ignore',
      });
    }
    const apps = Array.from({ length: count }, (_, i) => `app${i}`);
    // A change in the shared library: every app is affected, and ships new bytes.
    writeFileSync(join(ws, 'libs', 'shared', 'version.txt'), `shared ${count} single`);
    const single = await run(nx, ['run-many', '-t', 'deploy', `--projects=${apps.join(',')}`, '--skip-nx-cache']);
    writeFileSync(join(ws, 'libs', 'shared', 'version.txt'), `shared ${count} batch`);
    const each: number[] = [];
    for (const app of apps) each.push(await run(nx, ['run', `${app}:deploy`, '--skip-nx-cache']));
    const slowest = Math.max(...each);
    const singleWall = PROVISION_SECONDS + install + single;
    const batchWall = PROVISION_SECONDS + install + slowest;
    results.push({ apps: count, perApp: each, slowest, single, singleWall, batchWall });
    rows.push([
      String(count),
      `${single.toFixed(1)} s`,
      `${slowest.toFixed(1)} s`,
      `${singleWall.toFixed(1)} s`,
      `${batchWall.toFixed(1)} s`,
      `${(singleWall / batchWall).toFixed(1)}x`,
    ]);
    process.stdout.write('.');
  }
  console.log(`\n\nnpm ci: ${install.toFixed(1)} s; CodeBuild provisioning assumed ${PROVISION_SECONDS} s per build\n`);
  console.log(table(rows));
  const out = join(__dirname, 'results', 'batch.json');
  mkdirSync(join(out, '..'), { recursive: true });
  writeFileSync(
    out,
    `${JSON.stringify({ measured: new Date().toISOString(), node: process.version, filesPerApp: FILES_PER_APP, install, provisionSecondsAssumed: PROVISION_SECONDS, results }, null, 2)}\n`,
  );
  console.log(`\nWritten: ${out}`);
});
