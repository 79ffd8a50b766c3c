import { leaseOwner } from '../../lib/deploy/lease';
import { reportFailure } from '../../lib/nx/report';
import { promote } from '../../lib/releases/promote';
import { withStopSignals } from '../../lib/util/interrupt';
import type { PromoteExecutorOptions } from './schema';

export default async function promoteExecutor(options: PromoteExecutorOptions): Promise<{ success: boolean }> {
  try {
    const { json, ...input } = options;
    const result = await withStopSignals((signal) =>
      promote({
        ...input,
        distributionId: input.distributionId || undefined,
        leaseOwner: leaseOwner(process.env),
        signal,
      }),
    );
    // The manifest is the invalidation's input, already used.
    if (json) console.log(JSON.stringify({ ...result, manifest: undefined }));
    return { success: true };
  } catch (error) {
    return reportFailure('promote', error);
  }
}
