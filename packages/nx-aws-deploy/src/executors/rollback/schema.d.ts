import type { RollbackOptions } from '../../lib/releases/rollback';

/** The options of schema.json: the rollback's own, as the user writes them. */
export type RollbackExecutorOptions = Omit<RollbackOptions, 'leaseOwner' | 'log' | 'signal' | 'concurrency'> & {
  /** Print the result as the last line of JSON. */
  json?: boolean;
};
