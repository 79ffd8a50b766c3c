import { createKeyValueStoreClient } from '../../aws/kvs-client';
import { makeLive, stageRelease } from '../../releases/file-index-store';
import { clearLiveRelease } from '../../releases/live-release';
import { waitUntilServed } from '../../releases/served';
import { Interrupted } from '../../util/interrupt';
import { isContentHashed } from '../headers';
import type { Planned } from './plan';
import type { DeployRun } from './run';
import type { Transferred } from './stopped';

/**
 * Phase 4b of an atomic release, every file of it in place: its entries in the file index (which no live release
 * sees: they are numbered after it), then the one write of the KeyValueStore that makes it live (the release
 * router serves it from then on, each edge within seconds). Before that write, nothing a visitor is served has
 * changed; a stop before it leaves the live release as it was. Of an in-place deploy after atomic ones: the key
 * and the index taken out of the store.
 */
export async function goLive(run: DeployRun, planned: Planned, { written }: Transferred): Promise<void> {
  const { atomic, leavesAtomic } = planned;
  if (leavesAtomic) return leaveAtomic(run, leavesAtomic);
  if (!atomic || !run.liveReleases) return;
  if (run.signal.aborted)
    throw new Interrupted(
      run.signal.reason,
      `Interrupted by ${run.signal.reason} before release ${atomic.release} went live: the live release is as it was. Run the deploy again.`,
    );
  const changed = atomic.index.puts.length + atomic.index.deletes.length > 0;
  const release = {
    ...{ number: atomic.release, by: run.options.leaseOwner, live: atomic.live },
    ...{ previous: atomic.previousIndex, index: atomic.index },
  };
  if (run.options.stageOnly) {
    await stageRelease(run.store, run.prefix, run.liveReleases.site, release);
    run.log(
      `Release ${atomic.release} is staged for "${run.liveReleases.site}": the pipeline's publish step (nx-aws-deploy preview publish) makes it live; the store is as it was.`,
    );
    return;
  }
  const previous = await makeLive(run.store, run.prefix, run.liveReleases, release, run.signal);
  run.log(
    `Release ${atomic.release} is live${previous ? ` (was ${previous.live})` : ''}: "${run.liveReleases.site}" in ${run.liveReleases.storeArn}${changed ? `, its file index ${atomic.index.puts.length} key(s) written and ${atomic.index.deletes.length} deleted` : ''}.`,
  );
  if (!run.options.waitUntilServed) return;
  // A page of the release the site serves once the write reaches its edge: the home page where there is one.
  const page = run.files.find((f) => f.path === 'index.html') ?? run.files.find((f) => !isContentHashed(f.path));
  if (!page) return;
  const given = run.preview ? run.preview.url! : run.options.siteUrl!;
  const base = given.endsWith('/') ? given : `${given}/`;
  const url = `${base}${page.path === 'index.html' ? '' : encodeURI(page.path)}`;
  const key = atomic.keyOf(page.path);
  // Sent now, or in the folder of a release before that had the same bytes.
  const etag = (written.get(key)?.etag ?? planned.plan.nextState.objects[key].etag).replace(/"/g, '');
  const ms = await waitUntilServed(url, etag, { timeoutMs: WAIT_TIMEOUT_MS });
  run.log(`Release ${atomic.release} is served at ${url}, ${(ms / 1000).toFixed(1)} s after the switch.`);
}

/** How long --wait-until-served waits for the edges, as long as CloudFront says a KeyValueStore write may take and more. */
const WAIT_TIMEOUT_MS = 300_000;

/**
 * An in-place deploy of a site whose live release went live atomically: with every file in place at its own key,
 * the site's key leaves the store, so the release router serves the request as it came (the edges within
 * seconds; the changed paths are invalidated as after any in-place deploy).
 */
async function leaveAtomic(run: DeployRun, { store, indexPaths }: NonNullable<Planned['leavesAtomic']>): Promise<void> {
  const client = createKeyValueStoreClient({ requestTimeoutSeconds: run.options.requestTimeout });
  try {
    const previous = await clearLiveRelease({ client, storeArn: store.keyValueStoreArn, site: store.site }, indexPaths);
    run.log(
      `The site is deployed in place again: "${store.site}" left ${store.keyValueStoreArn}${previous ? ` (it named release ${previous.live})` : ''}.`,
    );
  } finally {
    client.destroy();
  }
}
