import type { ExecutorContext } from '@nx/devkit';
import { deploy } from '../../lib/deploy/deploy';
import { buildOutputDir, workspacePath } from '../../lib/nx/project';
import { reportFailure } from '../../lib/nx/report';
import type { DeployS3ExecutorOptions } from './schema';

export default async function deployS3Executor(options: DeployS3ExecutorOptions, context: ExecutorContext): Promise<{ success: boolean }> {
  try {
    const { summary } = await deploy({
      ...options,
      workspaceRoot: context.root,
      project: context.projectName!,
      sourceDir: options.sourceDir ? workspacePath(context, options.sourceDir) : buildOutputDir(context),
      manifest: options.manifest ? workspacePath(context, options.manifest) : undefined,
    });
    if (options.json) console.log(JSON.stringify(summary));
    return { success: true };
  } catch (error) {
    return reportFailure('deploy-s3', error);
  }
}
