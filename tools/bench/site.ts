import { mkdirSync, readdirSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** Deterministic pseudo-random bytes (xorshift), so that every run deploys the same site. */
export function bytes(seed: number, size: number): Buffer {
  const out = Buffer.alloc(size);
  let x = seed * 2654435761 || 1;
  for (let i = 0; i < size; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}

/**
 * A Vite-like build in `dir` (emptied first): `files` files of about `totalBytes` in all: content-hashed scripts,
 * images, one page in ten, and index.html. Returns the paths written.
 */
export function generateSite(dir: string, files: number, totalBytes: number): string[] {
  rmSync(dir, { recursive: true, force: true });
  const paths: string[] = [];
  const average = Math.floor(totalBytes / files);
  for (let i = 0; i < files - 1; i++) {
    const kind = i % 10;
    const path =
      kind === 0
        ? `pages/p${i}/index.html`
        : kind < 7
          ? `assets/chunk-${i}-A${(i * 7919).toString(36).padStart(6, '0')}9.js`
          : `img/photo-${i}.webp`;
    const size = Math.max(200, Math.floor(average * (0.5 + ((i * 37) % 100) / 100)));
    mkdirSync(join(dir, path, '..'), { recursive: true });
    writeFileSync(join(dir, path), bytes(i + 1, size));
    paths.push(path);
  }
  writeFileSync(join(dir, 'index.html'), '<!doctype html><title>bench</title>');
  return [...paths, 'index.html'];
}

/** What a CI rebuild does to an unchanged site: the same bytes with new modification times. */
export function touchAll(dir: string): void {
  const now = new Date();
  for (const entry of readdirSync(dir)) {
    const path = join(dir, entry);
    if (statSync(path).isDirectory()) touchAll(path);
    else utimesSync(path, now, now);
  }
}
