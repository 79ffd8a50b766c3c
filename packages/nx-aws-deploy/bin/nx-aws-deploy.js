#!/usr/bin/env node
// The built package runs its JavaScript; inside this repository the TypeScript source runs through swc.
const { existsSync } = require('node:fs');
const { join } = require('node:path');

const built = join(__dirname, '..', 'src', 'cli.js');
if (existsSync(built)) {
  require(built);
} else {
  require('@swc-node/register');
  require(join(__dirname, '..', 'src', 'cli.ts'));
}
