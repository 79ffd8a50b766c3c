// Two workers: most of these tests wait on child processes (nx, the deploy command, the aws CLI), not the CPU.
module.exports = {
  ...require('../../jest.preset.js'),
  displayName: 'nx-aws-deploy',
  rootDir: __dirname,
  maxWorkers: 2,
};
