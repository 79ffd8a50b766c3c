import {
  CACHE_IMMUTABLE,
  CACHE_REVALIDATE,
  CACHE_SHORT,
  compileHeaderRules,
  headersFingerprint,
  headersFor,
  isContentHashed,
  isEntryFile,
  sharedHeadersFor,
} from './headers';

describe('isContentHashed', () => {
  it.each([
    ['assets/index-B-XZhOr9.js', true],
    ['assets/pricing-OKxo0MUH.js', true],
    ['assets/logo-D6c4Q4yq.svg', true],
    ['main.3f2a1b4c5d6e7f80.js', true],
    ['chunk-ABCD1234.js', true],
    ['static/js/787.a1b2c3d4.chunk.js', true],
    ['assets/index-B-XZhOr9.js.br', true],
    ['favicon.ico', false],
    ['robots.txt', false],
    ['index.html', false],
    ['nunito-sans-bold-italic.woff2', false],
    ['foo-settings.js', false],
    ['sb-manager/globals-runtime.js', false],
  ])('%s → %s', (path, hashed) => expect(isContentHashed(path)).toBe(hashed));
});

describe('isEntryFile', () => {
  it.each([
    ['index.html', true],
    ['docs/index.html', true],
    ['sw.js', true],
    ['service-worker.js', true],
    ['site.webmanifest', true],
    ['manifest.json', true],
    ['assets/app-B-XZhOr9.js', false],
    ['robots.txt', false],
  ])('%s → %s', (path, entry) => expect(isEntryFile(path)).toBe(entry));
});

describe('headersFor', () => {
  it.each([
    ['index.html', 'text/html; charset=utf-8', CACHE_REVALIDATE],
    ['assets/index-B-XZhOr9.js', 'text/javascript; charset=utf-8', CACHE_IMMUTABLE],
    ['assets/index-B-XZhOr9.mjs', 'text/javascript; charset=utf-8', CACHE_IMMUTABLE],
    ['assets/index-Cbk1BLrK.css', 'text/css; charset=utf-8', CACHE_IMMUTABLE],
    ['data.json', 'application/json; charset=utf-8', CACHE_SHORT],
    ['assets/index-B-XZhOr9.js.map', 'application/json; charset=utf-8', CACHE_SHORT],
    ['logo.svg', 'image/svg+xml', CACHE_SHORT],
    ['app.wasm', 'application/wasm', CACHE_SHORT],
    ['site.webmanifest', 'application/manifest+json; charset=utf-8', CACHE_REVALIDATE],
    ['font-Ab12Cd34.woff2', 'font/woff2', CACHE_IMMUTABLE],
    ['photo.avif', 'image/avif', CACHE_SHORT],
    ['photo.webp', 'image/webp', CACHE_SHORT],
    ['favicon.ico', 'image/vnd.microsoft.icon', CACHE_SHORT],
    ['robots.txt', 'text/plain; charset=utf-8', CACHE_SHORT],
    ['sitemap.xml', 'application/xml', CACHE_SHORT],
    ['blob.unknownext', 'application/octet-stream', CACHE_SHORT],
  ])('%s → %s, %s', (path, type, cache) => {
    expect(headersFor(path)).toEqual({ 'Content-Type': type, 'Cache-Control': cache });
  });

  it('serves precompressed siblings with the inner type and their Content-Encoding', () => {
    expect(headersFor('assets/app-B-XZhOr9.js.br')).toEqual({
      'Content-Type': 'text/javascript; charset=utf-8',
      'Content-Encoding': 'br',
      'Cache-Control': CACHE_IMMUTABLE,
    });
    expect(headersFor('index.html.gz')).toEqual({
      'Content-Type': 'text/html; charset=utf-8',
      'Content-Encoding': 'gzip',
      'Cache-Control': CACHE_REVALIDATE,
    });
  });

  it('lets user rules override defaults by glob, later rules winning, and set metadata', () => {
    const rules = compileHeaderRules([
      { glob: '**/*.pdf', headers: { 'Content-Disposition': 'attachment', 'cache-control': 'public, max-age=60' } },
      { glob: 'docs/**', headers: { 'Cache-Control': 'no-store', 'x-amz-meta-Owner': 'docs-team' } },
    ]);
    expect(headersFor('docs/guide.pdf', rules('docs/guide.pdf'))).toEqual({
      'Content-Type': 'application/pdf',
      'Cache-Control': 'no-store',
      'Content-Disposition': 'attachment',
      metadata: { owner: 'docs-team' },
    });
    expect(headersFor('a.pdf', rules('a.pdf'))['Cache-Control']).toBe('public, max-age=60');
  });

  it.each([
    [
      [{ glob: '**', headers: { 'X-Frame-Options': 'DENY' } }],
      /headers\[0\].*"X-Frame-Options", which S3 cannot store/,
    ],
    [[{ glob: '', headers: {} }], /headers\[0\] must look like/],
    [[{ glob: '*.js', headers: { 'Cache-Control': 5 } }], /headers\[0\].*value of "Cache-Control" must be a string/],
  ])('rejects a malformed rule with one clear error', (rules, message) => {
    expect(() => compileHeaderRules(rules as never)).toThrow(message);
  });

  it('fingerprints headers independently of key order', () => {
    expect(headersFingerprint({ 'Content-Type': 'a', 'Cache-Control': 'b', metadata: { x: '1', y: '2' } })).toBe(
      headersFingerprint({ metadata: { y: '2', x: '1' }, 'Cache-Control': 'b', 'Content-Type': 'a' }),
    );
    expect(headersFingerprint({ 'Content-Type': 'a' })).not.toBe(
      headersFingerprint({ 'Content-Type': 'a', 'Cache-Control': 'no-cache' }),
    );
  });
});

describe('sharedHeadersFor', () => {
  it('answers what headersFor does, one object per distinct set of headers', () => {
    const rulesFor = compileHeaderRules([{ glob: 'docs/**', headers: { 'x-amz-meta-team': 'docs' } }]);
    const headersOf = sharedHeadersFor(rulesFor);
    const paths = ['a-1b2c3d4e.js', 'b-9f8e7d6c.js', 'index.html', 'about/index.html', 'docs/a.pdf', 'docs/b.pdf'];
    const shared = paths.map(headersOf);
    expect(shared).toEqual(paths.map((p) => headersFor(p, rulesFor(p))));
    expect(shared[0]).toBe(shared[1]);
    expect(shared[2]).toBe(shared[3]);
    expect(shared[4]).toBe(shared[5]);
    expect(new Set(shared).size).toBe(3);
    // Fingerprints are remembered per object, and stay those of the contents.
    expect(headersFingerprint(shared[4])).toBe(headersFingerprint({ ...shared[4] }));
    expect(headersFingerprint(shared[4])).not.toBe(headersFingerprint(shared[0]));
  });
});
