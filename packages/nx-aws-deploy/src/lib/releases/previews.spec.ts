import fc from 'fast-check';
import {
  previewName,
  previewOfHost,
  previewPrefix,
  previewsIn,
  previewTarget,
  previewUrl,
  stalePreviews,
  type Preview,
} from './previews';
import type { LiveReleaseStore } from './live-release';

describe('previewName: a pull request number or pr-<n>, nothing else', () => {
  it.each([
    ['7', 'pr-7'],
    [7, 'pr-7'],
    ['pr-42', 'pr-42'],
  ])('%j is %s', (given, name) => expect(previewName(given)).toBe(name));

  it.each(['', '0', 'pr-0', 'pr-07', 'feature/x', 'PR-7', 'pr-7/', 'pr-12345678901', '-1', 'pr-'])(
    '%j is refused, naming the option',
    (given) => expect(() => previewName(given)).toThrow(`"preview" must be a pull request's number or pr-<number>`),
  );
});

describe('previewOfHost: the preview a Host header names', () => {
  it.each([
    ['pr-7.previews.example.com', 'pr-7'],
    ['pr-7.web.previews.example.com', 'pr-7'],
    ['PR-7.previews.example.com', 'pr-7'],
    ['pr-7--e1abc.cloudfront.localhost:4566', 'pr-7'],
    ['pr-7', null],
    ['pr-0.previews.example.com', null],
    ['www.example.com', null],
    ['d111.cloudfront.net', null],
    ['xpr-7.example.com', null],
    ['pr-7x.example.com', null],
  ])('%s: %j', (host, preview) => expect(previewOfHost(host)).toBe(preview));

  it('reads back the name of every URL previewUrl writes, on any domain form', () => {
    const domain = fc.oneof(
      fc.domain(),
      fc.domain().map((d) => `https://${d}`),
      fc.stringMatching(/^[a-z0-9]{1,14}$/).map((id) => `http://--${id}.cloudfront.localhost:4566`),
    );
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 9_999_999_999 }), domain, (n, previewDomain) => {
        const name = previewName(n);
        expect(previewOfHost(new URL(previewUrl(previewDomain, name)).host)).toBe(name);
      }),
    );
  });
});

describe('previewUrl', () => {
  it.each([
    ['previews.example.com', 'https://pr-3.previews.example.com/'],
    ['https://previews.example.com/', 'https://pr-3.previews.example.com/'],
    ['http://--e1abc.cloudfront.localhost:4566', 'http://pr-3--e1abc.cloudfront.localhost:4566/'],
  ])('%s: %s', (domain, url) => expect(previewUrl(domain, 'pr-3')).toBe(url));
});

describe('previewsIn: each preview of a listing, its objects and bytes', () => {
  it('counts below the site prefix only, by preview', () => {
    const objects = [
      { key: 'app/_previews/pr-1/index.html', size: 10 },
      { key: 'app/_previews/pr-1/.nx-aws-deploy/state.json', size: 5 },
      { key: 'app/_previews/pr-2/index.html', size: 7 },
      { key: 'app/_previews/notes.txt', size: 1 },
      { key: 'app/index.html', size: 3 },
      { key: 'other/_previews/pr-3/index.html', size: 3 },
    ];
    expect(Object.fromEntries(previewsIn(objects, 'app/'))).toEqual({
      'pr-1': { objects: 2, bytes: 15 },
      'pr-2': { objects: 1, bytes: 7 },
    });
  });
});

describe('stalePreviews: idle longer than the TTL; a preview with no release yet is kept', () => {
  const day = 86_400_000;
  const now = Date.parse('2026-12-02T00:00:00Z');
  const preview = (name: string, daysAgo?: number): Preview => ({
    name,
    objects: 1,
    bytes: 1,
    at: daysAgo === undefined ? undefined : new Date(now - daysAgo * day).toISOString(),
  });
  it('takes exactly those older than ttlDays', () => {
    const previews = [preview('pr-1', 15), preview('pr-2', 14), preview('pr-3', 1), preview('pr-4')];
    expect(stalePreviews(previews, 14, now).map((p) => p.name)).toEqual(['pr-1']);
    expect(stalePreviews(previews, 0, now).map((p) => p.name)).toEqual(['pr-1', 'pr-2', 'pr-3']);
  });
});

describe('previewTarget: the options of a preview deploy, checked before any request', () => {
  const store = { site: 'web', storeArn: 'arn:aws:cloudfront::1:key-value-store/x' } as LiveReleaseStore;
  it('places the preview below the site prefix, and its URL on the domain', () => {
    expect(previewTarget({ preview: '9', previewDomain: 'p.example.com' }, 'app/', store)).toEqual({
      name: 'pr-9',
      prefix: previewPrefix('app/', 'pr-9'),
      url: 'https://pr-9.p.example.com/',
      site: { prefix: 'app/', store },
    });
    expect(previewTarget({}, '', store)).toBeUndefined();
  });
  it.each([
    [{ preview: '9' }, undefined, '"preview" needs "releaseMode": "atomic" and "keyValueStoreArn"'],
    [{ previewTtlDays: 1.5 }, store, '"previewTtlDays" must be a whole number of at least 0, not 1.5.'],
    [{ maxPreviews: -1 }, store, '"maxPreviews" must be a whole number of at least 0, not -1.'],
  ])('%j: one clear error', (options, given, message) =>
    expect(() => previewTarget(options, '', given)).toThrow(message),
  );
});
