import { RELEASE_INDEX_FILE, releaseFile, SNAPSHOTS_DIR } from '../bucket/bookkeeping';
import type { BucketStore, RemoteObject } from '../bucket/store';
import { forEachLimit } from '../util/concurrency';
import { collectNow } from '../util/memory';
import {
  addRelease,
  namesSnapshot,
  unneededBookkeeping,
  type ReleaseIndex,
  type ReleaseRecord,
  type ReleaseSummary,
  type Snapshot,
} from './history';

/** Up to this many versions are checked with a HEAD each; more with a listing of the bucket's versions. */
export const VERSIONS_CHECKED_BY_HEAD = 20;

/** Kept records read at once, counted in files: parsed, a record of 100 000 files is ~24 MB. */
const FILES_READ_AT_ONCE = 20_000;

/** What a deploy, rollback or promote that records a release needs of those kept now (see ReleaseBook.staying). */
export interface Staying {
  /** The live release's record, whole: what it has is snapshotted before it changes, its versions carry over. */
  live?: ReleaseRecord;
  /** Whether the live release stays kept beside the new one. */
  liveStays: boolean;
  /** Assets the staying releases have, key → ETag: a deploy does not prune them. */
  assets: Map<string, string>;
  /** Listed snapshots (keys) that a staying release names. */
  namedSnapshots: Set<string>;
  /** The record staying() was asked to keep whole too (a rollback's target), when it stays. */
  asked?: ReleaseRecord;
}

/** The release history of one bucket + prefix, read and written through the deploy's bucket store. */
export class ReleaseBook {
  private live?: Promise<ReleaseRecord | undefined>;

  private constructor(
    private readonly store: BucketStore,
    private readonly prefix: string,
    readonly index: ReleaseIndex | undefined,
  ) {}

  static async open(store: BucketStore, prefix: string): Promise<ReleaseBook> {
    return new ReleaseBook(store, prefix, await store.readJson<ReleaseIndex>(prefix + RELEASE_INDEX_FILE));
  }

  record(release: number): Promise<ReleaseRecord | undefined> {
    return this.store.readJson<ReleaseRecord>(this.prefix + releaseFile(release));
  }

  /** The live release's record, read once however often asked: its keys split a listing, staying() keeps it. */
  liveRecord(): Promise<ReleaseRecord | undefined> {
    const live = this.index?.live;
    return (this.live ??= live === undefined ? Promise.resolve(undefined) : this.record(live));
  }

  /**
   * What a new release needs of the releases that stay kept beside it (the newest keep - 1), their records read
   * a few at a time (up to FILES_READ_AT_ONCE files; one at least) and folded, rather than all held at once: ten
   * are kept by default. Only the live release's record is kept whole, and release `ask`'s if it stays.
   * `listedKeys` (the bucket below the prefix) may still be coming: the first records are read meanwhile.
   */
  async staying(
    keep: number,
    listing: ReadonlyMap<string, RemoteObject> | Promise<ReadonlyMap<string, RemoteObject>>,
    ask?: number,
  ): Promise<Staying> {
    const listedSnapshots = Promise.resolve(listing).then((listed) => {
      const snapshots: string[] = [];
      for (const key of listed.keys()) if (key.startsWith(this.prefix + SNAPSHOTS_DIR)) snapshots.push(key);
      return { listed, snapshots };
    });
    const live = this.index?.live;
    const staying = (this.index?.releases ?? []).filter((r) => r.kept).slice(0, keep - 1);
    const result: Staying = { liveStays: false, assets: new Map(), namedSnapshots: new Set() };
    for (let start = 0; start < staying.length;) {
      let end = start + 1;
      let files = staying[start].files;
      while (end < staying.length && files + staying[end].files <= FILES_READ_AT_ONCE) files += staying[end++].files;
      const [records, { listed, snapshots }] = await Promise.all([
        Promise.all(
          staying.slice(start, end).map((r) => (r.number === live ? this.liveRecord() : this.record(r.number))),
        ),
        listedSnapshots,
      ]);
      // A record removed by hand is skipped.
      for (const record of records) this.fold(result, record, listed, snapshots, ask);
      records.length = 0;
      // What was just folded is garbage now: a large batch is collected before the next is parsed.
      collectNow(files);
      start = end;
    }
    await listedSnapshots;
    if (!result.live && this.index?.releases.some((r) => r.kept && r.number === live))
      result.live = await this.liveRecord();
    return result;
  }

  /**
   * Adds a staying release's assets and the listed snapshots it names; keeps it whole if live. An asset the bucket
   * lists with the same ETag is held by the listing's own strings: 100 000 assets then make no new ones.
   */
  private fold(
    into: Staying,
    record: ReleaseRecord | undefined,
    listed: ReadonlyMap<string, RemoteObject>,
    snapshots: string[],
    ask?: number,
  ): void {
    if (!record) return;
    for (const path in record.assets) {
      if (!Object.hasOwn(record.assets, path)) continue;
      const key = this.prefix + path;
      const object = listed.get(key);
      if (object?.etag === record.assets[path]) into.assets.set(object.key, object.etag);
      else into.assets.set(key, record.assets[path]);
    }
    for (const key of snapshots) if (namesSnapshot(record, key.slice(this.prefix.length))) into.namedSnapshots.add(key);
    if (record.summary.number === this.index?.live) [into.live, into.liveStays] = [record, true];
    if (record.summary.number === ask) into.asked = record;
  }

  /** Copies what the live release has at keys about to change, before they change. */
  async takeSnapshots(snapshots: Snapshot[], concurrency: number, signal?: AbortSignal): Promise<void> {
    await forEachLimit(snapshots, concurrency, (s) => this.store.copy(s.key, s.snapshot).then(() => undefined), signal);
  }

  /**
   * A rollback's or promote's plan, made from where the release's files are (`plan`), with only versions still in
   * the bucket: those it would copy from (`copiesFrom`) are checked, and if some are gone (a lifecycle rule
   * expired them) it is made again without them. Answers the plan and the versions found gone.
   */
  async planWithGoneVersions<P>(
    plan: (goneVersions: ReadonlySet<string>) => P,
    copiesFrom: (plan: P) => { key: string; versionId?: string }[],
    concurrency: number,
    signal?: AbortSignal,
  ): Promise<{ plan: P; gone: ReadonlySet<string> }> {
    const first = plan(new Set());
    const gone = await this.goneVersions(copiesFrom(first), concurrency, signal);
    return { plan: gone.size ? plan(gone) : first, gone };
  }

  /** Of these versions, those no longer in the bucket: a HEAD each for a few, one listing of the versions (1 000 a page) for more. */
  private async goneVersions(
    wanted: { key: string; versionId?: string }[],
    concurrency: number,
    signal?: AbortSignal,
  ): Promise<Set<string>> {
    const versioned = wanted.filter((w): w is { key: string; versionId: string } => w.versionId !== undefined);
    const gone = new Set<string>();
    if (versioned.length > VERSIONS_CHECKED_BY_HEAD) {
      const present = new Set((await this.store.listVersions(this.prefix)).map((v) => `${v.key}\0${v.versionId}`));
      for (const { key, versionId } of versioned) if (!present.has(`${key}\0${versionId}`)) gone.add(versionId);
      return gone;
    }
    await forEachLimit(
      versioned,
      concurrency,
      async ({ key, versionId }) => {
        if (!(await this.store.hasVersion(key, versionId))) gone.add(versionId);
      },
      signal,
    );
    return gone;
  }

  /**
   * Records a release that just went live: its record, then the index (which makes it the live one), then removes
   * what no kept release needs any more. `listedKeys`: the bucket below the prefix as listed before the change;
   * `staying`: what staying() found then, for the same `keep`.
   */
  async add(
    summary: Omit<ReleaseSummary, 'number' | 'kept'>,
    files: Pick<ReleaseRecord, 'restorable' | 'assets' | 'versions' | 'folders'>,
    keep: number,
    listedKeys: Iterable<string>,
    staying: Staying,
    number?: number,
  ): Promise<ReleaseSummary> {
    const { index, release } = addRelease(this.index, summary, keep, number);
    const record: ReleaseRecord = { version: 1, summary: release, ...files };
    await this.store.writeJson(this.prefix + releaseFile(release.number), record);
    await this.store.writeJson(this.prefix + RELEASE_INDEX_FILE, index);
    const named = (relative: string) =>
      namesSnapshot(record, relative) || staying.namedSnapshots.has(this.prefix + relative);
    const unneeded = unneededBookkeeping(index, named, this.prefix, listedKeys);
    if (unneeded.length) await this.store.delete(unneeded);
    return release;
  }
}
