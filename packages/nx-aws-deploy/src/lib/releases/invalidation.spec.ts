import { parseManifest } from '../deploy/manifest';
import type { ReleaseRecord } from './history';
import { copiedReleaseManifest } from './invalidation';

const record = (restorable: Record<string, string>): ReleaseRecord => ({
  version: 1,
  summary: {
    number: 3,
    at: '2026-11-03T10:00:00.000Z',
    project: 'web',
    by: 'me@host:1',
    changed: 1,
    files: 2,
    bytes: 9,
    kept: true,
  },
  restorable,
  assets: { 'assets/app-1a2b3c4d.js': '"e1"' },
});

describe('copiedReleaseManifest', () => {
  it.each([
    ['a site', { 'index.html': '"e0"' }, true],
    ['files without an index.html', { 'docs/page.html': '"e0"' }, false],
  ])(
    "is the new release's manifest of %s, readable by the invalidate executor and the Lambda",
    (_, files, hasIndex) => {
      const changes = [{ key: 'site/index.html', action: 'replaced' as const, immutable: false }];
      const manifest = copiedReleaseManifest(
        record(files),
        { bucket: 'prod-site', prefix: 'site/', region: 'eu-west-1', distributionId: 'E2PROD' },
        { number: 7, at: '2026-11-27T10:00:00.000Z' },
        changes,
        4,
      );
      // The release it became, not the one its files came from.
      expect(manifest).toEqual({
        version: 1,
        project: 'web',
        bucket: 'prod-site',
        prefix: 'site/',
        region: 'eu-west-1',
        distributionId: 'E2PROD',
        deployedAt: '2026-11-27T10:00:00.000Z',
        deploy: 7,
        hasIndex,
        changes,
        unchanged: 4,
      });
      expect(parseManifest(JSON.stringify(manifest), 'the manifest')).toEqual(manifest);
    },
  );
});
