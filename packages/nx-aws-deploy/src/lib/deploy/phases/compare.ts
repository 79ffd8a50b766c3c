import { STATE_DIR, STATE_FILE } from '../../bucket/bookkeeping';
import type { RemoteObject } from '../../bucket/store';
import { forEachLimit } from '../../util/concurrency';
import { Interrupted } from '../../util/interrupt';
import { collectSooner } from '../../util/memory';
import { ReleaseBook } from '../../releases/book';
import { headersFingerprint } from '../headers';
import { byKey, compactState, keysNeedingHead, type DeployState } from '../plan';
import { hashAgainst, hashAhead } from './hash';
import type { DeployRun } from './run';

/** What the bucket holds below the prefix, beside the build: the input of the plan. */
export interface Comparison {
  remote: ReadonlyMap<string, RemoteObject>;
  /** What the last deploy recorded per key (ETag, headers), if any. */
  state?: DeployState;
  releases: ReleaseBook;
  /** Header fingerprints read with HEAD for objects with the file's bytes that the state does not vouch for. */
  headed: Map<string, string>;
}

/**
 * Phase 2, changing nothing: the bucket listed (split at the build's own files where it is long), the state and
 * the release index read, while the files are hashed; then one HEAD per same-bytes object the state does not
 * vouch for, whose headers the plan must compare.
 */
export async function compare(run: DeployRun): Promise<Comparison> {
  const { store, prefix, files } = run;
  let firstPageSays!: (nothingToCompare: boolean) => void;
  const nothingToCompare = new Promise<boolean>((resolve) => (firstPageSays = resolve));
  const reads = Promise.allSettled([
    store.list(prefix, {
      onFirstPage: (objects, more) =>
        firstPageSays(!more && objects.every((o) => o.key.slice(prefix.length).startsWith(STATE_DIR))),
      // Where the bucket mirrors the folder, a long listing splits at its files into ranges listed at once.
      likelyKeys: (function* () {
        for (const f of files) yield prefix + f.path;
      })(),
    }),
    store.readJson<DeployState>(prefix + STATE_FILE),
    ReleaseBook.open(store, prefix),
  ]);
  // A listing that fails is reported below (a missing bucket as the listing's failure, the one a person expects).
  void reads.then(() => firstPageSays(false));
  run.hashes.reuse(files);
  await hashAhead(run, await nothingToCompare);
  const [listed, stored, opened] = await reads;
  if (listed.status === 'rejected') throw listed.reason;
  if (stored.status === 'rejected') throw stored.reason;
  if (opened.status === 'rejected') throw opened.reason;
  collectSooner(listed.value.length);
  const remote = byKey(listed.value);
  const state = stored.value;
  compactState(state, remote);
  await hashAgainst(run, remote);
  const headed = new Map<string, string>();
  const keys = keysNeedingHead({ files, prefix, remote, state });
  await forEachLimit(
    keys,
    run.concurrency,
    async (key) => {
      headed.set(key, headersFingerprint(await store.headers(key)));
    },
    run.signal,
  );
  if (run.signal.aborted)
    throw new Interrupted(
      run.signal.reason,
      `Interrupted by ${run.signal.reason} before any change: the bucket is as it was.`,
    );
  return { remote, state, releases: opened.value, headed };
}
