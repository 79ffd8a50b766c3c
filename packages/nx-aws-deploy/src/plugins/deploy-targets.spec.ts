import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createNodes } from './deploy-targets';
import { tempDir } from 'test-support';

it('infers deploy (after build), invalidate, rollback and releases targets from nx-aws-deploy.json', async () => {
  const root = tempDir('infer-');
  mkdirSync(join(root, 'apps/web'), { recursive: true });
  writeFileSync(
    join(root, 'apps/web/nx-aws-deploy.json'),
    JSON.stringify({ bucket: 'web-bucket', prefix: 'web', distributionId: 'E1', maxDeletes: 5 }),
  );
  const [pattern, create] = createNodes;
  expect(pattern).toBe('**/nx-aws-deploy.json');
  const results = await create(['apps/web/nx-aws-deploy.json'], { deployTargetName: 'ship' }, {
    workspaceRoot: root,
    nxJsonConfiguration: {},
  } as never);
  expect(results).toEqual([
    [
      'apps/web/nx-aws-deploy.json',
      {
        projects: {
          'apps/web': {
            targets: {
              ship: expect.objectContaining({
                executor: 'nx-aws-deploy:deploy-s3',
                dependsOn: ['build'],
                options: { bucket: 'web-bucket', prefix: 'web', distributionId: 'E1', maxDeletes: 5 },
              }),
              invalidate: expect.objectContaining({
                executor: 'nx-aws-deploy:invalidate',
                options: { distributionId: 'E1' },
              }),
              // The same bucket and prefix; the deploy's own options (maxDeletes) are not the rollback's.
              rollback: expect.objectContaining({
                executor: 'nx-aws-deploy:rollback',
                options: { bucket: 'web-bucket', prefix: 'web', distributionId: 'E1' },
              }),
              promote: expect.objectContaining({
                executor: 'nx-aws-deploy:promote',
                options: { bucket: 'web-bucket', prefix: 'web', distributionId: 'E1', maxDeletes: 5 },
              }),
              releases: expect.objectContaining({
                executor: 'nx-aws-deploy:releases',
                options: { bucket: 'web-bucket', prefix: 'web' },
              }),
            },
          },
        },
      },
    ],
  ]);
});
