import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { writeJsonWithList } from './json-file';

describe('writeJsonWithList', () => {
  const dir = mkdtempSync(join(tmpdir(), 'json-file-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'out.json');

  it('writes what JSON.stringify would, for any fields and list, in chunks', () => {
    const json = fc.jsonValue({ maxDepth: 2 });
    fc.assert(
      fc.property(
        fc.dictionary(
          fc.string().filter((k) => k !== 'list' && k !== '__proto__'),
          json,
          { maxKeys: 4 },
        ),
        fc.array(json, { maxLength: 300 }),
        fc.uniqueArray(
          fc.tuple(
            fc.string().filter((k) => k !== '__proto__'),
            json,
          ),
          {
            selector: ([k]) => k,
            maxLength: 300,
          },
        ),
        (fields, items, entries) => {
          writeJsonWithList(file, fields, { name: 'list', items });
          expect(JSON.parse(readFileSync(file, 'utf8'))).toEqual(
            JSON.parse(JSON.stringify({ ...fields, list: items })),
          );
          writeJsonWithList(file, fields, { name: 'list', entries });
          expect(JSON.parse(readFileSync(file, 'utf8'))).toEqual(
            JSON.parse(JSON.stringify({ ...fields, list: Object.fromEntries(entries) })),
          );
        },
      ),
      { numRuns: 60 },
    );
  });

  it('writes a list far larger than one chunk whole, an item per line', () => {
    const items = Array.from({ length: 20_000 }, (_, i) => ({ key: `assets/f${i}.js`, action: 'created' }));
    writeJsonWithList(file, { version: 1 }, { name: 'changes', items });
    const text = readFileSync(file, 'utf8');
    expect(JSON.parse(text)).toEqual({ version: 1, changes: items });
    expect(text.split('\n')).toHaveLength(20_000 + 6);
  });
});
