import { normalizeDeployOptions } from './options';

const where = (env: NodeJS.ProcessEnv, stderrIsTTY = false) => ({
  workspaceRoot: '/ws',
  base: '/ws/apps/web',
  project: 'web',
  env,
  stderrIsTTY,
});

describe('normalizeDeployOptions', () => {
  it('resolves paths against the base and drops an empty distribution id', () => {
    const options = normalizeDeployOptions(
      { sourceDir: 'dist', bucket: 'my-site', manifest: 'out/m.json', distributionId: '' },
      where({}),
    );
    expect(options).toMatchObject({
      workspaceRoot: '/ws',
      project: 'web',
      sourceDir: '/ws/apps/web/dist',
      manifest: '/ws/apps/web/out/m.json',
      distributionId: undefined,
    });
  });

  it('takes the commit, the pipeline execution and the lease owner from CodeBuild, so that deploy() reads no environment', () => {
    const options = normalizeDeployOptions(
      { sourceDir: 'dist', bucket: 'my-site' },
      where({
        CODEBUILD_RESOLVED_SOURCE_VERSION: 'a1b2c3',
        CODEPIPELINE_EXECUTION_ID: 'exec-1',
        CODEBUILD_BUILD_ARN: 'arn:aws:codebuild:eu-west-1:123456789012:build/web:1',
      }),
    );
    expect(options).toMatchObject({
      commit: 'a1b2c3',
      pipelineExecution: 'exec-1',
      leaseOwner: 'arn:aws:codebuild:eu-west-1:123456789012:build/web:1',
    });
    expect(
      normalizeDeployOptions(
        { sourceDir: 'dist', bucket: 'my-site' },
        where({ CODEBUILD_RESOLVED_SOURCE_VERSION: '' }),
      ),
    ).toMatchObject({ commit: undefined, pipelineExecution: undefined });
  });

  it.each([
    ['a terminal', {}, true, true],
    ['a terminal in CI', { CI: 'true' }, true, false],
    ['a log (stderr is no terminal)', {}, false, false],
  ])('redraws the progress line only for a person at %s', (_, env: NodeJS.ProcessEnv, tty, redraw) => {
    expect(normalizeDeployOptions({ sourceDir: 'dist', bucket: 'my-site' }, where(env, tty)).redrawProgress).toBe(
      redraw,
    );
  });
});
