import fc from 'fast-check';
import { pagesOf } from '../../../test/memory-bucket';
import { compareKeys, keysPerRange, listAll, splitPoints } from './listing';
import type { RemoteObject } from './store';

const utf8Order = (a: string, b: string) => Buffer.compare(Buffer.from(a), Buffer.from(b));
const objectsOf = (keys: Iterable<string>): RemoteObject[] => [...keys].map((key) => ({ key, size: 1, etag: '"e"' }));

describe('compareKeys', () => {
  it.each([
    ['a', 'b', -1],
    ['a', 'a', 0],
    ['a/', 'a', 1],
    ['B', 'a', -1],
    // U+1F600 (a surrogate pair in UTF-16) comes after U+FF21 in UTF-8, before it in UTF-16 units.
    ['\u{1F600}', '\uFF21', 1],
    ['\uFF21', '\u{1F600}', -1],
    ['\u{1F600}', '\u00e9', 1],
    ['x\u{1F600}y', 'x\u{1F601}', -1],
  ])('%j vs %j: %i', (a, b, sign) => {
    expect(Math.sign(compareKeys(a, b))).toBe(sign);
  });

  it("is S3's order: that of the keys' UTF-8 bytes", () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme' }), fc.string({ unit: 'grapheme' }), (a, b) => {
        expect(Math.sign(compareKeys(a, b))).toBe(Math.sign(utf8Order(a, b)));
      }),
      { numRuns: 2000 },
    );
  });
});

describe('splitPoints', () => {
  const keys = Array.from({ length: 10 }, (_, i) => `k${i}`);
  it.each([
    ['every third after the start', '', 3, ['k2', 'k5', 'k8']],
    ['only keys after the first page count', 'k3', 3, ['k6', 'k9']],
    ['a range beyond the keys: none', '', 11, []],
    ['after every key: none', 'z', 1, []],
  ])('%s', (_, after, perRange, points) => {
    expect(splitPoints(after as string, keys, perRange as number)).toEqual(points);
  });

  it('passes over keys out of order, so that the points always increase', () => {
    expect(splitPoints('', ['a', 'c', 'b', 'd', 'e', 'a2', 'f'], 2)).toEqual(['c', 'e']);
    expect(splitPoints('', ['\uFF21', '\u{1F600}', 'a'], 1)).toEqual(['\uFF21', '\u{1F600}']);
  });
});

describe('listAll', () => {
  /** Keys S3 could hold, from a small alphabet (so that ranges meet at shared prefixes) and a few wide characters. */
  const key = fc
    .array(fc.constantFrom('a', 'b', '/', '.', 'é', '\uFF21', '\u{1F600}'), { minLength: 1, maxLength: 6 })
    .map((parts) => parts.join(''));

  it('lists exactly what a listing page after page does, in S3 order, whatever keys it is told to expect', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.uniqueArray(key, { maxLength: 120 }),
        fc.array(key, { maxLength: 120 }),
        fc.integer({ min: 1, max: 12 }),
        async (inBucket, likely, pageSize) => {
          let requests = 0;
          const listed = await listAll(
            pagesOf(objectsOf(inBucket), pageSize, () => requests++),
            { likelyKeys: likely, pageSize },
          );
          expect(listed.map((o) => o.key)).toEqual([...inBucket].sort(utf8Order));
          // A page per range at most beyond a listing page after page: the ranges split after the first page,
          // at the points taken from its last key on (from another key on, other keys would be passed over).
          const pages = Math.max(1, Math.ceil(inBucket.length / pageSize));
          const firstPageEnd = listed[Math.min(pageSize, listed.length) - 1]?.key ?? '';
          const points = splitPoints(firstPageEnd, likely, keysPerRange(pageSize));
          expect(requests).toBeLessThanOrEqual(pages + points.length + 1);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('bounds the pages by the points split after the first page (a case the property met: points taken from another key differ)', async () => {
    let requests = 0;
    const inBucket = ['a', '/', 'aa', '.'];
    const likely = ['a', '\uFF21a', 'aa', 'b', 'a\u{1F600}', '\u{1F600}', '\u00e9a'];
    const listed = await listAll(
      pagesOf(objectsOf(inBucket), 3, () => requests++),
      { likelyKeys: likely, pageSize: 3 },
    );
    expect(listed.map((o) => o.key)).toEqual(['.', '/', 'a', 'aa']);
    // From '' on only one point is taken ('\uFF21a'): the bound must count the three taken after the first page.
    expect(splitPoints('', likely, keysPerRange(3))).toEqual(['\uFF21a']);
    expect(splitPoints('a', likely, keysPerRange(3))).toEqual(['aa', 'a\u{1F600}', '\u00e9a']);
    expect(requests).toBe(5);
    expect(requests).toBeLessThanOrEqual(2 + 3 + 1);
  });

  it('asks for no more pages than one after the other when the bucket holds the expected keys, or a few more', async () => {
    const keys = Array.from({ length: 5432 }, (_, i) => `assets/${String(i).padStart(5, '0')}.js`);
    let requests = 0;
    let firstPage: [number, boolean] | undefined;
    const listed = await listAll(
      pagesOf(objectsOf(keys), 1000, () => requests++),
      { likelyKeys: keys, onFirstPage: (objects, more) => (firstPage = [objects.length, more]) },
    );
    expect(listed.map((o) => o.key)).toEqual(keys);
    expect([requests, firstPage]).toEqual([6, [1000, true]]);

    // A few dozen more per range (the bookkeeping, assets of older releases) still fit in its one page.
    const extras = keys.filter((_, i) => i % 100 === 7).map((key) => `${key}.old`);
    requests = 0;
    const withExtras = await listAll(
      pagesOf(objectsOf([...keys, ...extras]), 1000, () => requests++),
      { likelyKeys: keys },
    );
    expect(withExtras).toHaveLength(keys.length + extras.length);
    expect(requests).toBe(6);
  });

  it('takes expected keys still coming (a record being read) as it takes them at hand; a failed hint lists page after page', async () => {
    const keys = Array.from({ length: 2500 }, (_, i) => `assets/${String(i).padStart(4, '0')}.js`);
    const listWith = async (likelyKeys: Promise<string[]>) => {
      const asked: object[] = [];
      const listed = await listAll(
        pagesOf(objectsOf(keys), 1000, (from) => asked.push(from)),
        { likelyKeys },
      );
      return { keys: listed.map((o) => o.key), asked };
    };
    const later = new Promise<string[]>((resolve) => setTimeout(() => resolve(keys), 20));
    expect(await listWith(later)).toEqual({
      keys,
      asked: [{}, { startAfter: keys[999] }, { startAfter: keys[1899] }],
    });
    const failed = Promise.reject(new Error('record unreadable'));
    expect(await listWith(failed)).toEqual({
      keys,
      asked: [{}, { token: expect.any(String) }, { token: expect.any(String) }],
    });
  });

  it('lists page after page without expected keys, and one page for a short listing', async () => {
    const keys = Array.from({ length: 25 }, (_, i) => `k${String(i).padStart(2, '0')}`);
    let requests = 0;
    expect(
      await listAll(
        pagesOf(objectsOf(keys), 10, () => requests++),
        { pageSize: 10 },
      ),
    ).toHaveLength(25);
    expect(requests).toBe(3);
    requests = 0;
    expect(
      await listAll(
        pagesOf(objectsOf(keys.slice(0, 5)), 10, () => requests++),
        { likelyKeys: keys },
      ),
    ).toHaveLength(5);
    expect(requests).toBe(1);
  });

  it("stops with the stop signal's reason, not a partial listing", async () => {
    const keys = Array.from({ length: 100 }, (_, i) => `k${String(i).padStart(3, '0')}`);
    const stop = new AbortController();
    const pages = pagesOf(objectsOf(keys), 10);
    let pagesAsked = 0;
    await expect(
      listAll(
        async (from) => {
          // Stopped once the ranges are under way: those in flight finish, no new one starts.
          if (++pagesAsked === 2) stop.abort('SIGTERM');
          return pages(from);
        },
        { likelyKeys: keys, pageSize: 10, signal: stop.signal },
      ),
    ).rejects.toBe('SIGTERM');
  });
});
