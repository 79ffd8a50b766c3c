// Each jest run gets a temp folder of its own: TMPDIR, which os.tmpdir() in the workers and every child process
// read. global-teardown.js fails the run if the tests left anything in it.
const { mkdtempSync } = require('node:fs');
const { tmpdir } = require('node:os');
const { join } = require('node:path');

module.exports = async (_globalConfig, projectConfig) => {
  const dir = mkdtempSync(join(tmpdir(), `jest-${projectConfig.displayName?.name ?? 'run'}-`));
  process.env.JEST_RUN_TMPDIR = dir;
  process.env.TMPDIR = dir;
};
