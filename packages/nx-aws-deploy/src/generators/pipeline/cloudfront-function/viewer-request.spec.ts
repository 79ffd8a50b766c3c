import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import vm from 'node:vm';

/** Runs the function as CloudFront Functions do: a script defining `handler(event)`, in its own context. */
function viewerRequest(uri: string) {
  const context = vm.createContext({});
  vm.runInContext(readFileSync(join(__dirname, 'viewer-request.js'), 'utf8'), context);
  context.event = {
    version: '1.0',
    context: { eventType: 'viewer-request' },
    viewer: { ip: '127.0.0.1' },
    request: { method: 'GET', uri, querystring: {}, headers: {}, cookies: {} },
  };
  return vm.runInContext('handler(event)', context);
}

it.each([
  ['/', { uri: '/' }],
  ['/storybook/', { uri: '/storybook/index.html' }],
  ['/docs/', { uri: '/docs/index.html' }],
  ['/pricing', { uri: '/index.html' }],
  ['/users/42/settings', { uri: '/index.html' }],
  ['/assets/index-B-XZhOr9.js', { uri: '/assets/index-B-XZhOr9.js' }],
  ['/storybook/iframe.html', { uri: '/storybook/iframe.html' }],
  ['/storybook/sb-manager/runtime.js', { uri: '/storybook/sb-manager/runtime.js' }],
  ['/robots.txt', { uri: '/robots.txt' }],
])('%s → %j', (uri, expected) => {
  expect(viewerRequest(uri)).toMatchObject(expected);
});

it('redirects /storybook to /storybook/ so that relative asset URLs resolve', () => {
  expect(viewerRequest('/storybook')).toEqual({
    statusCode: 301,
    statusDescription: 'Moved Permanently',
    headers: { location: { value: '/storybook/' } },
  });
});
