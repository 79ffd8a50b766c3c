import { readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from 'test-support';
import { CACHE_DIR, HashCache } from './hash-cache';

const old = Date.now() - 60_000;
const file = { path: 'assets/app.js', size: 10, mtimeMs: old, ino: 7 };

describe('HashCache', () => {
  it('answers an MD5 only for the same size, mtime and inode, and keeps across runs what the last run saw', () => {
    const ws = tempDir('hash-cache-');
    writeFileSync(join(ws, 'nx.json'), '{}');
    const first = HashCache.open(ws, '/w/dist');
    expect(first.md5(file)).toBeUndefined();
    first.remember(file, 'a'.repeat(32));
    first.remember({ ...file, path: 'gone.js' }, 'b'.repeat(32));
    first.save([file, { ...file, path: 'gone.js' }]);

    const second = HashCache.open(ws, '/w/dist');
    expect(second.md5(file)).toBe('a'.repeat(32));
    for (const changed of [{ size: 11 }, { mtimeMs: old + 1 }, { ino: 8 }])
      expect(second.md5({ ...file, ...changed })).toBeUndefined();
    second.save([file]);
    const third = HashCache.open(ws, '/w/dist');
    expect(third.md5({ ...file, path: 'gone.js' })).toBeUndefined(); // not in the second run's folder: forgotten
    expect(third.md5(file)).toBe('a'.repeat(32));
    expect(HashCache.open(ws, '/w/other').md5(file)).toBeUndefined(); // one cache per folder
  });

  it('does not remember a file modified just before it was hashed (it may change again within the same mtime)', () => {
    const ws = tempDir('hash-cache-');
    writeFileSync(join(ws, 'nx.json'), '{}');
    const cache = HashCache.open(ws, '/w/dist');
    const racy = { ...file, mtimeMs: Date.now() - 500 };
    cache.remember(racy, 'c'.repeat(32));
    cache.save([racy]);
    expect(HashCache.open(ws, '/w/dist').md5({ ...file, mtimeMs: Date.now() - 500 })).toBeUndefined();
  });

  it('keeps its files in the Nx workspace data, and writes nothing outside an Nx workspace', () => {
    const ws = tempDir('hash-cache-');
    writeFileSync(join(ws, 'nx.json'), '{}');
    const cache = HashCache.open(ws, '/w/dist');
    cache.remember(file, 'd'.repeat(32));
    cache.save([file]);
    expect(readdirSync(join(ws, CACHE_DIR))).toEqual([expect.stringMatching(/^md5-[0-9a-f]{16}\.json$/)]);

    const plain = tempDir('hash-cache-');
    const none = HashCache.open(plain, '/w/dist');
    none.remember(file, 'd'.repeat(32));
    none.save([file]);
    expect(readdirSync(plain)).toEqual([]);
  });

  it('remembers files whatever their names, __proto__ and constructor too', () => {
    const ws = tempDir('hash-cache-');
    writeFileSync(join(ws, 'nx.json'), '{}');
    const files = ['__proto__', 'constructor', 'toString'].map((path) => ({ ...file, path }));
    const first = HashCache.open(ws, '/w/dist');
    for (const f of files) expect(first.md5(f)).toBeUndefined();
    for (const f of files) first.remember(f, f.path.length.toString(16).padStart(32, '0'));
    first.save(files);
    const second = HashCache.open(ws, '/w/dist');
    for (const f of files) expect(second.md5(f)).toBe(f.path.length.toString(16).padStart(32, '0'));
  });
});
