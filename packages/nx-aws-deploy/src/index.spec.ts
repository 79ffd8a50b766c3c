import { execFileSync } from 'node:child_process';
import { join } from 'node:path';

/** Modules a fresh Node process has loaded after requiring `entry` (TypeScript through swc, as the bin does here). */
function modulesLoadedBy(entry: string): string[] {
  const script = `require(${JSON.stringify(entry)}); console.log(JSON.stringify(Object.keys(require.cache)))`;
  const output = execFileSync(process.execPath, ['-r', '@swc-node/register', '-e', script], {
    cwd: join(__dirname, '..'),
    encoding: 'utf8',
  });
  return JSON.parse(output.trim().split('\n').pop()!);
}

describe('package entry points', () => {
  it('the Nx plugin entry, which Nx loads for every command, loads no AWS SDK, no deploy code and no @nx/devkit', () => {
    const loaded = modulesLoadedBy(join(__dirname, 'index.ts'));
    expect(
      loaded.filter((m) => m.includes('@aws-sdk') || m.includes('/lib/deploy/deploy') || m.includes('@nx/devkit')),
    ).toEqual([]);
  });

  it('the entry still runs the init generator, loading it when called', async () => {
    const { createTreeWithEmptyWorkspace } = await import('@nx/devkit/testing');
    const { initGenerator } = await import('./index');
    const tree = createTreeWithEmptyWorkspace();
    await initGenerator(tree, { skipFormat: true });
    const plugins: (string | { plugin: string })[] = JSON.parse(tree.read('nx.json', 'utf8')!).plugins;
    expect(plugins.map((p) => (typeof p === 'string' ? p : p.plugin))).toContain('nx-aws-deploy');
  });

  // An AWS client costs tens of milliseconds to load, paid by every `nx run frontend:invalidate`.
  it('the invalidate executor loads neither the deploy nor the S3 client', () => {
    const loaded = modulesLoadedBy(join(__dirname, 'executors', 'invalidate', 'executor.ts'));
    expect(loaded.filter((m) => m.includes('@aws-sdk/client-s3') || m.includes('/lib/deploy/deploy'))).toEqual([]);
  });

  // Loaded when an invalidation is made, not with the executors that make one only when asked.
  it.each(['deploy-s3', 'rollback', 'promote'])('the %s executor does not load the CloudFront client', (executor) => {
    const loaded = modulesLoadedBy(join(__dirname, 'executors', executor, 'executor.ts'));
    expect(loaded.filter((m) => m.includes('@aws-sdk/client-cloudfront'))).toEqual([]);
  });

  it('nx-aws-deploy/deploy is the deploy library', () => {
    const loaded = modulesLoadedBy(join(__dirname, 'deploy.ts'));
    expect(loaded.some((m) => m.includes('@aws-sdk/client-s3'))).toBe(true);
  });
});
