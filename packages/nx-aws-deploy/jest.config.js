// Two workers: most of these tests wait on child processes (nx, the deploy command, the aws CLI), not the CPU.
module.exports = {
  ...require('../../jest.preset.js'),
  displayName: 'nx-aws-deploy',
  rootDir: __dirname,
  maxWorkers: 2,
  // The package built as published, once per run when its sources changed (test/built-package.ts).
  globalSetup: require.resolve('./test/global-setup.ts'),
};
