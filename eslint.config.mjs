// One ESLint config for every project; each project's `lint` script (an Nx target inferred from package.json) runs it.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  {
    ignores: [
      '**/node_modules/',
      '**/dist/',
      '**/storybook-static/',
      '**/coverage/',
      '**/.tmp-lambda-*/',
      '**/generators/*/files/',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { ecmaVersion: 2022, sourceType: 'module', globals: { console: 'readonly', process: 'readonly' } },
    rules: {
      // Unused names are a compile error already (noUnusedLocals); `_` marks a deliberately unused parameter.
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  {
    // The emulator and the test helpers walk untyped wire bodies, XML and CloudFormation documents.
    files: ['tools/local-aws/src/**', '**/*.spec.ts', 'packages/nx-aws-deploy/test/**'],
    rules: { '@typescript-eslint/no-explicit-any': 'off' },
  },
  {
    // CommonJS files: jest configs, the reporter and hooks, the bin launcher, the CloudFront Function, bench runners.
    files: ['**/*.js', '**/*.cjs'],
    languageOptions: {
      sourceType: 'commonjs',
      globals: { require: 'readonly', module: 'writable', __dirname: 'readonly', exports: 'writable' },
    },
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
  {
    // A CloudFront Function: `handler` is called by the CloudFront runtime, and the code ships inlined in templates.
    files: ['**/cloudfront-function/*.js'],
    // cloudfront-js-2.0 has Buffer as a global.
    languageOptions: { globals: { Buffer: 'readonly' } },
    rules: { '@typescript-eslint/no-unused-vars': ['error', { varsIgnorePattern: '^handler$' }] },
  },
);
