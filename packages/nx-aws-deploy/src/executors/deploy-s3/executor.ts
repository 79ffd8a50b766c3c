import type { ExecutorContext } from '@nx/devkit';
import { deploy } from '../../lib/deploy/deploy';
import { normalizeDeployOptions } from '../../lib/deploy/options';
import { buildOutputDir } from '../../lib/nx/project';
import { invalidate } from '../../lib/invalidate/invalidate';
import { reportFailure } from '../../lib/nx/report';
import { UserError } from '../../lib/util/errors';
import { withStopSignals } from '../../lib/util/interrupt';
import type { DeployS3ExecutorOptions } from './schema';

export default async function deployS3Executor(
  options: DeployS3ExecutorOptions,
  context: ExecutorContext,
): Promise<{ success: boolean }> {
  try {
    const { invalidate: invalidateAfter, json, ...input } = options;
    if (invalidateAfter && !options.distributionId)
      throw new UserError(
        '"invalidate" needs the "distributionId" option: the CloudFront distribution in front of the bucket.',
      );
    const deployOptions = normalizeDeployOptions(
      { ...input, sourceDir: options.sourceDir ?? buildOutputDir(context) },
      {
        workspaceRoot: context.root,
        base: context.root,
        project: context.projectName!,
        env: process.env,
        stderrIsTTY: Boolean(process.stderr.isTTY),
      },
    );
    const { summary, manifest } = await withStopSignals((signal) => deploy({ ...deployOptions, signal }));
    const invalidation =
      invalidateAfter && manifest
        ? await invalidate({ manifest, requestTimeoutSeconds: options.requestTimeout })
        : undefined;
    if (json) console.log(JSON.stringify(invalidation ? { ...summary, invalidation } : summary));
    return { success: true };
  } catch (error) {
    return reportFailure('deploy-s3', error);
  }
}
