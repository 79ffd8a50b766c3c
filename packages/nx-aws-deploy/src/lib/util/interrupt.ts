import { setMaxListeners } from 'node:events';
import { UserError } from './errors';

/** Exit codes a shell gives a process stopped by these signals. */
export const SIGNAL_EXIT_CODES = { SIGINT: 130, SIGTERM: 143 } as const;
export type StopSignal = keyof typeof SIGNAL_EXIT_CODES;

/** Repeats of a stop signal within this time are the same stop: Nx and shells relay one Ctrl-C to every process. */
const SAME_STOP_MS = 3000;

/**
 * Runs `work` with an AbortSignal that SIGINT (Ctrl-C) or SIGTERM (CodeBuild stopping a build, Nx stopping a
 * task) aborts, with the signal's name as its reason, so the work can stop at a safe point and say what it did.
 * A signal that comes again later exits at once, as users expect of a second Ctrl-C.
 */
export async function withStopSignals<T>(work: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const controller = new AbortController();
  // Every request in flight listens to it; there are as many as the deploy's concurrency.
  setMaxListeners(0, controller.signal);
  let stoppedAt = 0;
  const onSignal = (name: StopSignal) => {
    if (controller.signal.aborted) {
      if (Date.now() - stoppedAt > SAME_STOP_MS) process.exit(SIGNAL_EXIT_CODES[name]);
      return;
    }
    stoppedAt = Date.now();
    console.error(`${name} received: finishing the requests in flight, then stopping (again to stop at once).`);
    controller.abort(name);
  };
  const handlers = (Object.keys(SIGNAL_EXIT_CODES) as StopSignal[]).map(
    (name) => [name, () => onSignal(name)] as const,
  );
  for (const [name, handler] of handlers) process.on(name, handler);
  try {
    return await work(controller.signal);
  } finally {
    for (const [name, handler] of handlers) process.off(name, handler);
  }
}

/** Work stopped by a signal; the message says what was done and how to finish. */
export class Interrupted extends UserError {
  readonly exitCode: number;
  constructor(signalName: unknown, message: string) {
    super(message);
    this.exitCode = SIGNAL_EXIT_CODES[signalName as StopSignal] ?? 1;
  }
}
