// CloudFront Function (cloudfront-js-2.0), viewer-response, beside the release router of a site whose releases are
// atomic: a page answered to the viewer pins the release it belongs to, the live one, in a session cookie, so that
// the files it names without a content hash in their names (images, a config script) come from that release too,
// however long the tab stays open and while a switch propagates (the router honours the pin while the release is
// kept). Cookies are not part of the cache key: each viewer's pin is its own.
import cf from 'cloudfront';

// Set by `nx g nx-aws-deploy:pipeline`: the site's key in the store and the cookie the router reads.
var CONFIG = { site: 'site', cookie: 'nxad-release-site' };

var store = cf.kvs();

async function handler(event) {
  var response = event.response;
  var type = response.headers['content-type'];
  var page = response.statusCode === 200 || response.statusCode === 304;
  if (!page || !type || type.value.indexOf('text/html') !== 0) return response;
  try {
    var site = JSON.parse(await store.get(CONFIG.site));
    response.cookies[CONFIG.cookie] = { value: String(site.live), attributes: 'Path=/; HttpOnly; SameSite=Lax' };
    // eslint-disable-next-line @typescript-eslint/no-unused-vars -- a binding, for runtimes without ES2019's catch {}
  } catch (unreadable) {
    // No release live through the store yet: nothing to pin.
  }
  return response;
}
