// CloudFront Function (cloudfront-js-2.0), viewer-response, beside the release router of a site whose releases are
// atomic: a page answered to the viewer pins the release it belongs to, the live one, in a session cookie, so that
// the files it names without a content hash in their names (images, a config script) come from that release too,
// however long the tab stays open and while a switch propagates (the router honours the pin while the release is
// kept). Cookies are not part of the cache key: each viewer's pin is its own. A pull request's preview host pins
// the preview's release in a cookie of its own, and every answer on it says noindex.
import cf from 'cloudfront';

// Set by `nx g nx-aws-deploy:pipeline`: the site's key in the store, the cookie the router reads, and whether
// pull-request previews are served (their hosts then pin the preview's release, and answer with noindex).
var CONFIG = { site: 'site', cookie: 'nxad-release-site', previews: false };

var store = cf.kvs();

// Replaced by the deploy's own previewOfHost (lib/releases/previews.ts), as in the router.
var previewOfHost = function () {
  return null;
};

async function live(key) {
  try {
    return JSON.parse(await store.get(key)).live;
    // eslint-disable-next-line @typescript-eslint/no-unused-vars -- a binding, for runtimes without ES2019's catch {}
  } catch (unreadable) {
    return null;
  }
}

async function handler(event) {
  var response = event.response;
  var host = event.request.headers.host;
  var preview = CONFIG.previews && host ? previewOfHost(host.value) : null;
  // A preview is for the pull request's reviewers, never for search engines.
  if (preview) response.headers['x-robots-tag'] = { value: 'noindex' };
  var type = response.headers['content-type'];
  var page = response.statusCode === 200 || response.statusCode === 304;
  if (!page || !type || type.value.indexOf('text/html') !== 0) return response;
  // The release the router served the page from: the preview's where it has one, else the site's.
  var release = preview ? await live(CONFIG.site + '@' + preview) : null;
  var cookie = release === null ? CONFIG.cookie : CONFIG.cookie + '-' + preview;
  if (release === null) release = await live(CONFIG.site);
  // No release live through the store yet: nothing to pin.
  if (release !== null)
    response.cookies[cookie] = { value: String(release), attributes: 'Path=/; HttpOnly; SameSite=Lax' };
  return response;
}
