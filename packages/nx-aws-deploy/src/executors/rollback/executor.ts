import { leaseOwner } from '../../lib/bucket/lease';
import { runStoppable } from '../../lib/nx/report';
import { rollback } from '../../lib/releases/rollback';
import type { RollbackExecutorOptions } from './schema';

export default function rollbackExecutor({ json, ...options }: RollbackExecutorOptions) {
  return runStoppable('rollback', json, (signal) =>
    rollback({
      ...options,
      distributionId: options.distributionId || undefined,
      leaseOwner: leaseOwner(process.env),
      signal,
    }),
  );
}
