// Three workers on two cores: many of these tests wait (on stalled endpoints, a latency proxy, child processes),
// and the third keeps the cores busy meanwhile: 5m35s for npm test instead of 6m12s with two.
module.exports = {
  ...require('../../jest.preset.js'),
  displayName: 'nx-aws-deploy',
  rootDir: __dirname,
  maxWorkers: 3,
  // The package built as published, once per run when its sources changed (test/built-package.ts).
  globalSetup: require.resolve('./test/global-setup.ts'),
};
