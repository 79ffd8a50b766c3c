// Every test removes what it creates (tempDir() in scratch.ts does it for them): anything left in the run's temp
// folder (see global-setup.js) fails the run. The folder itself is removed either way.
const { readdirSync, rmSync } = require('node:fs');

// Caches that tools the tests spawn keep in the temp dir by themselves (tsx, swc-node, jest): not test scratch.
const TOOL_CACHES = /^(tsx|swc-node|jest)[-_]\d+$/;

module.exports = async () => {
  const dir = process.env.JEST_RUN_TMPDIR;
  if (!dir) return;
  const left = readdirSync(dir).filter((name) => !TOOL_CACHES.test(name));
  rmSync(dir, { recursive: true, force: true });
  if (left.length) {
    throw new Error(
      `The tests left ${left.length} entr${left.length === 1 ? 'y' : 'ies'} in the temp dir: ${left.sort().join(', ')}. Create scratch folders with tempDir() (tools/jest/scratch.ts), or remove them in the test.`,
    );
  }
};
