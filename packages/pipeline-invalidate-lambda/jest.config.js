module.exports = {
  ...require('../../jest.preset.js'),
  displayName: 'pipeline-invalidate-lambda',
  rootDir: __dirname,
  // The plugin's subpath export points at its built output; in this workspace it is the TypeScript source.
  moduleNameMapper: { '^nx-aws-deploy/invalidate$': '<rootDir>/../nx-aws-deploy/src/invalidate.ts' },
};
