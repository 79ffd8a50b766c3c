import fc from 'fast-check';
import { changeIndex, foldersOf, indexedKeys, resolveFolder, trimmed, withRelease, type FileIndex } from './file-index';

describe('resolveFolder: the folder a release serves a path from', () => {
  it.each([
    [undefined, 5, null],
    ['', 5, null],
    ['3', 2, null],
    ['3', 3, 3],
    ['3', 9, 3],
    ['3 7', 6, 3],
    ['3 7', 7, 7],
    ['3 7:- 9:3', 8, null],
    ['3 7:- 9:3', 9, 3],
    ['3 7:- 9:3 12', 12, 12],
  ])('%j at %i: %j', (value, view, folder) => {
    expect(resolveFolder(value, view)).toBe(folder);
  });
});

describe('withRelease, trimmed, foldersOf', () => {
  it.each([
    [undefined, 4, 4, '4'],
    ['4', 6, 4, '4'], // already seen there: no entry
    ['4', 6, 6, '4 6'],
    ['4 6', 8, 4, '4 6 8:4'],
    ['4', 6, null, '4 6:-'],
    [undefined, 6, null, undefined], // absent, and never there
  ])('withRelease(%j, %i, %j) = %j', (value, release, folder, next) => {
    expect(withRelease(value, release, folder)).toBe(next);
  });

  it.each([
    ['1 2 3 4', [3, 4], '3 4'],
    ['1 2 3 4', [2, 9], '2 4'],
    ['1 2:- 5', [3, 5], '5'], // the absent entry before the first file goes
    ['1 2:- 5', [1, 3], '1 2:-'],
    ['1 2:-', [4], undefined],
    ['7', [3, 5], undefined], // no kept release has it yet... nor will: gone
  ])('trimmed(%j, %j) = %j', (value, kept, next) => {
    expect(trimmed(value, kept)).toBe(next);
  });

  it('foldersOf: every folder named, newest first, once', () => {
    expect(foldersOf('3 5:- 7 9:3 11')).toEqual([11, 3, 7]);
  });
});

describe('changeIndex', () => {
  it('writes only what the new release changes, and what retention drops', () => {
    const previous: FileIndex = { 'index.html': '1 2', 'logo.png': '1', 'old.html': '1', 'gone.txt': '1 2:-' };
    const folders = new Map([
      ['index.html', 3],
      ['logo.png', 1],
      ['new.html', 3],
    ]);
    const change = changeIndex({ previous, release: 3, folders, keptViews: [2, 3] });
    expect(change.next).toEqual({ 'index.html': '2 3', 'logo.png': '1', 'old.html': '1 3:-', 'new.html': '3' });
    expect(change.puts).toEqual([
      { path: 'index.html', value: '2 3' },
      { path: 'old.html', value: '1 3:-' },
      { path: 'new.html', value: '3' },
    ]);
    expect(change.deletes).toEqual(['gone.txt']);
    expect(indexedKeys(change.next, 'app/', (f, p) => `_releases/${f}/${p}`)).toEqual(
      new Set([
        'app/_releases/2/index.html',
        'app/_releases/3/index.html',
        'app/_releases/1/logo.png',
        'app/_releases/1/old.html',
        'app/_releases/3/new.html',
      ]),
    );
  });

  it("rewrites the paths a stopped deploy was writing, and deletes those it added, though the index didn't change", () => {
    const change = changeIndex({
      previous: { 'a.html': '1' },
      release: 2,
      folders: new Map([['a.html', 1]]),
      keptViews: [1, 2],
      rewrite: ['a.html', 'b.html'],
    });
    expect(change).toEqual({ next: { 'a.html': '1' }, puts: [{ path: 'a.html', value: '1' }], deletes: ['b.html'] });
  });

  /**
   * The property the release router relies on: after any history of releases (each a random build, some files
   * held in an earlier folder) and retention, every kept release still sees each of its files in the folder that
   * held it when it was made, and no file it did not have; a new release's entries change nothing an earlier one sees.
   */
  it('every kept release sees exactly its own files, in their folders, whatever came after', () => {
    const paths = ['index.html', 'a.html', 'b/c.html', 'logo.png'];
    const build = fc.dictionary(fc.constantFrom(...paths), fc.nat(3), { minKeys: 0 });
    fc.assert(
      fc.property(fc.array(build, { minLength: 1, maxLength: 12 }), fc.integer({ min: 1, max: 5 }), (builds, keep) => {
        let index: FileIndex = {};
        const made = new Map<number, Map<string, number>>();
        builds.forEach((files, i) => {
          const release = i + 1;
          // A file's bytes: its version number; held in the newest earlier folder with those bytes, else the new one.
          const folders = new Map<string, number>();
          for (const [path, version] of Object.entries(files)) {
            const earlier = [...made]
              .reverse()
              .find(([, seen]) => seen.has(path) && versionOf(builds, seen.get(path)!, path) === version);
            folders.set(path, earlier?.[1].get(path) ?? release);
          }
          made.set(release, folders);
          const keptViews = [...made.keys()].slice(-keep);
          const before = index;
          index = changeIndex({ previous: index, release, folders, keptViews }).next;
          for (const view of keptViews.filter((v) => v < release))
            for (const path of paths) expect(resolveFolder(index[path], view)).toBe(resolveFolder(before[path], view));
          for (const view of keptViews)
            for (const path of paths) expect(resolveFolder(index[path], view)).toBe(made.get(view)!.get(path) ?? null);
        });
      }),
    );
  });
});

/** The version a build (by release folder) had of a path. */
function versionOf(builds: Record<string, number>[], folder: number, path: string): number | undefined {
  return builds[folder - 1][path];
}
