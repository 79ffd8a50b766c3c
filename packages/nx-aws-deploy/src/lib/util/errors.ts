/**
 * An error the user can act on: one line that names the option, file, bucket or distribution at fault
 * and what to do. Executors print its message alone (no stack) and exit non-zero.
 */
export class UserError extends Error {
  override readonly name = 'UserError';
}

export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
