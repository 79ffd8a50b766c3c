// CloudFront Function (cloudfront-js-2.0), viewer-request, for sites deployed with releaseMode "atomic": serves
// the live release of the site, which one value in the associated KeyValueStore names, so that one write of it
// makes a release live or rolls it back everywhere, with no invalidation (CloudFront caches by the rewritten URI,
// so each release's files are their own cache keys). Files whose names carry a content hash are shared by all
// releases at their own keys (one name is always the same bytes): a tab opened on an older release keeps loading
// its lazy chunks. Every other file is in a release folder, /_releases/<n>/, which the site's file index in the
// same store names for each path and release (key "<site>/<path>", see lib/releases/file-index.ts): a file
// unchanged for many releases is one object. The deploy's own isContentHashed and resolveFolder are put in below
// by the generator. A page is always the live release's; the other files are those of the release the viewer's
// page came from, which the release pin (release-pin.cloudfront.js, viewer-response) keeps in a cookie, while that
// release is kept: a page and the files it names come from one release, during a switch's propagation and in a tab
// opened before it. Also answers folder URLs with their index.html and the app's deep links with its index.html,
// and serves Storybook under /storybook/ where enabled. When the store cannot be read (no release made live yet),
// the request is served as it came: the files of an in-place deploy. Where previews are on, a host whose first
// label is a pull request's preview (pr-<n>.<preview domain>) is served that preview's live release, from its
// own folder (/_previews/pr-<n>/, so never a cache key of the site's), or the site's where the pull request did
// not change this app; with a password set, after HTTP basic auth. The previews' folder is never served as it is.
import cf from 'cloudfront';
import crypto from 'crypto';

// Set by `nx g nx-aws-deploy:pipeline`: the site's key in the store, the cookie that pins a viewer's release,
// whether /storybook/ is served, whether the app's deep links are answered with its index.html (an SPA), and
// whether pull-request previews are served.
var CONFIG = { site: 'site', cookie: 'nxad-release-site', storybook: false, spa: true, previews: false };

// No store where the site is deployed in place (a dev router for Storybook and the app's routes only).
var store = null;
try {
  store = cf.kvs();
  // eslint-disable-next-line @typescript-eslint/no-unused-vars -- a binding, for runtimes without ES2019's catch {}
} catch (notAssociated) {
  store = null;
}

// Replaced by the deploy's own isContentHashed (lib/deploy/headers.ts) when the generator writes the function.
var isContentHashed = function () {
  return false;
};

// Replaced by the deploy's own resolveFolder (lib/releases/file-index.ts): the folder of a path's value for a release.
var resolveFolder = function () {
  return null;
};

// Replaced by the deploy's own previewOfHost (lib/releases/previews.ts): the preview a Host header names, if any.
var previewOfHost = function () {
  return null;
};

// A key's value as JSON; null when the store has none (or there is no store).
async function read(key) {
  try {
    return JSON.parse(await store.get(key));
    // eslint-disable-next-line @typescript-eslint/no-unused-vars -- a binding, for runtimes without ES2019's catch {}
  } catch (missing) {
    return null;
  }
}

// Where the previews have a password (its salted SHA-256 in the store): the viewer's basic auth must give it.
async function passwordRefusal(authorization) {
  var stored = await read(CONFIG.site + '@password');
  if (!stored) return null;
  var given = null;
  if (authorization && authorization.value.indexOf('Basic ') === 0) {
    var pair = Buffer.from(authorization.value.substring(6), 'base64').toString();
    given = pair.substring(pair.indexOf(':') + 1);
  }
  if (
    given !== null &&
    crypto
      .createHash('sha256')
      .update(stored.salt + given)
      .digest('hex') === stored.sha256
  )
    return null;
  return {
    statusCode: 401,
    statusDescription: 'Unauthorized',
    headers: {
      'www-authenticate': { value: 'Basic realm="Preview", charset="UTF-8"' },
      'x-robots-tag': { value: 'noindex' },
      'cache-control': { value: 'no-store' },
    },
  };
}

async function handler(event) {
  var request = event.request;
  var uri = request.uri;
  if (uri.indexOf('/_previews/') === 0) return { statusCode: 404, statusDescription: 'Not Found' };
  var preview = CONFIG.previews && request.headers.host ? previewOfHost(request.headers.host.value) : null;
  if (preview) {
    var refusal = await passwordRefusal(request.headers.authorization);
    if (refusal) return refusal;
  }
  if (CONFIG.storybook && uri === '/storybook') {
    return { statusCode: 301, statusDescription: 'Moved Permanently', headers: { location: { value: '/storybook/' } } };
  }
  var storybook = CONFIG.storybook && uri.indexOf('/storybook/') === 0;
  if (uri.endsWith('/')) {
    if (uri !== '/') uri = uri + 'index.html';
  } else if (CONFIG.spa && !storybook && uri.substring(uri.lastIndexOf('/') + 1).indexOf('.') === -1) {
    // A path without a file extension is an app route: the SPA's index.html answers it.
    uri = '/index.html';
  }
  // The preview's live release where the pull request changed this app, else the site's.
  var key = preview ? CONFIG.site + '@' + preview : CONFIG.site;
  var site = preview ? await read(key) : null;
  var base = site ? '/_previews/' + preview : '';
  if (!site) {
    key = CONFIG.site;
    site = await read(key);
  }
  if (!site) {
    request.uri = uri;
    return request;
  }
  var path = uri === '/' ? 'index.html' : uri.substring(1);
  if (isContentHashed(path)) {
    request.uri = base + uri;
    return request;
  }
  var view = site.live;
  var pinned = request.cookies[base ? CONFIG.cookie + '-' + preview : CONFIG.cookie];
  if (pinned && !path.endsWith('.html') && site.kept && site.kept.indexOf(Number(pinned.value)) >= 0) {
    view = Number(pinned.value);
  }
  var folder;
  try {
    folder = resolveFolder(await store.get(key + '/' + path), view);
    // eslint-disable-next-line @typescript-eslint/no-unused-vars -- a binding, for runtimes without ES2019's catch {}
  } catch (notIndexed) {
    folder = null;
  }
  // A file the live release does not have: its own folder has none either (the bucket answers as for any such file).
  request.uri = base + '/_releases/' + (folder === null ? view : folder) + '/' + path;
  return request;
}
