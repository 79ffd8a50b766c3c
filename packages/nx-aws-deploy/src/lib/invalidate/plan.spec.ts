import fc from 'fast-check';
import type { ManifestChange } from '../deploy/manifest';
import type { DeployManifest } from '../deploy/manifest';
import {
  encodePath,
  foldPaths,
  manifestsByDistribution,
  MAX_PATHS_PER_INVALIDATION,
  MAX_WILDCARDS,
  planDistributionInvalidation,
  planInvalidation,
} from './plan';

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

describe('one invalidation per distribution for the manifests of a batch build', () => {
  const manifest = (project: string, keys: string[], distributionId?: string): DeployManifest => ({
    version: 1,
    project,
    bucket: `${project}-bucket`,
    prefix: '',
    distributionId,
    deployedAt: '2026-11-26T00:00:00.000Z',
    deploy: 1,
    hasIndex: true,
    changes: keys.map((key) => change(key)),
    unchanged: 0,
  });

  it.each<[string, [string, string | undefined][], string | undefined, Record<string, string[]> | RegExp]>([
    [
      'each app behind its own distribution',
      [
        ['web', 'E1'],
        ['docs', 'E2'],
      ],
      undefined,
      { E1: ['web'], E2: ['docs'] },
    ],
    [
      'apps behind one distribution share it',
      [
        ['web', 'E1'],
        ['docs', 'E1'],
      ],
      undefined,
      { E1: ['web', 'docs'] },
    ],
    [
      'a manifest without one goes to the default',
      [
        ['web', undefined],
        ['docs', 'E2'],
      ],
      'E1',
      { E1: ['web'], E2: ['docs'] },
    ],
    [
      'no distribution anywhere',
      [['web', undefined]],
      undefined,
      /web\.json names no distribution .* "distributionId"/,
    ],
  ])('%s', (_name, apps, fallback, expected) => {
    const manifests = apps.map(([project, id]) => ({
      manifest: manifest(project, ['index.html'], id),
      source: `${project}.json`,
    }));
    if (expected instanceof RegExp) expect(() => manifestsByDistribution(manifests, fallback)).toThrow(expected);
    else
      expect(
        Object.fromEntries(
          [...manifestsByDistribution(manifests, fallback)].map(([id, ms]) => [id, ms.map((m) => m.project)]),
        ),
      ).toEqual(expected);
  });

  it('plans apps of one distribution together: a union of their own plans would break the limits', () => {
    // Sixteen apps below their own folders, each folded alone into one wildcard: sixteen wildcards together.
    const apps = Array.from({ length: 16 }, (_, i) =>
      manifest(
        `app${i}`,
        Array.from({ length: 30 }, (_, j) => `app${i}/docs/page-${j}.html`),
        'E1',
      ),
    );
    const union = [...new Set(apps.flatMap((m) => planDistributionInvalidation([m], { maxPaths: 20 })))];
    expect(union.filter((p) => p.endsWith('*')).length).toBeGreaterThan(MAX_WILDCARDS);
    const together = planDistributionInvalidation(apps, { maxPaths: 20 });
    expect(together.filter((p) => p.endsWith('*')).length).toBeLessThanOrEqual(MAX_WILDCARDS);
    expect(together.length).toBeLessThanOrEqual(20);
  });

  it('for any manifests: within the limits, and every stale URL covered', () => {
    const key = fc
      .array(fc.constantFrom('a', 'b', 'docs', 'img'), { minLength: 0, maxLength: 3 })
      .chain((dirs) => fc.constantFrom('index.html', 'x.html', 'y.png').map((file) => [...dirs, file].join('/')));
    const manifests = fc.array(fc.uniqueArray(key, { maxLength: 40 }), { minLength: 1, maxLength: 8 });
    fc.assert(
      fc.property(manifests, fc.integer({ min: 1, max: 3000 }), (keysPerApp, maxPaths) => {
        const ms = keysPerApp.map((keys, i) => manifest(`app${i}`, keys, 'E1'));
        const paths = planDistributionInvalidation(ms, { maxPaths, defaultRootObject: 'index.html' });
        expect(paths.length).toBeLessThanOrEqual(Math.min(maxPaths, MAX_PATHS_PER_INVALIDATION));
        expect(paths.filter((p) => p.endsWith('*')).length).toBeLessThanOrEqual(MAX_WILDCARDS);
        for (const k of keysPerApp.flat())
          expect(paths.some((p) => (p.endsWith('*') ? `/${k}`.startsWith(p.slice(0, -1)) : p === `/${k}`))).toBe(true);
      }),
    );
  });
});
