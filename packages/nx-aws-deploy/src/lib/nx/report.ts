import { UserError } from '../util/errors';

/** Prints a failure as one line (a stack only for bugs, not for user errors) and tells Nx it failed. */
export function reportFailure(executor: string, error: unknown): { success: false } {
  if (error instanceof UserError) console.error(`${executor}: ${error.message}`);
  else console.error(`${executor}: unexpected failure: ${(error as Error)?.stack ?? String(error)}`);
  return { success: false };
}
