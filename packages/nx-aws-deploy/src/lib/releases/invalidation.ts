import type { DeployManifest } from '../deploy/manifest';
import { invalidate, type InvalidateResult } from '../invalidate/invalidate';

/** After a rollback or promote: invalidates what it changed on the distribution it names, as after a deploy. */
export async function invalidateChanges<T extends { manifest?: DeployManifest; invalidation?: InvalidateResult }>(
  result: T,
  options: { requestTimeout?: number; log?: (line: string) => void },
): Promise<T> {
  if (result.manifest?.distributionId)
    result.invalidation = await invalidate({
      manifest: result.manifest,
      requestTimeoutSeconds: options.requestTimeout,
      log: options.log,
    });
  return result;
}
