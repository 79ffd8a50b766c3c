import fc from 'fast-check';
import { UserError } from '../util/errors';
import {
  addRelease,
  checkKeepReleases,
  HISTORY_LENGTH,
  locateFile,
  locateRelease,
  planRollback,
  recordKeys,
  recordVersions,
  rollbackTarget,
  snapshotsToTake,
  namesSnapshot,
  unneededBookkeeping,
  type ReleaseIndex,
  type ReleaseRecord,
  type ReleaseSummary,
} from './history';
import { byKey } from '../deploy/plan';

const summary = (number: number, extra: Partial<ReleaseSummary> = {}): ReleaseSummary => ({
  number,
  at: `2026-11-0${Math.min(number, 9)}T10:00:00.000Z`,
  project: 'web',
  by: 'me@host:1',
  changed: 1,
  files: 3,
  bytes: 100,
  kept: true,
  ...extra,
});

/** An index whose releases are given newest first; the first is live. */
const indexOf = (...releases: ReleaseSummary[]): ReleaseIndex => ({ version: 1, live: releases[0].number, releases });

const record = (
  number: number,
  restorable: Record<string, string>,
  assets: Record<string, string> = {},
): ReleaseRecord => ({
  version: 1,
  summary: summary(number),
  restorable,
  assets,
});

describe('addRelease', () => {
  it('numbers after the newest and keeps only the newest `keep`', () => {
    let index: ReleaseIndex | undefined;
    for (let i = 0; i < 5; i++) index = addRelease(index, summary(0), 3).index;
    expect(index!.live).toBe(5);
    expect(index!.releases.map((r) => [r.number, r.kept])).toEqual([
      [5, true],
      [4, true],
      [3, true],
      [2, false],
      [1, false],
    ]);
  });

  it('forgets summaries beyond the history length', () => {
    let index: ReleaseIndex | undefined;
    for (let i = 0; i < HISTORY_LENGTH + 5; i++) index = addRelease(index, summary(0), 10).index;
    expect(index!.releases).toHaveLength(HISTORY_LENGTH);
    expect(index!.releases[0].number).toBe(HISTORY_LENGTH + 5);
  });

  it.each([0, -1, 1.5, Number.NaN])('refuses keepReleases %p', (keep) => {
    expect(() => checkKeepReleases(keep)).toThrow(/"keepReleases" must be a whole number of at least 1/);
  });
});

describe('rollbackTarget', () => {
  const where = 's3://b/';
  const cases: [string, ReleaseIndex | undefined, number | undefined, number | RegExp][] = [
    ['the previous release by default', indexOf(summary(3), summary(2), summary(1)), undefined, 2],
    ['a given release', indexOf(summary(3), summary(2), summary(1)), 1, 1],
    [
      'after a rollback to 2, the one before 2 (not 3 again)',
      indexOf(summary(4, { rollbackTo: 2 }), summary(3), summary(2), summary(1)),
      undefined,
      1,
    ],
    [
      'skips releases with the live files (a rollback to the same release)',
      indexOf(summary(5, { rollbackTo: 2 }), summary(4, { rollbackTo: 2 }), summary(3), summary(2), summary(1)),
      undefined,
      1,
    ],
    ['nothing recorded', undefined, undefined, /No releases are recorded in s3:\/\/b\//],
    ['one release only', indexOf(summary(1)), undefined, /No kept release before release 1/],
    ['an unknown release', indexOf(summary(2), summary(1)), 7, /There is no release 7 .* kept releases are 2, 1/],
    [
      'a release no longer kept',
      indexOf(summary(3), summary(2), summary(1, { kept: false })),
      1,
      /Release 1 .* is no longer kept .*raise "keepReleases"/,
    ],
    ['the live release', indexOf(summary(2), summary(1)), 2, /Release 2 is what s3:\/\/b\/ serves already/],
    [
      'a release whose files are live',
      indexOf(summary(3, { rollbackTo: 1 }), summary(2), summary(1)),
      1,
      /Release 1 is what .* serves already \(release 3\)/,
    ],
  ];
  it.each(cases)('%s', (_name, index, to, expected) => {
    if (typeof expected === 'number') expect(rollbackTarget(index, where, to).number).toBe(expected);
    else {
      expect(() => rollbackTarget(index, where, to)).toThrow(UserError);
      expect(() => rollbackTarget(index, where, to)).toThrow(expected);
    }
  });
});

describe('snapshotsToTake', () => {
  const live = record(2, { 'index.html': '"i2"', 'logo.png': '"l2"' });
  it('copies what the live release has at changing keys, once per path and ETag', () => {
    const listing = byKey([
      { key: 'p/index.html', size: 1, etag: '"i2"' },
      { key: 'p/logo.png', size: 1, etag: '"l2"' },
      // Not the live release's bytes (an interrupted deploy left them): nobody can need them.
      { key: 'p/other.html', size: 1, etag: '"x"' },
      { key: 'p/.nx-aws-deploy/releases/files/l2/logo.png', size: 1, etag: '"l2"' },
    ]);
    // A key not listed (gone meanwhile) has nothing to keep.
    const changing = ['p/index.html', 'p/logo.png', 'p/other.html', 'p/gone.html'];
    expect(snapshotsToTake(live, 'p/', changing, listing)).toEqual([
      { key: 'p/index.html', snapshot: 'p/.nx-aws-deploy/releases/files/i2/index.html' },
    ]);
  });

  it('takes none of a file whose version the live release recorded: S3 keeps the version it replaces', () => {
    const versioned = { ...live, versions: { 'index.html': 'v7' } };
    const listing = byKey([{ key: 'index.html', size: 1, etag: '"i2"' }]);
    expect(snapshotsToTake(versioned, '', ['index.html'], listing)).toEqual([]);
  });

  it('takes none without a live release (the first deploy of a history)', () => {
    const listing = byKey([{ key: 'index.html', size: 1, etag: '"a"' }]);
    expect(snapshotsToTake(undefined, '', ['index.html'], listing)).toEqual([]);
  });
});

describe('recordKeys', () => {
  it("has every file of a release once, below the prefix, in S3's order (UTF-8), assets and the rest merged", () => {
    const record = {
      assets: { 'assets/b-1.js': '"1"', 'assets/a-2.js': '"2"' },
      restorable: { 'index.html': '"3"', '\u{1F600}.html': '"4"', '\uFF21.html': '"5"', 'about/index.html': '"6"' },
    };
    expect(recordKeys(record, 'site/')).toEqual([
      'site/about/index.html',
      'site/assets/a-2.js',
      'site/assets/b-1.js',
      'site/index.html',
      'site/\uFF21.html',
      'site/\u{1F600}.html',
    ]);
  });
});

describe('recordVersions', () => {
  it.each([
    ['a write made a version', { 'index.html': { versionId: 'v9' } }, { 'index.html': 'v9' }],
    ['left as it was: the live release recorded this version for the same bytes', {}, { 'index.html': 'v1' }],
    ['an unversioned write (no id): a snapshot will serve', { 'index.html': {} }, undefined],
  ])('%s', (_, written, versions) => {
    const live = { ...record(1, { 'index.html': '"i"' }), versions: { 'index.html': 'v1' } };
    expect(recordVersions({ 'index.html': '"i"' }, '', new Map(Object.entries(written)), live)).toEqual(versions);
  });

  it('knows no version for bytes the live release did not record', () => {
    const live = { ...record(1, { 'index.html': '"old"' }), versions: { 'index.html': 'v1' } };
    expect(recordVersions({ 'index.html': '"new"' }, '', new Map(), live)).toBeUndefined();
  });
});

describe('unneededBookkeeping', () => {
  it('removes records of releases no longer kept and snapshots no kept release names', () => {
    const index = indexOf(summary(3), summary(2), summary(1, { kept: false }));
    const kept = [record(3, { 'index.html': '"c"' }), record(2, { 'index.html': '"b"' })];
    const listed = [
      'index.html',
      '.nx-aws-deploy/state.json',
      '.nx-aws-deploy/releases/index.json',
      '.nx-aws-deploy/releases/1.json',
      '.nx-aws-deploy/releases/2.json',
      '.nx-aws-deploy/releases/files/a/index.html',
      '.nx-aws-deploy/releases/files/b/index.html',
      // Another deploy's bookkeeping below this prefix is not this history's.
      'docs/.nx-aws-deploy/releases/1.json',
    ];
    expect(unneededBookkeeping(index, (relative) => kept.some((r) => namesSnapshot(r, relative)), '', listed)).toEqual([
      '.nx-aws-deploy/releases/1.json',
      '.nx-aws-deploy/releases/files/a/index.html',
    ]);
  });

  it('matches a snapshot by its whole name below a prefix: the ETag folder (multipart too) and the nested path', () => {
    const index = indexOf(summary(2));
    const kept = [record(2, { 'docs/guide.html': '"d-2"', 'docs/__proto__': '"p"' })];
    const snapshots = '.nx-aws-deploy/releases/files/';
    const listed = [
      `app/${snapshots}d-2/docs/guide.html`,
      `app/${snapshots}p/docs/__proto__`,
      `app/${snapshots}d-2/docs/other.html`,
      `app/${snapshots}d/docs/guide.html`,
      `app/${snapshots}d-2/guide.html`,
    ];
    expect(unneededBookkeeping(index, (relative) => namesSnapshot(kept[0], relative), 'app/', listed)).toEqual(
      listed.slice(2),
    );
  });
});

describe('planRollback', () => {
  const target = record(
    1,
    { 'index.html': '"i1"', 'about.html': '"a1"', 'logo.png': '"l1"' },
    { 'app-abcdef12.js': '"j1"' },
  );
  const live = record(2, { 'index.html': '"i2"', 'about.html': '"a1"', 'new.html': '"n2"', 'logo.png': '"l2"' });
  const remote = (keys: Record<string, string>) => Object.entries(keys).map(([key, etag]) => ({ key, size: 1, etag }));

  it('restores from snapshots (entry files last), deletes what the target did not have, leaves the rest', () => {
    const plan = planRollback(
      target,
      live,
      '',
      remote({
        'index.html': '"i2"',
        'about.html': '"a1"',
        'new.html': '"n2"',
        'logo.png': '"l2"',
        'app-abcdef12.js': '"j1"',
        '.nx-aws-deploy/releases/files/i1/index.html': '"i1"',
        '.nx-aws-deploy/releases/files/l1/logo.png': '"l1"',
      }),
    );
    expect(plan).toEqual({
      restores: [
        { key: 'logo.png', from: '.nx-aws-deploy/releases/files/l1/logo.png', etag: '"l1"' },
        { key: 'index.html', from: '.nx-aws-deploy/releases/files/i1/index.html', etag: '"i1"' },
      ],
      deletes: ['new.html'],
      unchanged: 1,
      missing: [],
    });
  });

  it('restores from recorded versions; a version found gone falls back to a snapshot, or is missing', () => {
    const versioned = { ...target, versions: { 'index.html': 'vi1', 'logo.png': 'vl1' } };
    const listing = remote({
      'index.html': '"i2"',
      'about.html': '"a1"',
      'logo.png': '"l2"',
      'app-abcdef12.js': '"j1"',
      '.nx-aws-deploy/releases/files/l1/logo.png': '"l1"',
    });
    expect(planRollback(versioned, live, '', listing).restores).toEqual([
      { key: 'logo.png', from: 'logo.png', versionId: 'vl1', etag: '"l1"' },
      { key: 'index.html', from: 'index.html', versionId: 'vi1', etag: '"i1"' },
    ]);
    const expired = planRollback(versioned, live, '', listing, new Set(['vi1', 'vl1']));
    expect(expired.restores).toEqual([
      { key: 'logo.png', from: '.nx-aws-deploy/releases/files/l1/logo.png', etag: '"l1"' },
    ]);
    expect(expired.missing).toEqual(['index.html']);
  });

  it('lists what is gone: a pruned asset, a snapshot removed by hand', () => {
    const plan = planRollback(target, live, '', remote({ 'index.html': '"i2"', 'about.html': '"a1"' }));
    expect(plan.missing).toEqual(['app-abcdef12.js', 'index.html', 'logo.png']);
  });

  it('deletes a live file named like an object property ("constructor") that the target does not have', () => {
    const withOddName = record(3, { ...live.restorable, constructor: '"c3"' });
    const listing = remote({
      'index.html': '"i1"',
      'about.html': '"a1"',
      'logo.png': '"l1"',
      'app-abcdef12.js': '"j1"',
      constructor: '"c3"',
    });
    expect(planRollback(target, withOddName, '', listing).deletes).toEqual(['constructor']);
  });
});

describe('locateFile (where a rollback restores from, a promote copies from)', () => {
  const release = {
    ...record(1, { 'index.html': '"i1"' }, { 'app-abcdef12.js': '"j1"' }),
    versions: { 'index.html': 'v1' },
  };
  const snapshot = 'web/.nx-aws-deploy/releases/files/i1/index.html';
  const listed = (entries: Record<string, string>) =>
    byKey(Object.entries(entries).map(([key, etag]) => ({ key, size: 1, etag })));
  it.each([
    [
      'live with the recorded bytes',
      'index.html',
      '"i1"',
      { 'web/index.html': '"i1"' },
      [],
      { from: 'web/index.html', live: true },
    ],
    [
      'replaced: its version',
      'index.html',
      '"i1"',
      { 'web/index.html': '"i2"', [snapshot]: '"i1"' },
      [],
      { from: 'web/index.html', versionId: 'v1' },
    ],
    ['its version expired: the snapshot', 'index.html', '"i1"', { [snapshot]: '"i1"' }, ['v1'], { from: snapshot }],
    ['no version, no snapshot: gone', 'index.html', '"i1"', { 'web/index.html': '"i2"' }, ['v1'], undefined],
    [
      'an asset is found live only',
      'app-abcdef12.js',
      '"j1"',
      { 'web/app-abcdef12.js': '"j1"' },
      [],
      { from: 'web/app-abcdef12.js', live: true },
    ],
    [
      'an asset is never taken from a snapshot',
      'app-abcdef12.js',
      '"j1"',
      { 'web/.nx-aws-deploy/releases/files/j1/app-abcdef12.js': '"j1"' },
      [],
      undefined,
    ],
  ])('%s', (_case, path, etag, objects, gone, expected) => {
    expect(locateFile(release, path, etag, 'web/', listed(objects), new Set(gone))).toEqual(expected);
  });
});

describe('locateRelease (every file of a release: the one answer rollback and promote plan from)', () => {
  it('places each file where locateFile finds it, and names the rest missing, over any listing', () => {
    const etag = fc.constantFrom('"a"', '"b"');
    fc.assert(
      fc.property(
        fc.dictionary(fc.constantFrom('index.html', 'about.html', 'logo.svg'), etag),
        fc.dictionary(fc.constantFrom('app-abcdef12.js', 'vendor-12345678.js'), etag),
        fc.dictionary(
          fc.constantFrom('index.html', 'about.html', 'logo.svg', 'app-abcdef12.js'),
          fc.constantFrom('v1', 'v2'),
        ),
        fc.dictionary(
          fc.constantFrom(
            'index.html',
            'app-abcdef12.js',
            '.nx-aws-deploy/releases/files/a/index.html',
            '.nx-aws-deploy/releases/files/b/about.html',
          ),
          etag,
        ),
        fc.subarray(['v1', 'v2']),
        (restorable, assets, versions, objects, gone) => {
          const release = { ...record(1, restorable, assets), versions };
          const listed = byKey(Object.entries(objects).map(([key, e]) => ({ key, size: 1, etag: e })));
          const { located, missing } = locateRelease(release, '', listed, new Set(gone));
          const all = { ...restorable, ...assets };
          expect([...located.map((f) => f.path), ...missing].sort()).toEqual(
            [...Object.keys(assets), ...Object.keys(restorable)].sort(),
          );
          for (const f of located)
            expect(f).toEqual({
              path: f.path,
              etag: all[f.path],
              ...locateFile(release, f.path, all[f.path], '', listed, new Set(gone)),
            });
          for (const path of missing)
            expect(locateFile(release, path, all[path], '', listed, new Set(gone))).toBeUndefined();
        },
      ),
    );
  });
});
