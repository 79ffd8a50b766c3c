import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { repoRoot } from './installed';

export interface LocalAwsProcess {
  url: string;
  env: Record<string, string>;
  /** Requests to `bucket` since the last reset, by operation. */
  requestsTo(bucket: string): Promise<Record<string, number>>;
  /** Requests since the last reset, by operation, all of them (the log behind requestsTo keeps the latest 50 000). */
  requests(): Promise<Record<string, number>>;
  resetRequests(): Promise<void>;
  stop(): void;
}

/**
 * The local AWS in a process of its own, so that the bench's own work (sampling memory, spawning) does not slow the
 * server that every tool talks to.
 */
export async function startLocalAwsProcess(): Promise<LocalAwsProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', join(repoRoot, 'tools', 'local-aws', 'src', 'cli.ts')], {
    env: { ...process.env, LOCAL_AWS_PORT: '0' },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const url = await new Promise<string>((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (chunk) => {
      out += chunk;
      const match = /AWS_ENDPOINT_URL=(\S+)/.exec(out);
      if (match) resolve(match[1]);
    });
    child.on('exit', (code) => reject(new Error(`local-aws exited (${code}) before it was ready`)));
  });
  let stopping = false;
  process.on('exit', () => child.kill('SIGTERM'));
  // The bench cannot go on without it: say so at once rather than let every tool retry against nothing.
  child.on('exit', (code, signal) => {
    if (stopping) return;
    console.error(`local-aws exited (${signal ?? code}) during the bench`);
    process.exit(1);
  });
  const admin = async (path: string, method = 'GET') => (await fetch(`${url}/_local/${path}`, { method })).json();
  return {
    url,
    env: {
      AWS_ENDPOINT_URL: url,
      AWS_ACCESS_KEY_ID: 'local',
      AWS_SECRET_ACCESS_KEY: 'local',
      AWS_REGION: 'us-east-1',
      AWS_DEFAULT_REGION: 'us-east-1',
      AWS_EC2_METADATA_DISABLED: 'true',
      AWS_PAGER: '',
    },
    requestsTo: async (bucket) => {
      const log = (await admin('requests/log')) as { operation: string; path: string }[];
      const counts: Record<string, number> = {};
      for (const r of log)
        if (r.path === `/${bucket}` || r.path.startsWith(`/${bucket}/`))
          counts[r.operation] = (counts[r.operation] ?? 0) + 1;
      return counts;
    },
    requests: async () => (await admin('requests')) as Record<string, number>,
    resetRequests: async () => void (await admin('requests', 'DELETE')),
    stop: () => {
      stopping = true;
      child.kill('SIGTERM');
    },
  };
}
