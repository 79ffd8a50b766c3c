import { createHash } from 'node:crypto';
import { createCloudFrontClient } from '../aws/cloudfront-client';
import type { DeployManifest } from '../deploy/manifest';
import { UserError } from '../util/errors';
import { CloudFrontTarget, DEFAULT_RETRY, type RetryPolicy } from './cloudfront-target';
import { planInvalidation } from './plan';

export interface InvalidateOptions {
  distributionId?: string;
  /** The deploy whose changes to invalidate; its distributionId is the default. */
  manifest?: DeployManifest;
  /** Explicit paths instead of planning from the manifest. */
  paths?: string[];
  wait?: boolean;
  waitTimeoutSeconds?: number;
  /** See createCloudFrontClient. */
  requestTimeoutSeconds?: number;
  dryRun?: boolean;
  maxPaths?: number;
  /** Default: derived from the manifest (a re-run for the same deploy finds the same invalidation). */
  callerReference?: string;
  retry?: RetryPolicy;
  pollMs?: number;
  log?: (line: string) => void;
}

export interface InvalidateResult {
  distributionId: string;
  paths: string[];
  invalidationId?: string;
  status?: string;
  dryRun: boolean;
}

/** Invalidates exactly what a deploy changed (or the given paths) on its CloudFront distribution. */
export async function invalidate(options: InvalidateOptions): Promise<InvalidateResult> {
  const log = options.log ?? ((line: string) => console.log(line));
  const distributionId = options.distributionId ?? options.manifest?.distributionId;
  if (!distributionId)
    throw new UserError(
      'No distribution to invalidate: set the "distributionId" option (or record it in the deploy with deploy-s3\'s "distributionId").',
    );
  if (!options.paths && !options.manifest)
    throw new UserError(
      'Nothing says what to invalidate: give "paths", or a deploy manifest ("manifest" option; deploy-s3 writes one).',
    );
  const target = new CloudFrontTarget(
    createCloudFrontClient({ requestTimeoutSeconds: options.requestTimeoutSeconds }),
    distributionId,
  );
  const origin = await target.origin();
  const paths =
    options.paths ??
    planInvalidation({
      changes: options.manifest!.changes,
      prefix: options.manifest!.prefix,
      ...origin,
      maxPaths: options.maxPaths,
    });
  const badPath = paths.find((p) => !p.startsWith('/'));
  if (badPath !== undefined) throw new UserError(`Invalidation path "${badPath}" must start with /.`);
  const result: InvalidateResult = { distributionId, paths, dryRun: Boolean(options.dryRun) };
  if (paths.length === 0) {
    log(`Nothing to invalidate on ${distributionId}: the deploy changed nothing that could be cached.`);
    return result;
  }
  if (options.dryRun) {
    log(
      `Dry run: would invalidate ${paths.length} path(s) on ${distributionId}:\n${paths.map((p) => `  ${p}`).join('\n')}`,
    );
    return result;
  }
  const callerReference = options.callerReference ?? defaultCallerReference(options.manifest, paths);
  const created = await target.create(paths, callerReference, options.retry ?? DEFAULT_RETRY, log);
  log(invalidationSummary(created, distributionId, paths));
  Object.assign(result, { invalidationId: created.id, status: created.status });
  if (options.wait && created.status !== 'Completed') {
    await target.waitCompleted(created.id, (options.waitTimeoutSeconds ?? 600) * 1000, log, options.pollMs);
    result.status = 'Completed';
  }
  return result;
}

function defaultCallerReference(manifest: DeployManifest | undefined, paths: string[]): string {
  const digest = createHash('sha256').update(paths.join('\n')).digest('hex').slice(0, 16);
  return manifest
    ? `nx-aws-deploy:${manifest.project}:${manifest.deploy}:${manifest.deployedAt}:${digest}`
    : `nx-aws-deploy:${Date.now()}:${digest}`;
}

/** The line that reports an invalidation, in the executor's output and in the Lambda's job result. */
export function invalidationSummary(
  created: { id: string; status: string },
  distributionId: string,
  paths: string[],
): string {
  const shown = `${paths.slice(0, 5).join(', ')}${paths.length > 5 ? ', …' : ''}`;
  return `Invalidation ${created.id} on ${distributionId}: ${paths.length} path(s) (${shown}), ${created.status}.`;
}
