import { forEachLimit } from '../util/concurrency';
import type { RemoteObject } from './store';

/** Keys per ListObjectsV2 page: S3's most. */
export const PAGE_SIZE = 1000;
/** Ranges of a split listing in flight at once. */
const RANGES_AT_ONCE = 16;
/**
 * A range holds this share of a page of expected keys, so that the few the bucket has beside them (its
 * bookkeeping, assets kept for older releases) still fit in the range's one page.
 */
const RANGE_FILL = 0.9;

/** Expected keys per range of a split listing with pages of `pageSize`. */
export function keysPerRange(pageSize: number): number {
  return Math.max(1, Math.floor(pageSize * RANGE_FILL));
}

/** One page of a listing: its objects, and the token of the next page if there is one. */
export interface ListedPage {
  objects: RemoteObject[];
  next?: string;
}

/** Asks for one page: from the start, after a key (StartAfter), or where the previous page stopped (its token). */
export type PageLister = (from: { startAfter?: string; token?: string }) => Promise<ListedPage>;

/**
 * S3's order of keys: their UTF-8 bytes, which is the order of their code points. JavaScript's `<` compares
 * UTF-16 units, which disagrees when a character above U+FFFF (a surrogate pair) meets one in U+E000–U+FFFF.
 */
export function compareKeys(a: string, b: string): number {
  const length = Math.min(a.length, b.length);
  for (let i = 0; i < length; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x === y) continue;
    const xPair = x >= 0xd800 && x <= 0xdfff;
    const yPair = y >= 0xd800 && y <= 0xdfff;
    if (xPair !== yPair && (xPair ? y : x) >= 0xe000) return xPair ? 1 : -1;
    return x - y;
  }
  return a.length - b.length;
}

/**
 * Where to split what a listing has left after `after`: every `perRange`-th of the keys the bucket most likely has
 * (a deploy's own files, in any order close to S3's), so that each range is one page when the bucket holds them.
 * Strictly increasing in S3's order, whatever the input: a key out of order is passed over.
 */
export function splitPoints(after: string, likelyKeys: Iterable<string>, perRange: number): string[] {
  const points: string[] = [];
  let last = after;
  let since = 0;
  for (const key of likelyKeys) {
    if (compareKeys(key, last) <= 0) continue;
    if (++since < perRange) continue;
    points.push(key);
    last = key;
    since = 0;
  }
  return points;
}

/**
 * Every object of a listing in S3's order. The first page is asked for alone (`onFirstPage` hears it: whether the
 * bucket has anything to compare is known then); if more follow and `likelyKeys` are given, the rest is listed as
 * ranges between split points, several at once, instead of one page after the other: on S3 each page is a round
 * trip of its own, tens of them for a large site. `likelyKeys` may still be coming (a release record being read):
 * they are awaited once the first page is in; they are a hint, so without them (a failed read) the rest is listed
 * page after page.
 */
export async function listAll(
  listPage: PageLister,
  options: {
    likelyKeys?: Iterable<string> | Promise<Iterable<string>>;
    /** The lister's page size (S3's: PAGE_SIZE): ranges are split to about one page each. */
    pageSize?: number;
    onFirstPage?: (objects: RemoteObject[], more: boolean) => void;
    signal?: AbortSignal;
  } = {},
): Promise<RemoteObject[]> {
  // Handled from the start: a hint that fails while the first page is asked for is no unhandled rejection.
  const likelyKeys = Promise.resolve(options.likelyKeys ?? []).catch(() => []);
  const first = await listPage({});
  options.onFirstPage?.(first.objects, first.next !== undefined);
  if (first.next === undefined) return first.objects;
  const lastKey = first.objects.at(-1)?.key;
  const perRange = keysPerRange(options.pageSize ?? PAGE_SIZE);
  const points = lastKey === undefined ? [] : splitPoints(lastKey, await likelyKeys, perRange);
  if (lastKey === undefined || !points.length)
    return [...first.objects, ...(await listRange(listPage, { token: first.next }))];
  const ranges = [lastKey, ...points].map((after, i) => ({ after, upTo: points[i] as string | undefined }));
  const listed: RemoteObject[][] = [];
  await forEachLimit(
    ranges.map((range, i) => ({ range, i })),
    RANGES_AT_ONCE,
    async ({ range, i }) => {
      listed[i] = await listRange(listPage, { startAfter: range.after }, range.upTo);
    },
    options.signal,
  );
  if (options.signal?.aborted) throw options.signal.reason;
  return [first.objects, ...listed].flat();
}

/** The objects from `from` on, up to and including `upTo` (to the end without it), page by page. */
async function listRange(
  listPage: PageLister,
  from: { startAfter?: string; token?: string },
  upTo?: string,
): Promise<RemoteObject[]> {
  const objects: RemoteObject[] = [];
  let page = await listPage(from);
  for (;;) {
    for (const o of page.objects) {
      if (upTo !== undefined && compareKeys(o.key, upTo) > 0) return objects;
      objects.push(o);
    }
    const reached = upTo !== undefined && objects.length > 0 && compareKeys(objects[objects.length - 1].key, upTo) >= 0;
    if (page.next === undefined || reached) return objects;
    page = await listPage({ token: page.next });
  }
}
