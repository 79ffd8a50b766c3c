module.exports = {
  ...require('../../jest.preset.js'),
  displayName: 'pipeline-invalidate-lambda',
  rootDir: __dirname,
  // The plugin's subpath exports point at its built output; in this workspace it is the TypeScript source.
  moduleNameMapper: { '^nx-aws-deploy/(invalidate|previews)$': '<rootDir>/../nx-aws-deploy/src/$1.ts' },
};
