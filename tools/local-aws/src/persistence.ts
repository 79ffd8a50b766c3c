import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

interface Persistable<T> {
  toJSON(): T;
  restore(saved: T): void;
}

/**
 * Keeps a service's state in `dataDir/<name>` across restarts: restores it now and returns the function that saves
 * it after each change. Without a data folder the state lives in memory only.
 */
export function persisted<T>(dataDir: string | undefined, name: string, state: Persistable<T>): () => void {
  if (!dataDir) return () => undefined;
  mkdirSync(dataDir, { recursive: true });
  const file = join(dataDir, name);
  if (existsSync(file)) state.restore(JSON.parse(readFileSync(file, 'utf8')) as T);
  return () => writeFileSync(file, JSON.stringify(state));
}
