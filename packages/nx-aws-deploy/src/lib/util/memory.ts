import { setFlagsFromString } from 'node:v8';

/** From this many files and objects (local and in the bucket) on, a deploy asks V8 to collect sooner. */
export const MANY_FILES = 5_000;

/**
 * Lets V8's old generation grow to 1.3× what survived the last full collection, instead of the up to 4× it
 * allows a process that allocates fast. Measured on a first deploy of 20 000 files: about 30 MB stays alive while
 * the SDK's in-flight requests promote garbage, and the heap grew to ~190 MB between full collections (peak RSS
 * 245 MB); with this, 160 MB, for more frequent full collections of a small heap. Process-wide and safe to set
 * while running (V8 reads it at each collection); it changes when memory is collected, never what is kept.
 */
export function collectSooner(): void {
  setFlagsFromString('--heap-growing-percent=30');
}
