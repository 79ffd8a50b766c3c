import { leaseOwner } from '../../lib/deploy/lease';
import { reportFailure } from '../../lib/nx/report';
import { rollback } from '../../lib/releases/rollback';
import { withStopSignals } from '../../lib/util/interrupt';
import type { RollbackExecutorOptions } from './schema';

export default async function rollbackExecutor(options: RollbackExecutorOptions): Promise<{ success: boolean }> {
  try {
    const { json, ...input } = options;
    const result = await withStopSignals((signal) =>
      rollback({
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
    return reportFailure('rollback', error);
  }
}
