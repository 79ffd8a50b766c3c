// CloudFront Function (cloudfront-js-2.0), viewer-request, for dev distributions: serves Storybook under
// /storybook/ and index.html for folder URLs (CloudFront's DefaultRootObject covers only /), and answers
// the app's deep links (/pricing) with its index.html. `/storybook` is redirected rather than rewritten so
// that Storybook's relative asset URLs resolve.
function handler(event) {
  var request = event.request;
  var uri = request.uri;
  if (uri === '/storybook') {
    return { statusCode: 301, statusDescription: 'Moved Permanently', headers: { location: { value: '/storybook/' } } };
  }
  if (uri.endsWith('/')) {
    if (uri !== '/') request.uri = uri + 'index.html';
    return request;
  }
  // A path without a file extension outside Storybook is an app route: the SPA's index.html answers it.
  var last = uri.substring(uri.lastIndexOf('/') + 1);
  if (last.indexOf('.') === -1 && uri.indexOf('/storybook/') !== 0) request.uri = '/index.html';
  return request;
}
