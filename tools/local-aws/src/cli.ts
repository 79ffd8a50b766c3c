#!/usr/bin/env -S npx tsx
import { start } from './server';

async function main(): Promise<void> {
  const port = Number(process.env.LOCAL_AWS_PORT ?? 4566);
  const dataDir = process.env.LOCAL_AWS_DATA_DIR || undefined;
  const aws = await start({
    port,
    dataDir,
    debug: process.env.LOCAL_AWS_DEBUG === '1' || process.argv.includes('--debug'),
  });
  console.log(
    `local-aws ready: AWS_ENDPOINT_URL=${aws.url} (S3, CloudFront, CodePipeline); edge: ${aws.edgeUrl('<distribution-id>')}/; data: ${dataDir ?? 'in memory'}`,
  );
  const shutdown = async (signal: string) => {
    await aws.stop();
    console.log(`local-aws stopped (${signal})`);
    process.exit(0);
  };
  process.once('SIGINT', () => void shutdown('SIGINT'));
  process.once('SIGTERM', () => void shutdown('SIGTERM'));
}

main().catch((error) => {
  console.error(
    `local-aws could not start: ${error.code === 'EADDRINUSE' ? `port ${process.env.LOCAL_AWS_PORT ?? 4566} is in use; set LOCAL_AWS_PORT to another port (0 picks a free one)` : error.message}`,
  );
  process.exit(1);
});
