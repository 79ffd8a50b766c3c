#!/usr/bin/env -S npx tsx
import { spawn } from 'node:child_process';
import { start } from './server';

const port = Number(process.env.LOCAL_AWS_PORT ?? 4566);

/**
 * `local-aws exec <command...>`: runs a command against the local AWS already listening on LOCAL_AWS_PORT, through
 * the SDK's standard variables. Credentials the local STS did not issue act as the account's administrator, so
 * placeholders do where the environment has none; a real profile's keys are never needed, nor printed.
 */
function exec([command, ...args]: string[]): void {
  if (!command) {
    console.error('local-aws exec needs a command, e.g. npm run local-aws -- exec npx nx run frontend:releases');
    process.exit(2);
  }
  const env = {
    ...process.env,
    AWS_ENDPOINT_URL: `http://127.0.0.1:${port}`,
    AWS_REGION: process.env.AWS_REGION ?? 'us-east-1',
    ...(process.env.AWS_ACCESS_KEY_ID ? {} : { AWS_ACCESS_KEY_ID: 'local', AWS_SECRET_ACCESS_KEY: 'local' }),
  };
  const child = spawn(command, args, { stdio: 'inherit', env });
  child.on('error', (error) => {
    console.error(`local-aws exec: cannot run ${command}: ${error.message}`);
    process.exit(127);
  });
  child.on('close', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
}

async function main(): Promise<void> {
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

if (process.argv[2] === 'exec') exec(process.argv.slice(3));
else
  main().catch((error) => {
    console.error(
      `local-aws could not start: ${error.code === 'EADDRINUSE' ? `port ${process.env.LOCAL_AWS_PORT ?? 4566} is in use; set LOCAL_AWS_PORT to another port (0 picks a free one)` : error.message}`,
    );
    process.exit(1);
  });
