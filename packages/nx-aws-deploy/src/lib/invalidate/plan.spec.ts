import fc from 'fast-check';
import type { ManifestChange } from '../deploy/manifest';
import { encodePath, foldPaths, planInvalidation } from './plan';

const change = (key: string, action: ManifestChange['action'] = 'replaced', immutable = false): ManifestChange => ({
  key,
  action,
  immutable,
});
const plan = (changes: ManifestChange[], extra = {}) =>
  planInvalidation({ changes, prefix: '', defaultRootObject: 'index.html', ...extra });

describe('planInvalidation', () => {
  it.each<[string, ManifestChange[], Record<string, unknown>, string[]]>([
    ['nothing changed', [], {}, []],
    ['the root object also invalidates /', [change('index.html')], {}, ['/', '/index.html']],
    [
      'a nested index.html invalidates its folder both ways',
      [change('docs/index.html')],
      {},
      ['/docs', '/docs/', '/docs/index.html'],
    ],
    ['new content-hashed assets need nothing', [change('assets/app-B-XZhOr9.js', 'created', true)], {}, []],
    ['deleted content-hashed assets need nothing', [change('assets/old-B-XZhOr9.js', 'deleted', true)], {}, []],
    [
      'a replaced hashed file is invalidated',
      [change('assets/app-B-XZhOr9.js', 'replaced', true)],
      {},
      ['/assets/app-B-XZhOr9.js'],
    ],
    [
      'new unhashed files are invalidated (a fallback page may be cached there)',
      [change('robots.txt', 'created')],
      {},
      ['/robots.txt'],
    ],
    ['deleted unhashed files are invalidated', [change('old.html', 'deleted')], {}, ['/old.html']],
    ['header-only changes are invalidated', [change('favicon.ico', 'headers')], {}, ['/favicon.ico']],
    [
      'keys are percent-encoded, * is never a wildcard',
      [change('dir with space/ünï*.txt')],
      {},
      ['/dir%20with%20space/%C3%BCn%C3%AF%2A.txt'],
    ],
    [
      'an origin path is stripped from keys',
      [change('app/index.html'), change('other/x.txt')],
      { prefix: 'app/', originPath: '/app' },
      ['/', '/index.html'],
    ],
    ['without a root object / is not added', [change('index.html')], { defaultRootObject: '' }, ['/index.html']],
  ])('%s', (_, changes, extra, expected) => {
    expect(plan(changes, extra)).toEqual(expected);
  });

  it('folds a folder with many changes into one wildcard once there are more than maxPaths', () => {
    const changes = [
      ...Array.from({ length: 30 }, (_, i) => change(`images/p${i}.png`)),
      change('index.html'),
      change('docs/a.html'),
      change('docs/b.html'),
    ];
    expect(plan(changes, { maxPaths: 5 })).toEqual(['/', '/docs/*', '/images/*', '/index.html']);
    expect(plan(changes, { maxPaths: 40 })).toHaveLength(34);
  });

  it('falls back to /* only when nothing smaller fits', () => {
    const changes = Array.from({ length: 30 }, (_, i) => change(`f${i}.html`));
    expect(plan(changes, { maxPaths: 20 })).toEqual(['/*']);
  });
});

describe('foldPaths properties', () => {
  const segment = fc.constantFrom('a', 'b', 'c', 'd');
  const path = fc.array(segment, { minLength: 1, maxLength: 4 }).map((s) => `/${s.join('/')}.html`);

  it('never exceeds the limits and every input path stays covered', () => {
    fc.assert(
      fc.property(fc.uniqueArray(path, { maxLength: 60 }), fc.integer({ min: 1, max: 30 }), (paths, maxPaths) => {
        const folded = foldPaths([...paths].sort(), maxPaths);
        expect(folded.length).toBeLessThanOrEqual(Math.max(maxPaths, 1));
        expect(folded.filter((p) => p.endsWith('*')).length).toBeLessThanOrEqual(15);
        for (const p of paths)
          expect(folded.some((f) => (f.endsWith('*') ? p.startsWith(f.slice(0, -1)) : f === p))).toBe(true);
      }),
    );
  });
});

it('encodes like a browser for ordinary characters', () => {
  expect(encodePath('a b/c+d/é/q?#')).toBe('a%20b/c+d/%C3%A9/q%3F%23');
});
