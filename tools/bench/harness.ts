import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { installUserWorkspace } from './installed';
import { startLocalAwsProcess, type LocalAwsProcess } from './local-aws-process';
import { scratchFolder } from './scratch';

/**
 * Runs a bench: the plugin packed and installed in a user workspace (`ws`) in a scratch folder, the local AWS in
 * its own process, both gone afterwards; a failure is printed and exits 1.
 */
export function benchInUserWorkspace(
  name: string,
  bench: (setup: { ws: string; local: LocalAwsProcess }) => Promise<void>,
): void {
  const run = async () => {
    const scratch = scratchFolder(`bench-${name}-`);
    const local = await startLocalAwsProcess();
    try {
      const ws = join(scratch, 'ws');
      mkdirSync(ws);
      console.log('Installing the packed plugin, nx and the peers into a scratch workspace…');
      installUserWorkspace(ws);
      await bench({ ws, local });
    } finally {
      local.stop();
    }
  };
  run().catch((error) => {
    console.error(error);
    process.exit(1);
  });
}
