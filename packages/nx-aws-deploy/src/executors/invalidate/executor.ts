import { existsSync, readFileSync } from 'node:fs';
import type { ExecutorContext } from '@nx/devkit';
import { defaultManifestPath, parseManifest, type DeployManifest } from '../../lib/deploy/manifest';
import { invalidate } from '../../lib/invalidate/invalidate';
import { workspacePath } from '../../lib/nx/project';
import { reportFailure } from '../../lib/nx/report';
import { UserError } from '../../lib/util/errors';
import type { InvalidateExecutorOptions } from './schema';

export default async function invalidateExecutor(
  options: InvalidateExecutorOptions,
  context: ExecutorContext,
): Promise<{ success: boolean }> {
  try {
    const manifest = options.paths?.length
      ? undefined
      : readManifest(
          options.manifest
            ? workspacePath(context, options.manifest)
            : defaultManifestPath(context.root, context.projectName!),
        );
    const result = await invalidate({
      distributionId: options.distributionId,
      manifest,
      paths: options.paths?.length ? options.paths : undefined,
      maxPaths: options.maxPaths,
      wait: options.wait,
      waitTimeoutSeconds: options.waitTimeout,
      requestTimeoutSeconds: options.requestTimeout,
      dryRun: options.dryRun,
    });
    if (options.json) console.log(JSON.stringify(result));
    return { success: true };
  } catch (error) {
    return reportFailure('invalidate', error);
  }
}

function readManifest(path: string): DeployManifest {
  if (!existsSync(path)) throw new UserError(`No deploy manifest at ${path}: run the deploy first, or give "paths".`);
  return parseManifest(readFileSync(path, 'utf8'), path);
}
