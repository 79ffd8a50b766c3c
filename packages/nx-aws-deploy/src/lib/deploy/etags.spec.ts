import fc from 'fast-check';
import { partSizeCandidates } from './etags';

const MiB = 1024 * 1024;

describe('partSizeCandidates', () => {
  it.each([
    ['one part: the whole file, whatever size the tool chose', 8 * MiB, 1, [8 * MiB]],
    ['one part of a small file', 1000, 1, [5 * MiB]],
    ['aws CLI 8 MiB parts (and the sizes that give the same count)', 20 * MiB, 3, [8 * MiB, 7 * MiB]],
    ['lib-storage 5 MiB parts, and 6 MiB', 20 * MiB, 4, [5 * MiB, 6 * MiB]],
    ['16 and 15 MiB parts', 40 * MiB, 3, [16 * MiB, 15 * MiB, 14 * MiB]],
    ['more parts than the size allows at 5 MiB', 20 * MiB, 5, []],
    ['an empty file', 0, 1, []],
    ['no parts', 10 * MiB, 0, []],
  ])('%s', (_, size, parts, expected) => {
    expect(partSizeCandidates(size as number, parts as number)).toEqual(expected);
  });

  it('every candidate is a size S3 allows that yields exactly that many parts, and the usual ones are tried', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 2000 * MiB }), fc.constantFrom(5, 8, 16, 64), (size, partMiB) => {
        const parts = Math.ceil(size / (partMiB * MiB));
        const candidates = partSizeCandidates(size, parts);
        expect(candidates.length).toBeLessThanOrEqual(6);
        for (const c of candidates) {
          expect(c).toBeGreaterThanOrEqual(5 * MiB);
          if (parts > 1) expect(Math.ceil(size / c)).toBe(parts);
        }
        // What the aws CLI, lib-storage and other common tools upload with is always among them.
        if (parts > 1) expect(candidates).toContain(partMiB * MiB);
      }),
    );
  });
});
