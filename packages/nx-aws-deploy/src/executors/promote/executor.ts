import { leaseOwner } from '../../lib/bucket/lease';
import { runStoppable } from '../../lib/nx/report';
import { promote } from '../../lib/releases/promote';
import type { PromoteExecutorOptions } from './schema';

export default function promoteExecutor({ json, ...options }: PromoteExecutorOptions) {
  return runStoppable('promote', json, (signal) =>
    promote({
      ...options,
      distributionId: options.distributionId || undefined,
      leaseOwner: leaseOwner(process.env),
      signal,
    }),
  );
}
