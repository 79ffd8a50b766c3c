import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { isContentHashed } from '../../../lib/deploy/headers';
import { resolveFolder } from '../../../lib/releases/file-index';
import { previewOfHost } from '../../../lib/releases/previews';
import { UserError } from '../../../lib/util/errors';

/** CloudFront's limit on a function's code. */
export const MAX_FUNCTION_BYTES = 10 * 1024;

/**
 * The release router (release-router.cloudfront.js) for one site: the key of its live release in the store, whether it
 * serves Storybook under /storybook/ and answers app routes with index.html, and the deploy's isContentHashed and
 * resolveFolder. Refused when CloudFront would refuse it.
 */
export function releaseRouterCode(config: {
  site: string;
  storybook: boolean;
  spa: boolean;
  previews?: boolean;
}): string {
  const source = readFileSync(join(__dirname, 'release-router.cloudfront.js'), 'utf8');
  const { site, storybook, spa } = config;
  const settings = { site, cookie: releaseCookie(site), storybook, spa, previews: Boolean(config.previews) };
  const code = withPreviewOfHost(source.replace(/^var CONFIG = .*;$/m, `var CONFIG = ${JSON.stringify(settings)};`))
    // The one classification of the deploy and the router: what is shared, what is a release's own.
    .replace(
      /^var isContentHashed = function \(\) \{\n {2}return false;\n\};$/m,
      () => `var isContentHashed = ${isContentHashed.toString()};`,
    )
    // The one reading of the file index, the deploy's and the router's.
    .replace(
      /^var resolveFolder = function \(\) \{\n {2}return null;\n\};$/m,
      () => `var resolveFolder = ${resolveFolder.toString()};`,
    );
  return withinLimit(code, `The release router for "${config.site}"`);
}

/** The cookie that pins a viewer's release of `site` (a cookie name takes no separators). */
export function releaseCookie(site: string): string {
  return `nxad-release-${site.replace(/[^A-Za-z0-9_-]/g, '_')}`;
}

/** The release pin (release-pin.cloudfront.js, viewer-response) of one site. */
export function releasePinCode(site: string, previews = false): string {
  const source = readFileSync(join(__dirname, 'release-pin.cloudfront.js'), 'utf8');
  const config = { site, cookie: releaseCookie(site), previews };
  return withinLimit(
    withPreviewOfHost(source.replace(/^var CONFIG = .*;$/m, `var CONFIG = ${JSON.stringify(config)};`)),
    `The release pin for "${site}"`,
  );
}

/** The one reading of a preview's host, the router's and the pin's. */
function withPreviewOfHost(source: string): string {
  return source.replace(
    /^var previewOfHost = function \(\) \{\n {2}return null;\n\};$/m,
    () => `var previewOfHost = ${previewOfHost.toString()};`,
  );
}

function withinLimit(code: string, what: string): string {
  if (Buffer.byteLength(code) > MAX_FUNCTION_BYTES)
    throw new UserError(
      `${what} would be ${Buffer.byteLength(code)} bytes: CloudFront takes at most ${MAX_FUNCTION_BYTES}.`,
    );
  return code;
}
