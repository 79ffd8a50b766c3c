import { withStopSignals } from '../util/interrupt';
import { UserError } from '../util/errors';

/** Prints a failure as one line (a stack only for bugs, not for user errors) and tells Nx it failed. */
export function reportFailure(executor: string, error: unknown): { success: false } {
  if (error instanceof UserError) console.error(`${executor}: ${error.message}`);
  else console.error(`${executor}: unexpected failure: ${(error as Error)?.stack ?? String(error)}`);
  return { success: false };
}

/**
 * An executor's work with Ctrl-C / SIGTERM as its stop signal: success, with its result as the last line of JSON
 * when asked (without the manifest, the invalidation's input, already used), or one line saying what failed.
 */
export async function runStoppable<T extends object>(
  executor: string,
  json: boolean | undefined,
  work: (signal: AbortSignal) => Promise<T>,
): Promise<{ success: boolean }> {
  try {
    const result = await withStopSignals(work);
    if (json) console.log(JSON.stringify({ ...result, manifest: undefined }));
    return { success: true };
  } catch (error) {
    return reportFailure(executor, error);
  }
}
