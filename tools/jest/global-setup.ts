// Each jest run gets a temp folder of its own: TMPDIR, which os.tmpdir() in the workers and every child process
// read. global-teardown.js fails the run if the tests left anything in it.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export default async function globalSetup(
  _globalConfig: unknown,
  projectConfig: { displayName?: { name?: string } },
): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), `jest-${projectConfig.displayName?.name ?? 'run'}-`));
  process.env.JEST_RUN_TMPDIR = dir;
  process.env.TMPDIR = dir;
}
