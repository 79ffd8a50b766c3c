import { readFileSync } from 'node:fs';
import { addProjectConfiguration, removeProjectConfiguration, type Tree } from '@nx/devkit';
import { createTreeWithEmptyWorkspace } from 'nx/src/devkit-testing-exports';
import { parse } from 'yaml';
import { BUILDSPEC_TEMPLATE_FILE, pipelineGenerator } from '../pipeline/generator';
import syncBatchGenerator from './generator';

let tree: Tree;
const deploys = (name: string) =>
  addProjectConfiguration(tree, name, {
    root: `apps/${name}`,
    targets: { build: { command: 'vite build' }, deploy: { executor: 'nx-aws-deploy:deploy-s3', options: {} } },
  });
const buildList = () =>
  (
    parse(tree.read('buildspec.yml', 'utf8')!).batch['build-list'] as { env: { variables: Record<string, string> } }[]
  ).map((b) => b.env.variables.NX_AWS_DEPLOY_PROJECT);

beforeEach(async () => {
  tree = createTreeWithEmptyWorkspace();
  deploys('frontend');
  deploys('docs');
  addProjectConfiguration(tree, 'api', { root: 'apps/api', targets: { build: { command: 'tsc' } } });
  await pipelineGenerator(tree, { batch: true, skipFormat: true });
});

describe('sync-batch (nx sync)', () => {
  it('leaves a build list that matches the projects as it is', async () => {
    const before = tree.read('buildspec.yml', 'utf8');
    expect(buildList()).toEqual(['docs', 'frontend']);
    expect(await syncBatchGenerator(tree)).toEqual({});
    expect(tree.read('buildspec.yml', 'utf8')).toBe(before);
  });

  it('adds a build for a project that starts to deploy, and says so', async () => {
    addProjectConfiguration(tree, 'admin', { root: 'apps/admin', targets: { build: { command: 'vite build' } } });
    tree.write('apps/admin/nx-aws-deploy.json', '{}');
    const result = await syncBatchGenerator(tree);
    expect(result).toEqual({
      outOfSyncMessage:
        "buildspec.yml's batch build list is out of step with the projects that deploy (no build for admin). Run `nx sync`.",
    });
    expect(buildList()).toEqual(['admin', 'docs', 'frontend']);
    expect(await syncBatchGenerator(tree)).toEqual({});
  });

  it('removes the build of a project that is gone, keeping the comments and the rest of the buildspec', async () => {
    removeProjectConfiguration(tree, 'docs');
    expect((await syncBatchGenerator(tree)).outOfSyncMessage).toMatch(/a build for docs, which is no longer deployed/);
    expect(buildList()).toEqual(['frontend']);
    const text = tree.read('buildspec.yml', 'utf8')!;
    expect(text).toContain('# Kept in step with the project graph by `nx sync`');
    expect(text).toContain('# CodeBuild: build and ship only the projects the Nx project graph says changed');
    expect({ ...parse(text), batch: undefined }).toEqual({
      ...parse(readFileSync(BUILDSPEC_TEMPLATE_FILE, 'utf8')),
      batch: undefined,
    });
  });

  it('does nothing to a buildspec without a batch section (a pipeline without --batch)', async () => {
    const standard = readFileSync(BUILDSPEC_TEMPLATE_FILE, 'utf8');
    tree.write('buildspec.yml', standard);
    deploys('admin');
    expect(await syncBatchGenerator(tree)).toEqual({});
    expect(tree.read('buildspec.yml', 'utf8')).toBe(standard);
  });
});
