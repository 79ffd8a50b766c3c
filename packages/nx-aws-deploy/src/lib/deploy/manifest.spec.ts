import { parseManifest } from './manifest';

const valid = {
  version: 1,
  project: 'site',
  bucket: 'b',
  prefix: '',
  deployedAt: '2026-11-26T00:00:00.000Z',
  deploy: 3,
  hasIndex: true,
  changes: [{ key: 'index.html', action: 'replaced', immutable: false }],
  unchanged: 4,
};
const without = (key: string) => Object.fromEntries(Object.entries(valid).filter(([k]) => k !== key));

describe('parseManifest', () => {
  it('returns a valid manifest as it is', () => {
    expect(parseManifest(JSON.stringify(valid), 'm.json')).toEqual(valid);
  });

  it.each([
    ['not JSON', '{"version": 1,', 'is not valid JSON'],
    ['a list', '[]', 'is not a JSON object'],
    ['null', 'null', 'is not a JSON object'],
    [
      'another version',
      JSON.stringify({ ...valid, version: 2 }),
      'has version 2, and this version of nx-aws-deploy reads version 1',
    ],
    ['no version', JSON.stringify(without('version')), 'has version undefined'],
    ['no changes', JSON.stringify(without('changes')), 'has no "changes" list'],
    ['changes not a list', JSON.stringify({ ...valid, changes: {} }), 'has no "changes" list'],
    ['no prefix', JSON.stringify(without('prefix')), 'has no "prefix"'],
    [
      'a change without key',
      JSON.stringify({ ...valid, changes: [{ action: 'created', immutable: true }] }),
      'has a malformed change',
    ],
    [
      'an unknown action',
      JSON.stringify({ ...valid, changes: [{ key: 'a', action: 'moved', immutable: true }] }),
      'has a malformed change',
    ],
    ['a null change', JSON.stringify({ ...valid, changes: [null] }), 'has a malformed change'],
  ])('refuses %s with one line naming the file', (_, text, problem) => {
    expect(() => parseManifest(text, 'dist/deploy-manifests/site.json')).toThrow(
      expect.objectContaining({
        name: 'UserError',
        message: expect.stringMatching(
          new RegExp(`^The deploy manifest dist/deploy-manifests/site\\.json ${problem.replace(/[()"]/g, '\\$&')}`),
        ),
      }),
    );
  });
});
