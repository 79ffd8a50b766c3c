import { createHash } from 'node:crypto';
import { contentType as mimeContentType, lookup } from 'mime-types';
import picomatch from 'picomatch';
import type { ObjectHeaders } from '../bucket/store';
import { UserError } from '../util/errors';

/** A user rule: every file whose path (relative to sourceDir) matches `glob` gets `headers`; later rules win. */
export interface HeaderRule {
  glob: string;
  headers: Record<string, string>;
}

export const CACHE_IMMUTABLE = 'public, max-age=31536000, immutable';
export const CACHE_REVALIDATE = 'no-cache';
/** Unhashed files such as favicon.ico or robots.txt: short browser cache; deploys invalidate the edge. */
export const CACHE_SHORT = 'public, max-age=300';

const SETTABLE = new Map(
  ['Content-Type', 'Cache-Control', 'Content-Encoding', 'Content-Disposition', 'Content-Language', 'Expires'].map(
    (h) => [h.toLowerCase(), h],
  ),
);
const ENCODINGS: Record<string, string> = { br: 'br', gz: 'gzip' };

/**
 * True when the file name carries a content hash, as bundlers write them:
 * `index-B-XZhOr9.js` (Vite/Rollup, 8 url-safe characters), `main.3f2a1b4c5d6e7f80.js` (webpack, Angular),
 * `chunk-ABCD1234.js` (esbuild), `787.a1b2c3d4.chunk.js` (Create React App). Such files never change under the same name, so they may be cached forever.
 */
export function isContentHashed(path: string): boolean {
  const base = path.slice(path.lastIndexOf('/') + 1).replace(/\.(br|gz)$/, '');
  const dot = base.lastIndexOf('.');
  const stem = dot > 0 ? base.slice(0, dot) : base;
  if (/[.-][a-f0-9]{8,}$/.test(stem) || /[.-][A-F0-9]{8,}$/.test(stem)) return true;
  // Create React App style: `787.a1b2c3d4.chunk.js`.
  if (
    stem
      .split('.')
      .slice(1)
      .some((part) => /^[a-f0-9]{8,}$/.test(part))
  )
    return true;
  const tail = stem.slice(-9);
  return (
    tail.length === 9 &&
    /^[.-][A-Za-z0-9_-]{8}$/.test(tail) &&
    /[0-9]/.test(tail) &&
    /[A-Z]/.test(tail) &&
    /[a-z]/.test(tail.slice(1))
  );
}

/** Files that name the others (HTML, service workers, web manifests): uploaded last, always revalidated. */
export function isEntryFile(path: string): boolean {
  const base = path
    .slice(path.lastIndexOf('/') + 1)
    .replace(/\.(br|gz)$/, '')
    .toLowerCase();
  return (
    /\.html?$/.test(base) ||
    /^(sw|service-worker|serviceworker)\.m?js$/.test(base) ||
    base.endsWith('.webmanifest') ||
    base === 'manifest.json' ||
    base === 'asset-manifest.json'
  );
}

/** Content-Type with charset for text, Content-Encoding for precompressed `x.js.br` / `x.js.gz` siblings. */
function typeAndEncoding(path: string): Pick<ObjectHeaders, 'Content-Type' | 'Content-Encoding'> {
  const extension = path.slice(path.lastIndexOf('.') + 1).toLowerCase();
  const encoding = ENCODINGS[extension];
  const inner = encoding ? path.slice(0, path.lastIndexOf('.')) : path;
  const type = lookup(inner) || 'application/octet-stream';
  const withCharset = mimeContentType(type) || type;
  return encoding ? { 'Content-Type': withCharset, 'Content-Encoding': encoding } : { 'Content-Type': withCharset };
}

/** Checks user rules once, so that a bad rule fails before anything is uploaded. */
export function compileHeaderRules(rules: HeaderRule[] = []): (path: string) => Record<string, string> {
  const compiled = rules.map((rule, index) => {
    if (
      !rule ||
      typeof rule.glob !== 'string' ||
      !rule.glob ||
      typeof rule.headers !== 'object' ||
      rule.headers === null
    ) {
      throw new UserError(
        `headers[${index}] must look like { "glob": "**/*.pdf", "headers": { "Content-Disposition": "attachment" } }.`,
      );
    }
    for (const [name, value] of Object.entries(rule.headers)) {
      if (!SETTABLE.has(name.toLowerCase()) && !name.toLowerCase().startsWith('x-amz-meta-')) {
        throw new UserError(
          `headers[${index}] (glob "${rule.glob}") sets "${name}", which S3 cannot store; use one of ${[...SETTABLE.values()].join(', ')} or x-amz-meta-*.`,
        );
      }
      if (typeof value !== 'string')
        throw new UserError(`headers[${index}] (glob "${rule.glob}"): the value of "${name}" must be a string.`);
    }
    return { match: picomatch(rule.glob, { dot: true }), headers: rule.headers };
  });
  return (path) => Object.assign({}, ...compiled.filter((r) => r.match(path)).map((r) => r.headers));
}

/** The headers a file is uploaded with: defaults by type and name, then user rules. */
export function headersFor(path: string, userHeaders: Record<string, string> = {}): ObjectHeaders {
  const headers: ObjectHeaders = {
    ...typeAndEncoding(path),
    'Cache-Control': isEntryFile(path) ? CACHE_REVALIDATE : isContentHashed(path) ? CACHE_IMMUTABLE : CACHE_SHORT,
  };
  for (const [name, value] of Object.entries(userHeaders)) {
    const lower = name.toLowerCase();
    if (lower.startsWith('x-amz-meta-'))
      headers.metadata = { ...headers.metadata, [lower.slice('x-amz-meta-'.length)]: value };
    else (headers as unknown as Record<string, string>)[SETTABLE.get(lower)!] = value;
  }
  return headers;
}

/**
 * headersFor each file of a deploy, one shared object per distinct set (a site has a handful, not one per file):
 * tens of thousands of files then cost no memory for headers, and one fingerprint per set. Never mutated.
 */
export function sharedHeadersFor(rulesFor: (path: string) => Record<string, string>): (path: string) => ObjectHeaders {
  const shared = new Map<string, ObjectHeaders>();
  return (path) => {
    const headers = headersFor(path, rulesFor(path));
    const key = JSON.stringify(headers);
    const same = shared.get(key);
    if (same) return same;
    shared.set(key, headers);
    return headers;
  };
}

const fingerprints = new WeakMap<ObjectHeaders, string>();

/** Stable fingerprint of headers, to see without a HEAD request whether a remote object's headers are current. */
export function headersFingerprint(headers: ObjectHeaders): string {
  let fingerprint = fingerprints.get(headers);
  if (fingerprint === undefined) fingerprints.set(headers, (fingerprint = computeFingerprint(headers)));
  return fingerprint;
}

function computeFingerprint(headers: ObjectHeaders): string {
  const entries = Object.entries(headers)
    .filter(([k, v]) => k !== 'metadata' && v !== undefined)
    .map(([k, v]) => `${k}:${v}`)
    .concat(Object.entries(headers.metadata ?? {}).map(([k, v]) => `meta-${k}:${v}`))
    .sort();
  return createHash('sha256').update(entries.join('\n')).digest('hex').slice(0, 16);
}
