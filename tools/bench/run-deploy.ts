// One deploy as its own process, so that it pays start-up like the aws CLI it is compared with.
// The deploy library alone (the package's main also carries the Nx plugin and generators).
import { deploy } from '../../packages/nx-aws-deploy/src/lib/deploy/deploy';

const [sourceDir, bucket, workspaceRoot] = process.argv.slice(2);
deploy({
  sourceDir,
  bucket,
  workspaceRoot,
  project: 'bench',
  maxDeletes: 100_000,
  concurrency: Number(process.env.BENCH_CONCURRENCY ?? 16),
  log: () => undefined,
}).catch((error) => {
  console.error(error.message);
  process.exit(1);
});
