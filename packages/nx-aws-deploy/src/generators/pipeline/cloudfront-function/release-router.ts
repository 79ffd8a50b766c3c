import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { UserError } from '../../../lib/util/errors';

/** CloudFront's limit on a function's code. */
export const MAX_FUNCTION_BYTES = 10 * 1024;

/**
 * The release router (release-router.js) for one site: the key of its live release in the store, and whether it
 * serves Storybook under /storybook/. Refused when CloudFront would refuse it.
 */
export function releaseRouterCode(config: { site: string; storybook: boolean }): string {
  const source = readFileSync(join(__dirname, 'release-router.js'), 'utf8');
  const code = source.replace(/^var CONFIG = .*;$/m, `var CONFIG = ${JSON.stringify(config)};`);
  if (Buffer.byteLength(code) > MAX_FUNCTION_BYTES)
    throw new UserError(
      `The release router for "${config.site}" would be ${Buffer.byteLength(code)} bytes: CloudFront takes at most ${MAX_FUNCTION_BYTES}.`,
    );
  return code;
}
