import { readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from 'test-support';
import { CACHE_DIR, HashCache, type HashedFile } from './hash-cache';

const old = Date.now() - 60_000;
const stat = { path: 'assets/app.js', size: 10, mtimeMs: old, ino: 7 };
const etag = (c: string) => `"${c.repeat(32)}"`;
/** A file just scanned: nothing known of its bytes yet. */
const scanned = (changes: Partial<HashedFile> = {}): HashedFile => ({ ...stat, etags: [], ...changes });
/** A file with the ETag a deploy computed for it just now. */
const hashedNow = (cache: HashCache, file: HashedFile, tag: string, readAt?: number) => {
  file.etags = [tag];
  cache.hashed(file, readAt);
  return file;
};
/** What a new run of the cache in `ws` knows of a file with these stats. */
const known = (ws: string, file: HashedFile, sourceDir = '/w/dist') => {
  const fresh = scanned(file);
  fresh.etags = [];
  HashCache.open(ws, sourceDir).reuse([fresh]);
  return fresh.etags[0];
};
const workspace = () => {
  const ws = tempDir('hash-cache-');
  writeFileSync(join(ws, 'nx.json'), '{}');
  return ws;
};

describe('HashCache', () => {
  it('gives an ETag only for the same size, mtime and inode, and keeps across runs what the last run saw', () => {
    const ws = workspace();
    const first = HashCache.open(ws, '/w/dist');
    const files = [scanned(), scanned({ path: 'gone.js' })];
    first.reuse(files);
    expect(files.map((f) => f.etags)).toEqual([[], []]);
    hashedNow(first, files[0], etag('a'));
    hashedNow(first, files[1], etag('b'));
    first.save(files);

    expect(known(ws, scanned())).toBe(etag('a'));
    for (const changed of [{ size: 11 }, { mtimeMs: old + 1 }, { ino: 8 }])
      expect(known(ws, scanned(changed))).toBeUndefined();
    const second = HashCache.open(ws, '/w/dist');
    const again = [scanned()];
    second.reuse(again);
    second.save(again);
    expect(known(ws, scanned({ path: 'gone.js' }))).toBeUndefined(); // not in the second run's folder: forgotten
    expect(known(ws, scanned())).toBe(etag('a'));
    expect(known(ws, scanned(), '/w/other')).toBeUndefined(); // one cache per folder
  });

  it('does not remember a file modified just before it was hashed (it may change again within the same mtime)', () => {
    const ws = workspace();
    const cache = HashCache.open(ws, '/w/dist');
    const racy = scanned({ mtimeMs: Date.now() - 500 });
    hashedNow(cache, racy, etag('c'));
    const settled = hashedNow(cache, scanned({ path: 'b.js' }), etag('d'));
    cache.save([racy, settled]);
    expect(known(ws, racy)).toBeUndefined();
    expect(known(ws, settled)).toBe(etag('d'));
  });

  it('keeps its files in the Nx workspace data, writes nothing outside an Nx workspace, nor when nothing changed', () => {
    const ws = workspace();
    const cache = HashCache.open(ws, '/w/dist');
    cache.save([hashedNow(cache, scanned(), etag('d'))]);
    expect(readdirSync(join(ws, CACHE_DIR))).toEqual([expect.stringMatching(/^md5-[0-9a-f]{16}\.json$/)]);
    const [saved] = readdirSync(join(ws, CACHE_DIR));
    writeFileSync(
      join(ws, CACHE_DIR, saved),
      JSON.stringify({ version: 1, files: { [stat.path]: [10, old, 7, 'e'.repeat(32)] } }),
    );
    const unchanged = HashCache.open(ws, '/w/dist');
    const files = [scanned()];
    unchanged.reuse(files);
    expect(files[0].etags).toEqual([etag('e')]);
    writeFileSync(join(ws, CACHE_DIR, saved), 'overwritten only if the run saves');
    unchanged.save(files);
    expect(known(ws, scanned())).toBeUndefined(); // the run found all it knew still true: it wrote nothing

    const plain = tempDir('hash-cache-');
    const none = HashCache.open(plain, '/w/dist');
    none.save([hashedNow(none, scanned(), etag('d'))]);
    expect(readdirSync(plain)).toEqual([]);
  });

  it('remembers files whatever their names, __proto__ and constructor too', () => {
    const ws = workspace();
    const files = ['__proto__', 'constructor', 'toString'].map((path) => scanned({ path }));
    const first = HashCache.open(ws, '/w/dist');
    first.reuse(files);
    for (const f of files) expect(f.etags).toEqual([]);
    for (const f of files) hashedNow(first, f, `"${f.path.length.toString(16).padStart(32, '0')}"`);
    first.save(files);
    for (const f of files) expect(known(ws, f)).toBe(`"${f.path.length.toString(16).padStart(32, '0')}"`);
  });
});
