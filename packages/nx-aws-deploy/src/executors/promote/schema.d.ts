import type { PromoteOptions } from '../../lib/releases/promote';

/** The options of schema.json: the promotion's own, as the user writes them. */
export type PromoteExecutorOptions = Omit<PromoteOptions, 'leaseOwner' | 'log' | 'signal' | 'concurrency'> & {
  /** Print the result as the last line of JSON. */
  json?: boolean;
};
