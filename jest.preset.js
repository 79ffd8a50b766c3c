// Shared jest settings: TypeScript through swc (type checking is the `typecheck` target's job).
module.exports = {
  testEnvironment: 'node',
  transform: { '^.+\\.(t|j)s$': ['@swc/jest', { jsc: { target: 'es2022' } }] },
  moduleFileExtensions: ['ts', 'js', 'json'],
  testMatch: ['**/?(*.)+(spec|test).ts'],
  testTimeout: 60_000,
  reporters: ['default', require.resolve('./tools/jest/summary-reporter.js')],
  globalSetup: require.resolve('./tools/jest/global-setup.ts'),
  globalTeardown: require.resolve('./tools/jest/global-teardown.js'),
};
