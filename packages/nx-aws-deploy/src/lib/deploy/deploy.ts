import { underLease } from '../bucket/lease';
import { checkBucketName } from '../bucket/name';
import { openS3Store } from '../bucket/s3-target';
import { DEFAULT_CONCURRENCY, type BucketStore } from '../bucket/store';
import { startAtomicReads } from '../releases/file-index-store';
import { checkKeepReleases } from '../releases/history';
import { openLiveReleaseStore } from '../releases/live-release';
import { previewStore, previewTarget } from '../releases/previews';
import { UserError } from '../util/errors';
import { HashCache } from './hash-cache';
import { compileHeaderRules } from './headers';
import type { DeployOptions } from './options';
import { goLive } from './phases/go-live';
import { normalizePrefix } from '../bucket/name';
import { compare } from './phases/compare';
import { plan } from './phases/plan';
import { checkPreviewLimit, removeIdlePreviews } from './phases/previews';
import { planAtomic } from './phases/plan-atomic';
import { prune } from './phases/prune';
import { record } from './phases/record';
import { report, reportDryRun, type DeployResult } from './phases/report';
import { scan } from './phases/scan';
import { transfer } from './phases/transfer';

export type { DeployOptions } from './options';
export type { DeploySummary } from './summary';
export type { DeployResult } from './phases/report';

/** Syncs a build folder to a bucket by content: assets, then entry files, then prune; see deployTo. */
export function deploy(options: DeployOptions): Promise<DeployResult> {
  return deployTo(openS3Store({ ...options, concurrency: options.concurrency ?? DEFAULT_CONCURRENCY }), options);
}

/**
 * A deploy, phase by phase (each in phases/, passing its result on); the bucket is opened with the stop signal
 * by `openStore`: S3 in deploy(), memory in the tests of the orchestration (order, guards, interruption).
 *
 * 1. scan: the build folder, refused before any request when it is no site;
 * 2. compare: the bucket listing, state and release index, while the files are hashed;
 * 3. plan: uploads, header updates and deletes by content, and what the kept releases need;
 * 4. transfer: snapshots for rollbacks, every asset, then the entry files that name them (an atomic release: the
 *    files that changed, into its folder below _releases/<n>/);
 * 4b. goLive (atomic releases): its file index entries, then the one KeyValueStore write that makes it live;
 * 5. prune: stale keys, once everything new is in place (and release files no kept release names);
 * 6. record: the state, the deployed commit and the release;
 * 7. report: the manifest (what invalidation reads) and the summary.
 *
 * Phases 2–7 run while this deploy holds the lease of the bucket + prefix (a dry run takes none), so that
 * pruning is planned from a listing nobody else changes. A stop signal ends any phase at a safe point.
 */
export async function deployTo(
  openStore: (signal: AbortSignal) => BucketStore,
  options: DeployOptions,
): Promise<DeployResult> {
  const started = Date.now();
  const log = options.log ?? ((line: string) => console.log(line));
  const sitePrefix = normalizePrefix(options.prefix);
  const concurrency = options.concurrency ?? DEFAULT_CONCURRENCY;
  if (!options.bucket) throw new UserError('The "bucket" option is required: the S3 bucket to deploy to.');
  checkBucketName(options.bucket, 'the "bucket" option');
  if (!Number.isInteger(concurrency) || concurrency < 1)
    throw new UserError(`"concurrency" must be a whole number of at least 1, not ${options.concurrency}.`);
  const rulesFor = compileHeaderRules(options.headers);
  const keepReleases = checkKeepReleases(options.keepReleases);

  const siteStore = openLiveReleaseStore(options, options.project);
  const preview = previewTarget(options, sitePrefix, siteStore);
  const liveReleases = siteStore && previewStore(siteStore, preview);
  if (liveReleases && options.waitUntilServed && !(preview ? preview.url : options.siteUrl))
    throw new UserError(
      preview
        ? '"waitUntilServed" of a preview needs "previewDomain": the preview\'s URL is checked.'
        : '"waitUntilServed" needs "siteUrl": the site whose serving of the new release to check.',
    );
  const prefix = preview?.prefix ?? sitePrefix;
  const files = await scan(options, prefix, rulesFor, log);
  const beforeLease = preview && ((store: BucketStore) => checkPreviewLimit(store, preview, options));
  try {
    return await underLease(openStore, { ...options, prefix, log, beforeLease }, async (store, signal) => {
      const hashes = HashCache.open(options.workspaceRoot, options.sourceDir);
      const run = {
        options,
        log,
        started,
        prefix,
        concurrency,
        keepReleases,
        store,
        signal,
        files,
        hashes,
        liveReleases,
        preview,
      };
      // An atomic release's first reads go out while the bucket is listed.
      const reads = liveReleases && startAtomicReads(store, prefix, liveReleases);
      const compared = await compare(run);
      const planned = reads ? await planAtomic(run, compared, liveReleases, reads) : await plan(run, compared);
      if (options.dryRun) return reportDryRun(run, planned);
      const transferred = await transfer(run, compared, planned);
      await goLive(run, planned, transferred);
      await prune(run, planned, transferred);
      const release = await record(run, compared, planned, transferred);
      // A staged preview's role may not write the store: the site's own deploys remove idle previews.
      if (siteStore && !options.stageOnly)
        await removeIdlePreviews(
          run,
          { prefix: sitePrefix, store: siteStore },
          preview ? undefined : compared.remote.values(),
        );
      return report(run, planned, release);
    });
  } finally {
    siteStore?.client.destroy();
  }
}
