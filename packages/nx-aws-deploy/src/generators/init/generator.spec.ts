import { addProjectConfiguration, readJson, readNxJson, type Tree } from '@nx/devkit';
import { createTreeWithEmptyWorkspace } from 'nx/src/devkit-testing-exports';
import { releasePinCode, releaseRouterCode } from '../pipeline/cloudfront-function/release-router';
import { initGenerator, RELEASE_PIN_FILE, RELEASE_ROUTER_FILE } from './generator';
import type { InitGeneratorSchema } from './schema';

describe('init generator', () => {
  let tree: Tree;
  beforeEach(() => {
    tree = createTreeWithEmptyWorkspace();
    addProjectConfiguration(tree, 'frontend', {
      root: 'apps/frontend',
      targets: { build: { command: 'vite build', outputs: ['{workspaceRoot}/dist/apps/frontend'] } },
    });
  });

  it('registers the plugin once: running it twice changes nothing', async () => {
    await initGenerator(tree, { skipFormat: true });
    const once = tree.listChanges().map((c) => [c.path, c.content?.toString()]);
    await initGenerator(tree, { skipFormat: true });
    expect(tree.listChanges().map((c) => [c.path, c.content?.toString()])).toEqual(once);
    expect(
      readNxJson(tree)!.plugins!.filter((p) => (typeof p === 'string' ? p : p.plugin) === 'nx-aws-deploy'),
    ).toHaveLength(1);
  });

  it('keeps a registration the user already has, with its options', async () => {
    const nxJson = readNxJson(tree)!;
    nxJson.plugins = ['nx-aws-deploy'];
    tree.write('nx.json', JSON.stringify(nxJson));
    await initGenerator(tree, { skipFormat: true });
    expect(readNxJson(tree)!.plugins).toEqual(['nx-aws-deploy']);
  });

  it('gives a project its deploy config', async () => {
    await initGenerator(tree, {
      project: 'frontend',
      bucket: 'acme-frontend-prod',
      distributionId: 'E123EXAMPLE',
      skipFormat: true,
    });
    expect(readJson(tree, 'apps/frontend/nx-aws-deploy.json')).toEqual({
      bucket: 'acme-frontend-prod',
      distributionId: 'E123EXAMPLE',
    });
  });

  it('with a KeyValueStore, makes the project atomic and writes the release router and pin to attach to its distribution', async () => {
    const keyValueStoreArn = 'arn:aws:cloudfront::123456789012:key-value-store/a1b2c3d4-5678-90ab-cdef-EXAMPLE11111';
    await initGenerator(tree, { project: 'frontend', bucket: 'acme-frontend', keyValueStoreArn, skipFormat: true });
    expect(readJson(tree, 'apps/frontend/nx-aws-deploy.json')).toEqual({
      bucket: 'acme-frontend',
      releaseMode: 'atomic',
      keyValueStoreArn,
    });
    expect(tree.read(`apps/frontend/${RELEASE_ROUTER_FILE}`, 'utf8')).toBe(
      releaseRouterCode({ site: 'frontend', storybook: false, spa: true }),
    );
    expect(tree.read(`apps/frontend/${RELEASE_PIN_FILE}`, 'utf8')).toBe(releasePinCode('frontend'));
  });

  it('deploys in place, with no router, unless told otherwise', async () => {
    await initGenerator(tree, {
      project: 'frontend',
      bucket: 'acme-frontend',
      releaseMode: 'in-place',
      skipFormat: true,
    });
    expect(readJson(tree, 'apps/frontend/nx-aws-deploy.json')).toEqual({ bucket: 'acme-frontend' });
    expect(tree.exists(`apps/frontend/${RELEASE_ROUTER_FILE}`)).toBe(false);
  });

  it.each([
    [
      { project: 'frontend', bucket: 'acme-site', releaseMode: 'atomic' },
      /--releaseMode=atomic needs --keyValueStoreArn/,
    ],
    [
      { project: 'frontend', bucket: 'acme-site', keyValueStoreArn: 'my-store' },
      /needs --keyValueStoreArn, the ARN .*, not "my-store"/,
    ],
    [
      {
        project: 'frontend',
        bucket: 'acme-site',
        releaseMode: 'in-place',
        keyValueStoreArn: 'arn:aws:cloudfront::123456789012:key-value-store/x',
      },
      /--keyValueStoreArn is for --releaseMode=atomic/,
    ],
    [
      { project: 'frontend', bucket: 'acme-site', releaseMode: 'blue-green' },
      /--releaseMode must be "atomic" or "in-place", not "blue-green"/,
    ],
    [{ project: 'nope', bucket: 'acme-site' }, /Project "nope" does not exist in this workspace/],
    [{ project: 'frontend' }, /--bucket is required with --project/],
    [{ project: 'frontend', bucket: 'Acme_Site' }, /"Acme_Site" is not a bucket name S3 accepts/],
    [{ project: 'frontend', bucket: 'ab' }, /"ab" is not a bucket name S3 accepts/],
  ])('refuses %j with one clear error', async (options, message) => {
    await expect(initGenerator(tree, { ...(options as InitGeneratorSchema), skipFormat: true })).rejects.toThrow(
      message,
    );
  });
});
