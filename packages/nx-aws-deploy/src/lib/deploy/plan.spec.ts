import fc from 'fast-check';
import { STATE_FILE } from '../bucket/bookkeeping';
import { normalizePrefix } from '../bucket/name';
import type { RemoteObject } from '../bucket/store';
import { headersFingerprint, headersFor } from './headers';
import {
  keysNeedingHead,
  checkKeyLengths,
  planDeploy,
  shouldWriteState,
  type DeployState,
  type PlanInput,
  type PlannedFile,
} from './plan';

const etag = (content: string) => `"${content}"`;
const file = (path: string, content = path, headers = headersFor(path)): PlannedFile => ({
  path,
  size: content.length,
  etags: [etag(content)],
  headers,
});
const remote = (key: string, content = key.replace(/^.*?\//, '')): RemoteObject => ({
  key,
  size: content.length,
  etag: etag(content),
});
const stateOf = (entries: [string, string, PlannedFile['headers']][], deploy = 1): DeployState => ({
  version: 1,
  deploy,
  objects: Object.fromEntries(
    entries.map(([key, content, headers]) => [
      key,
      { etag: etag(content), headers: headersFingerprint(headers), deploy },
    ]),
  ),
});
const plan = (input: Partial<PlanInput>) =>
  planDeploy({
    bucket: 'b',
    files: [],
    prefix: '',
    remote: [],
    prune: true,
    maxDeletes: 256,
    pruneOlderThanDeploys: 0,
    ...input,
  });

describe('planDeploy', () => {
  it('uploads every file of a first deploy, assets before entry files', () => {
    const p = plan({
      files: [file('index.html'), file('assets/app-B-XZhOr9.js'), file('about/index.html'), file('robots.txt')],
    });
    expect(p.uploads.map((u) => [u.key, u.reason, u.entry])).toEqual([
      ['assets/app-B-XZhOr9.js', 'new', false],
      ['robots.txt', 'new', false],
      ['about/index.html', 'new', true],
      ['index.html', 'new', true],
    ]);
    expect(p.deletes).toEqual([]);
  });

  it('decides by content: same bytes are unchanged whatever their mtime, other bytes are replaced', () => {
    const files = [file('index.html', 'v2'), file('a.js', 'same')];
    const state = stateOf([
      ['index.html', 'v1', files[0].headers],
      ['a.js', 'same', files[1].headers],
    ]);
    const p = plan({ files, remote: [remote('index.html', 'v1'), remote('a.js', 'same')], state });
    expect(p.uploads.map((u) => [u.key, u.reason])).toEqual([['index.html', 'changed']]);
    expect(p.unchanged.map((u) => u.path)).toEqual(['a.js']);
  });

  it('recognises a multipart ETag of the same content', () => {
    const big: PlannedFile = {
      path: 'video.mp4',
      size: 20,
      etags: ['"whole"', '"parts-3"'],
      headers: headersFor('video.mp4'),
    };
    const p = plan({
      files: [big],
      remote: [{ key: 'video.mp4', size: 20, etag: '"parts-3"' }],
      state: stateOf([['video.mp4', 'parts-3', big.headers]]),
    });
    expect(p.unchanged.map((u) => u.path)).toEqual(['video.mp4']);
  });

  it('updates headers in place when only the rules changed', () => {
    const f = file('a.pdf', 'pdf', { ...headersFor('a.pdf'), 'Content-Disposition': 'attachment' });
    const p = plan({
      files: [f],
      remote: [remote('a.pdf', 'pdf')],
      state: stateOf([['a.pdf', 'pdf', headersFor('a.pdf')]]),
    });
    expect(p.metadataUpdates.map((u) => u.key)).toEqual(['a.pdf']);
    expect(p.uploads).toEqual([]);
  });

  it('asks for HEAD only where the state does not vouch for the remote ETag, and uses what HEAD said', () => {
    const files = [file('a.js', 'a'), file('b.js', 'b'), file('c.js', 'new')];
    const input = {
      files,
      prefix: '',
      remote: [remote('a.js', 'a'), remote('b.js', 'b'), remote('c.js', 'old')],
      state: stateOf([['a.js', 'a', files[0].headers]]),
    };
    expect(keysNeedingHead(input)).toEqual(['b.js']);
    const p = plan({ ...input, headedFingerprints: new Map([['b.js', headersFingerprint(files[1].headers)]]) });
    expect(p.unchanged.map((u) => u.path)).toEqual(['a.js', 'b.js']);
    expect(p.uploads.map((u) => u.key)).toEqual(['c.js']);
  });

  it('prunes stale keys under the prefix only, never the state or excluded keys', () => {
    const p = plan({
      files: [file('index.html')],
      prefix: 'app/',
      exclude: ['uploads/**'],
      remote: [
        remote('app/index.html', 'index.html'),
        remote('app/old.js'),
        remote('other/x.js'),
        remote(`app/${STATE_FILE}`),
        remote('app/uploads/user.png'),
      ],
    });
    expect(p.deletes).toEqual(['app/old.js']);
  });

  it('never prunes another deploy below the prefix: keys under a deeper prefix with its own bookkeeping', () => {
    const p = plan({
      files: [file('index.html')],
      remote: [
        remote('index.html', 'index.html'),
        remote('old.js'),
        remote('app1/index.html'),
        remote(`app1/${STATE_FILE}`),
        remote('app10/index.html'),
        remote('app10/assets/a.js'),
        remote(`app10/${STATE_FILE}`),
        remote('app100-not-a-deploy/x.js'),
        remote('docs/v2/index.html'),
        remote(`docs/v2/${STATE_FILE}`),
      ],
    });
    expect(p.deletes.sort()).toEqual(['app100-not-a-deploy/x.js', 'old.js']);
    expect(p.siblings).toEqual([
      { prefix: 'app1/', objects: 2 },
      { prefix: 'app10/', objects: 3 },
      { prefix: 'docs/v2/', objects: 2 },
    ]);
  });

  it('keeps assets of the last N deploys with pruneOlderThanDeploys', () => {
    const h = headersFor('x.js');
    const state: DeployState = {
      version: 1,
      deploy: 3,
      objects: {
        'recent-Ab12Cd34.js': { etag: etag('recent-Ab12Cd34.js'), headers: headersFingerprint(h), deploy: 3 },
        'older-Ab12Cd34.js': { etag: etag('older-Ab12Cd34.js'), headers: headersFingerprint(h), deploy: 2 },
      },
    };
    const input = {
      files: [file('index.html')],
      state,
      remote: [remote('recent-Ab12Cd34.js', 'recent-Ab12Cd34.js'), remote('older-Ab12Cd34.js', 'older-Ab12Cd34.js')],
    };
    expect(plan({ ...input, pruneOlderThanDeploys: 1 })).toMatchObject({
      kept: ['recent-Ab12Cd34.js'],
      deletes: ['older-Ab12Cd34.js'],
    });
    expect(plan({ ...input, pruneOlderThanDeploys: 0 })).toMatchObject({
      kept: [],
      deletes: ['recent-Ab12Cd34.js', 'older-Ab12Cd34.js'],
    });
    expect(plan({ ...input, prune: false })).toMatchObject({ kept: [], deletes: [] });
  });

  it('refuses, before anything changes, a deploy that would delete more than maxDeletes', () => {
    const stale = Array.from({ length: 5 }, (_, i) => remote(`old${i}.js`));
    expect(() => plan({ bucket: 'site', files: [file('index.html')], remote: stale, maxDeletes: 4 })).toThrow(
      /would delete 5 objects under s3:\/\/site\/, more than maxDeletes \(4\); nothing was changed/,
    );
    expect(plan({ files: [file('index.html')], remote: stale, maxDeletes: 5 }).deletes).toHaveLength(5);
  });

  it('refuses keys longer than S3 allows, counting the prefix and UTF-8 bytes, naming the file', () => {
    const name = `${'a'.repeat(1017)}.js`;
    expect(() => checkKeyLengths('app/', [{ path: name }], 'dist')).not.toThrow();
    expect(() => checkKeyLengths('app/x', [{ path: name }], 'dist')).toThrow(/of 1025 bytes; S3 allows 1024/);
    expect(() => checkKeyLengths('', [{ path: `${'é'.repeat(511)}.js` }], '/w/dist')).toThrow(
      /^\/w\/dist\/é+\.js would be the key .* of 1025 bytes/,
    );
  });

  it.each([
    ['', ''],
    ['/', ''],
    ['app', 'app/'],
    ['/app/', 'app/'],
    ['a/b//', 'a/b/'],
  ])('normalizes prefix %j to %j', (input, expected) => {
    expect(normalizePrefix(input)).toBe(expected);
  });
});

describe('shouldWriteState', () => {
  const h = headersFingerprint(headersFor('a.js'));
  const state = (objects: Record<string, [string, string]>): DeployState => ({
    version: 1,
    deploy: 1,
    objects: Object.fromEntries(
      Object.entries(objects).map(([k, [e, hh]]) => [k, { etag: e, headers: hh, deploy: 1 }]),
    ),
  });
  it.each([
    ['no state yet', undefined, state({ a: ['1', h] }), 0, true],
    ['nothing changed', state({ a: ['1', h] }), state({ a: ['1', h] }), 0, false],
    [
      'one file changed (its stale record costs one HEAD)',
      state({ a: ['1', h], b: ['1', h] }),
      state({ a: ['2', h], b: ['1', h] }),
      0,
      false,
    ],
    ['same bytes, new headers', state({ a: ['1', h] }), state({ a: ['1', 'other'] }), 0, true],
    [
      'many files changed',
      state(Object.fromEntries(Array.from({ length: 12 }, (_, i) => [`k${i}`, ['1', h]]))),
      state(Object.fromEntries(Array.from({ length: 12 }, (_, i) => [`k${i}`, ['2', h]]))),
      0,
      true,
    ],
    ['recent deploys are kept', state({ a: ['1', h] }), state({ a: ['2', h] }), 1, true],
  ])('%s → %s', (_, previous, next, keep, expected) => expect(shouldWriteState(previous, next, keep)).toBe(expected));
});

describe('planDeploy properties', () => {
  const path = fc.stringMatching(/^[a-z]{1,3}(\/[a-z]{1,3})?\.(js|html|css)$/);
  const content = fc.constantFrom('a', 'b', 'c');
  const site = fc.uniqueArray(fc.tuple(path, content), { selector: ([p]) => p, maxLength: 12 });

  it('applying a plan converges: planning again on the result changes nothing, and no local key is ever deleted', () => {
    fc.assert(
      fc.property(site, site, fc.constantFrom('', 'app/'), (local, before, prefix) => {
        const files = local.map(([p, c]) => file(p, c));
        const remoteBefore = before.map(([p, c]) => remote(prefix + p, c));
        const first = plan({
          files,
          remote: remoteBefore,
          prefix,
          maxDeletes: Infinity,
          headedFingerprints: new Map(remoteBefore.map((r) => [r.key, 'unknown'])),
        });
        const localKeys = new Set(files.map((f) => prefix + f.path));
        expect(first.deletes.filter((k) => localKeys.has(k))).toEqual([]);
        expect(first.uploads.length + first.metadataUpdates.length + first.unchanged.length).toBe(files.length);
        const entryIndex = first.uploads.findIndex((u) => u.entry);
        if (entryIndex >= 0) expect(first.uploads.slice(entryIndex).every((u) => u.entry)).toBe(true);

        const after = new Map(remoteBefore.map((r) => [r.key, r]));
        for (const key of first.deletes) after.delete(key);
        for (const u of first.uploads)
          after.set(u.key, { key: u.key, size: u.size, etag: files.find((f) => prefix + f.path === u.key)!.etags[0] });
        const nextState = {
          ...first.nextState,
          objects: Object.fromEntries(
            Object.entries(first.nextState.objects).map(([k, r]) => [k, { ...r, etag: after.get(k)!.etag }]),
          ),
        };
        const second = plan({ files, remote: [...after.values()], prefix, state: nextState, maxDeletes: Infinity });
        expect([second.uploads, second.metadataUpdates, second.deletes]).toEqual([[], [], []]);
      }),
    );
  });

  it('no key of a sibling deploy (a deeper prefix with bookkeeping) is ever planned for deletion', () => {
    const sibling = fc.constantFrom('a/', 'ab/', 'a/b/', 'x/y/');
    fc.assert(
      fc.property(site, site, fc.uniqueArray(sibling, { maxLength: 3 }), (local, others, siblings) => {
        const remoteKeys = [
          ...others.map(([p, c]) => remote(p, c)),
          ...siblings.flatMap((s) => [remote(`${s}${STATE_FILE}`), ...others.map(([p, c]) => remote(s + p, c))]),
        ];
        const p = plan({ files: local.map(([path, c]) => file(path, c)), remote: remoteKeys, maxDeletes: Infinity });
        for (const key of p.deletes) expect(siblings.some((s) => key.startsWith(s))).toBe(false);
      }),
    );
  });
});
