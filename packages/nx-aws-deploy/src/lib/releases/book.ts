import { RELEASE_INDEX_FILE, releaseFile } from '../deploy/bookkeeping';
import type { BucketStore } from '../deploy/bucket-store';
import { forEachLimit } from '../util/concurrency';
import {
  addRelease,
  unneededBookkeeping,
  type ReleaseIndex,
  type ReleaseRecord,
  type ReleaseSummary,
  type Snapshot,
} from './history';

/** Up to this many versions are checked with a HEAD each; more with a listing of the bucket's versions. */
export const VERSIONS_CHECKED_BY_HEAD = 20;

/** The release history of one bucket + prefix, read and written through the deploy's bucket store. */
export class ReleaseBook {
  private keptRecords?: Promise<ReleaseRecord[]>;

  private constructor(
    private readonly store: BucketStore,
    private readonly prefix: string,
    readonly index: ReleaseIndex | undefined,
  ) {}

  static async open(store: BucketStore, prefix: string): Promise<ReleaseBook> {
    return new ReleaseBook(store, prefix, await store.readJson<ReleaseIndex>(prefix + RELEASE_INDEX_FILE));
  }

  /** The records of the kept releases, newest first (read once, in parallel); one removed by hand is skipped. */
  kept(): Promise<ReleaseRecord[]> {
    this.keptRecords ??= Promise.all(
      (this.index?.releases ?? []).filter((r) => r.kept).map((r) => this.record(r.number)),
    ).then((records) => records.filter((r): r is ReleaseRecord => r !== undefined));
    return this.keptRecords;
  }

  record(release: number): Promise<ReleaseRecord | undefined> {
    return this.store.readJson<ReleaseRecord>(this.prefix + releaseFile(release));
  }

  async live(): Promise<ReleaseRecord | undefined> {
    return (await this.kept()).find((r) => r.summary.number === this.index?.live);
  }

  /** Copies what the live release has at keys about to change, before they change. */
  async takeSnapshots(snapshots: Snapshot[], concurrency: number, signal?: AbortSignal): Promise<void> {
    await forEachLimit(snapshots, concurrency, (s) => this.store.copy(s.key, s.snapshot).then(() => undefined), signal);
  }

  /**
   * Of the versions a rollback or promote would copy from, those no longer in the bucket: a HEAD each for a few,
   * one listing of the bucket's versions (1 000 a page) for more.
   */
  async goneVersions(
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
   * what no kept release needs any more. `listedKeys`: the bucket below the prefix as listed before the change.
   */
  async add(
    summary: Omit<ReleaseSummary, 'number' | 'kept'>,
    files: Pick<ReleaseRecord, 'restorable' | 'assets' | 'versions'>,
    keep: number,
    listedKeys: Iterable<string>,
  ): Promise<ReleaseSummary> {
    const { index, release } = addRelease(this.index, summary, keep);
    const record: ReleaseRecord = { version: 1, summary: release, ...files };
    await this.store.writeJson(this.prefix + releaseFile(release.number), record);
    await this.store.writeJson(this.prefix + RELEASE_INDEX_FILE, index);
    const stillKept = new Set(index.releases.filter((r) => r.kept).map((r) => r.number));
    const kept = [record, ...(await this.kept()).filter((r) => stillKept.has(r.summary.number))];
    const unneeded = unneededBookkeeping(index, kept, this.prefix, listedKeys);
    if (unneeded.length) await this.store.delete(unneeded);
    return release;
  }
}
