import { mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import { forEachLimit } from '../util/concurrency';
import { UserError } from '../util/errors';
import { Interrupted } from '../util/interrupt';
import { writeJsonWithList } from '../util/json-file';
import { collectNow, collectSooner } from '../util/memory';
import { checkBucketName } from './bucket-name';
import { compileHeaderRules, headersFingerprint, isContentHashed, sharedHeadersFor, type HeaderRule } from './headers';
import {
  contentEtags,
  multipartEtags,
  onDisk,
  PART_SIZE,
  scanSourceDir,
  type LocalFile,
  type ScanResult,
} from './local-files';
import { HashCache } from './hash-cache';
import {
  byKey,
  changedKeys,
  compactState,
  keysNeedingHead,
  normalizePrefix,
  checkKeyLengths,
  planDeploy,
  recordUploadedEtags,
  shouldWriteState,
  type DeployPlan,
  type DeployState,
  type PlannedFile,
  type PlannedUpload,
} from './plan';
import { underLease } from './lease';
import { MARKER_FILE, STATE_DIR, STATE_FILE, type DeployMarker } from './bookkeeping';
import { Progress } from './progress';
import { dryRunReport, summaryTable } from './report';
import { openS3Store } from './s3-target';
import {
  DEFAULT_CONCURRENCY,
  DEFAULT_MAX_DELETES,
  type BucketStore,
  type RequestCounts,
  type Written,
} from './bucket-store';
import { defaultManifestPath, type DeployManifest, type ManifestChange } from './manifest';
import { ReleaseBook } from '../releases/book';
import { checkKeepReleases, recordVersions, snapshotsToTake, type ReleaseRecord } from '../releases/history';

export interface DeployOptions {
  workspaceRoot: string;
  /** Nx project name, for messages and the default manifest path. */
  project: string;
  sourceDir: string;
  bucket: string;
  prefix?: string;
  region?: string;
  prune?: boolean;
  maxDeletes?: number;
  pruneOlderThanDeploys?: number;
  /** Releases that stay restorable by a rollback (their assets kept, their other files snapshotted); see lib/releases. */
  keepReleases?: number;
  dryRun?: boolean;
  concurrency?: number;
  /** Seconds a request may go without progress before it is aborted and retried; see createS3Client. */
  requestTimeout?: number;
  /** Seconds to wait for another deploy to the same bucket + prefix to finish; 0: fail at once. */
  lockTimeout?: number;
  /** Who holds the deploy lease, for whoever waits: the CodeBuild build ARN, or user@host:pid (see leaseOwner). */
  leaseOwner: string;
  /** The commit being deployed from CodeBuild, recorded in the deploy marker for `set-shas`; none outside CodeBuild. */
  commit?: string;
  /** The CodePipeline execution that started the build (the generated pipeline passes it), for the release. */
  pipelineExecution?: string;
  include?: string[];
  exclude?: string[];
  headers?: HeaderRule[];
  distributionId?: string;
  manifest?: string;
  allowNoIndex?: boolean;
  allowOutsideWorkspace?: boolean;
  log?: (line: string) => void;
  /** Progress as one line redrawn on stderr, for a terminal; else (default) a plain line every few seconds. */
  redrawProgress?: boolean;
  /** Aborted (reason: the signal's name) to stop at a safe point: the deploy then throws Interrupted. */
  signal?: AbortSignal;
}

export interface DeploySummary {
  project: string;
  bucket: string;
  prefix: string;
  dryRun: boolean;
  uploaded: { files: number; bytes: number };
  metadataUpdated: { files: number };
  unchanged: { files: number; bytes: number };
  deleted: { files: number };
  kept: { files: number };
  /** Other deploys below this prefix (their own bookkeeping), never pruned by this one. */
  siblings: { prefix: string; objects: number }[];
  requests: RequestCounts;
  durationMs: number;
  manifest?: string;
  /** The release this deploy recorded; none for a dry run or a deploy that changed nothing. */
  release?: number;
}

/** Syncs a build folder to a bucket by content: assets, then entry files, then prune; see DeployPlan. */
export function deploy(
  options: DeployOptions,
): Promise<{ summary: DeploySummary; plan: DeployPlan; manifest?: DeployManifest }> {
  return deployTo(openS3Store({ ...options, concurrency: options.concurrency ?? DEFAULT_CONCURRENCY }), options);
}

/**
 * The deploy against a bucket store made for it with its stop signal: S3 in deploy(), memory in the tests of the
 * orchestration (order, guards, interruption).
 */
export async function deployTo(
  openStore: (signal: AbortSignal) => BucketStore,
  options: DeployOptions,
): Promise<{ summary: DeploySummary; plan: DeployPlan; manifest?: DeployManifest }> {
  const started = Date.now();
  const log = options.log ?? ((line: string) => console.log(line));
  const prefix = normalizePrefix(options.prefix);
  const concurrency = options.concurrency ?? DEFAULT_CONCURRENCY;
  if (!options.bucket) throw new UserError('The "bucket" option is required: the S3 bucket to deploy to.');
  checkBucketName(options.bucket, 'the "bucket" option');
  if (!Number.isInteger(concurrency) || concurrency < 1)
    throw new UserError(`"concurrency" must be a whole number of at least 1, not ${options.concurrency}.`);
  const rulesFor = compileHeaderRules(options.headers);
  const keepReleases = checkKeepReleases(options.keepReleases);

  // The folder is walked first: a bad sourceDir fails the deploy before any request.
  const scan = await scanSourceDir({
    workspaceRoot: options.workspaceRoot,
    sourceDir: options.sourceDir,
    include: options.include,
    exclude: options.exclude,
    allowOutsideWorkspace: options.allowOutsideWorkspace,
  });
  checkScan(options, prefix, scan, log);
  collectSooner(scan.files.length);
  // One deploy at a time per bucket + prefix, so that pruning is planned from a listing nobody else changes.
  return underLease(openStore, { ...options, prefix, log }, (target, signal) =>
    deployUnderLease(
      { ...options, signal },
      { started, log, prefix, concurrency, rulesFor, target, scan, keepReleases },
    ),
  );
}

/** Refuses a folder that is no site (empty, no index.html, keys S3 would refuse); warns of entries left out. */
function checkScan(
  options: DeployOptions,
  prefix: string,
  { files, skipped }: ScanResult,
  log: (line: string) => void,
) {
  if (skipped.length) {
    log(
      `Warning: skipped ${skipped.length} entr${skipped.length === 1 ? 'y' : 'ies'} in ${options.sourceDir} that ${skipped.length === 1 ? 'is' : 'are'} not a regular file (FIFO, socket or device): ${skipped.join(', ')}.`,
    );
  }
  if (files.length === 0)
    throw new UserError(
      `sourceDir ${options.sourceDir} has no files to deploy; the bucket was left as it is. Build the project first, or check "include"/"exclude".`,
    );
  if (!options.allowNoIndex && !files.some((f) => f.path === 'index.html')) {
    throw new UserError(
      `sourceDir ${options.sourceDir} has no index.html; refusing to deploy a site without one. Set "allowNoIndex": true if that is intended.`,
    );
  }
  checkKeyLengths(prefix, files, options.sourceDir);
}

/** The deploy itself, once this deploy holds the bucket + prefix (or plans a dry run). */
async function deployUnderLease(
  options: DeployOptions,
  context: {
    started: number;
    log: (line: string) => void;
    prefix: string;
    concurrency: number;
    rulesFor: ReturnType<typeof compileHeaderRules>;
    target: BucketStore;
    scan: ScanResult;
    keepReleases: number;
  },
): Promise<{ summary: DeploySummary; plan: DeployPlan; manifest?: DeployManifest }> {
  const { started, log, prefix, concurrency, rulesFor, target, keepReleases } = context;
  const { files } = context.scan;
  // The bucket is listed while the files are hashed; its first page tells whether there is anything to compare.
  let nothingToCompare = false;
  let firstPageIn!: () => void;
  const firstPage = new Promise<void>((resolve) => (firstPageIn = resolve));
  const remoteReady = Promise.allSettled([
    target.list(prefix, {
      onFirstPage: (objects, more) => {
        nothingToCompare = !more && objects.every((o) => o.key.slice(prefix.length).startsWith(STATE_DIR));
        firstPageIn();
      },
      // Where the bucket mirrors the folder, a long listing splits at its files into ranges listed at once.
      likelyKeys: (function* () {
        for (const f of files) yield prefix + f.path;
      })(),
    }),
    target.readJson<DeployState>(prefix + STATE_FILE),
    ReleaseBook.open(target, prefix),
  ]);
  // A listing that fails is reported below.
  void remoteReady.then(() => firstPageIn());
  const headersOf = sharedHeadersFor(rulesFor);
  // Set in place: one record per file, however many files; from here on they are what the plan takes.
  for (const f of files) f.headers = headersOf(f.path);
  const planned = files as (LocalFile & PlannedFile)[];

  // Hashing is for comparing with the bucket. Into a bucket with nothing below the prefix (a first deploy) a file
  // is read once, as it uploads (its MD5 taken then, for Content-MD5); only files above one part are hashed first,
  // for their multipart upload to verify.
  // A file whose size, mtime and inode are as when it was last hashed here is not read again (hash-cache.ts).
  const hashes = HashCache.open(options.workspaceRoot, options.sourceDir);
  hashes.reuse(planned);
  const hash = async (f: LocalFile): Promise<void> => {
    if (f.etags.length) return;
    const hashedAt = Date.now();
    f.etags = await contentEtags(onDisk(options.sourceDir, f), f.size);
    hashes.hashed(f, hashedAt);
  };
  await firstPage;
  await forEachLimit(
    planned,
    concurrency,
    async (f) => {
      if (!nothingToCompare || f.size > PART_SIZE) await hash(f);
    },
    options.signal,
  );
  // A missing bucket is reported as the listing's failure, the one a person expects.
  const [listed, stored, opened] = await remoteReady;
  if (listed.status === 'rejected') throw listed.reason;
  if (stored.status === 'rejected') throw stored.reason;
  if (opened.status === 'rejected') throw opened.reason;
  const remote = listed.value;
  const releases = opened.value;
  collectSooner(remote.length);
  const remoteByKey = byKey(remote);
  const state = stored.value;
  compactState(state, remoteByKey);
  // A multipart ETag in the bucket (`-N`) is compared at the part sizes that fit it; the MD5 covers the rest.
  await forEachLimit(
    planned,
    concurrency,
    async (f) => {
      const etag = remoteByKey.get(prefix + f.path)?.etag;
      if (etag !== undefined) await hash(f);
      const parts = etag && !f.etags.includes(etag) ? /-(\d+)"$/.exec(etag) : null;
      if (parts) f.etags.push(...(await multipartEtags(onDisk(options.sourceDir, f), f.size, Number(parts[1]))));
    },
    options.signal,
  );
  const headed = new Map<string, string>();
  await forEachLimit(
    keysNeedingHead({ files: planned, prefix, remote: remoteByKey, state }),
    concurrency,
    async (key) => {
      headed.set(key, headersFingerprint(await target.headers(key)));
    },
    options.signal,
  );
  if (options.signal?.aborted)
    throw new Interrupted(
      options.signal.reason,
      `Interrupted by ${options.signal.reason} before any change: the bucket is as it was.`,
    );
  const planInput = {
    bucket: options.bucket,
    files: planned,
    prefix,
    remote: remoteByKey,
    state,
    headedFingerprints: headed,
    prune: options.prune ?? true,
    maxDeletes: options.maxDeletes ?? DEFAULT_MAX_DELETES,
    pruneOlderThanDeploys: options.pruneOlderThanDeploys ?? 0,
    exclude: options.exclude,
  };
  // The kept releases' records are read only for a deploy that changes something (or starts the history):
  // their assets are not pruned, and what the live one has is snapshotted before it is overwritten or deleted.
  let plan = planDeploy({ ...planInput, maxDeletes: Infinity });
  const changes = plan.uploads.length + plan.metadataUpdates.length + plan.deletes.length;
  const recordsRelease = changes > 0 || !releases.index;
  // This deploy's release will be kept with the newest keepReleases - 1 of those kept now.
  const staying = recordsRelease ? await releases.staying(keepReleases, remoteByKey.keys()) : undefined;
  // Without changes there is nothing to prune or keep: the plan stands.
  if (staying) plan = planDeploy({ ...planInput, releaseAssets: staying.assets });
  const snapshots = snapshotsToTake(
    staying?.liveStays ? staying.live : undefined,
    prefix,
    changedKeys(plan),
    remoteByKey,
  );

  const summary: DeploySummary = {
    project: options.project,
    bucket: options.bucket,
    prefix,
    dryRun: Boolean(options.dryRun),
    uploaded: { files: plan.uploads.length, bytes: plan.uploads.reduce((n, u) => n + u.size, 0) },
    metadataUpdated: { files: plan.metadataUpdates.length },
    unchanged: { files: plan.unchanged.length, bytes: plan.unchanged.reduce((n, u) => n + u.size, 0) },
    deleted: { files: plan.deletes.length },
    kept: { files: plan.kept.length },
    siblings: plan.siblings,
    requests: target.requests,
    durationMs: 0,
  };
  const destination = `s3://${options.bucket}/${prefix}`;
  if (options.dryRun) {
    log(dryRunReport(`deploying ${options.sourceDir} to ${destination}`, plan));
    hashes.save(files);
    summary.durationMs = Date.now() - started;
    log(summaryTable(summary));
    return { summary, plan };
  }

  collectNow(files.length + remote.length);
  log(
    `Deploying ${options.sourceDir} to ${destination}: ${plan.uploads.length} to upload, ${plan.metadataUpdates.length} to update, ${plan.unchanged.length} unchanged, ${plan.deletes.length} to delete.`,
  );
  const written = new Map<string, Written>();
  const progress = new Progress(
    'upload',
    plan.uploads.length + plan.metadataUpdates.length,
    summary.uploaded.bytes,
    log,
    Boolean(options.redrawProgress),
  );
  const done = { uploads: 0, updates: 0, deletes: 0 };
  const byPath = new Map<string, LocalFile>();
  if (plan.uploads.length) for (const f of files) byPath.set(f.path, f);
  const push = (batch: PlannedUpload[]) =>
    forEachLimit(
      batch,
      concurrency,
      async (u) => {
        const file = byPath.get(u.path)!;
        // The MD5 the plan compared, if it hashed the file: the upload then stores exactly those bytes.
        const md5 = file.etags[0]?.slice(1, -1);
        const readAt = Date.now();
        const uploaded = await target.upload(u.key, onDisk(options.sourceDir, file), u.size, md5, u.headers, (bytes) =>
          progress.advance(0, bytes),
        );
        written.set(u.key, uploaded);
        // Read for the first time as it went up: its MD5 spares the next deploy from this workspace the read.
        if (!md5) {
          file.etags = [`"${uploaded.md5}"`];
          hashes.hashed(file, readAt);
        }
        done.uploads++;
        progress.advance(1);
      },
      options.signal,
    );
  const update = (batch: PlannedUpload[]) =>
    forEachLimit(
      batch,
      concurrency,
      async (u) => {
        written.set(u.key, await target.updateHeaders(u.key, u.headers));
        done.updates++;
        progress.advance(1);
      },
      options.signal,
    );
  let phase: 'assets' | 'entries' | 'prune' = 'assets';
  const checkpoint = () => {
    if (options.signal?.aborted) throw options.signal.reason;
  };
  try {
    // What the live release has at keys about to change is kept first: a rollback copies it back.
    await releases.takeSnapshots(snapshots, concurrency, options.signal);
    checkpoint();
    // Assets before the entry files that name them; deletes only once everything new is in place.
    await push(plan.uploads.filter((u) => !u.entry));
    await update(plan.metadataUpdates.filter((u) => !u.entry));
    checkpoint();
    phase = 'entries';
    await push(plan.uploads.filter((u) => u.entry));
    await update(plan.metadataUpdates.filter((u) => u.entry));
    checkpoint();
    phase = 'prune';
    if (plan.deletes.length) await target.delete(plan.deletes, (n) => (done.deletes += n));
    checkpoint();
  } catch (error) {
    if (!options.signal?.aborted) throw error;
    const aborted = await target.abortOpenUploads();
    const live =
      phase === 'assets'
        ? "The live entry files (HTML) are still the previous deploy's."
        : 'Every entry file already replaced names only assets that are in the bucket.';
    throw new Interrupted(
      options.signal.reason,
      [
        `Interrupted by ${options.signal.reason} while ${{ assets: 'uploading assets', entries: 'uploading entry files', prune: 'pruning' }[phase]}: uploaded ${done.uploads} of ${plan.uploads.length} files,`,
        `updated headers of ${done.updates} of ${plan.metadataUpdates.length}, deleted ${done.deletes} of ${plan.deletes.length}${aborted ? `, aborted ${aborted} unfinished multipart upload(s)` : ''}.`,
        `${live} Run the deploy again to finish: what already landed is not uploaded again.`,
      ].join(' '),
    );
  }
  hashes.save(files);
  const nextState = recordUploadedEtags(plan.nextState, written);
  try {
    if (shouldWriteState(state, nextState, options.pruneOlderThanDeploys ?? 0))
      await target.writeJson(prefix + STATE_FILE, nextState);
    // In CodeBuild, record the deployed commit for `set-shas` (only when it moved: a re-run makes no PUT).
    const { commit } = options;
    if (commit && (await target.readJson<Partial<DeployMarker>>(prefix + MARKER_FILE))?.commit !== commit) {
      const marker: DeployMarker = { commit, project: options.project, deployedAt: new Date().toISOString() };
      await target.writeJson(prefix + MARKER_FILE, marker);
    }
    if (staying) {
      const release = await releases.add(
        {
          at: new Date().toISOString(),
          project: options.project,
          commit,
          by: options.leaseOwner,
          pipelineExecution: options.pipelineExecution,
          changed: changes,
          files: files.length,
          bytes: files.reduce((n, f) => n + f.size, 0),
        },
        releaseFiles(files, prefix, nextState, written, staying.live),
        keepReleases,
        remoteByKey.keys(),
        staying,
      );
      summary.release = release.number;
    }
  } catch (error) {
    if (!options.signal?.aborted) throw error;
    throw new Interrupted(
      options.signal.reason,
      `Interrupted by ${options.signal.reason} after every file landed: the site is complete. ` +
        "The deploy's bookkeeping and manifest were not written, so nothing was invalidated: run the deploy again to record it (it uploads nothing).",
    );
  }

  const manifest = buildManifest(
    options,
    prefix,
    plan,
    files.some((f) => f.path === 'index.html'),
  );
  const manifestPath = options.manifest ?? defaultManifestPath(options.workspaceRoot, options.project);
  await mkdir(dirname(manifestPath), { recursive: true });
  const { changes: changed, ...fields } = manifest;
  writeJsonWithList(manifestPath, fields, { name: 'changes', items: changed });
  summary.manifest = manifestPath;
  summary.durationMs = Date.now() - started;
  log(summaryTable(summary));
  return { summary, plan, manifest };
}

/**
 * A release's files by path and ETag: content-hashed ones are kept, the others restored from their versions
 * (versioned buckets) or snapshots.
 */
function releaseFiles(
  files: readonly LocalFile[],
  prefix: string,
  state: DeployState,
  written: ReadonlyMap<string, Written>,
  live: ReleaseRecord | undefined,
): Pick<ReleaseRecord, 'restorable' | 'assets' | 'versions'> {
  const restorable: Record<string, string> = {};
  const assets: Record<string, string> = {};
  for (const f of files) (isContentHashed(f.path) ? assets : restorable)[f.path] = state.objects[prefix + f.path].etag;
  return { restorable, assets, versions: recordVersions(restorable, prefix, written, live) };
}

function buildManifest(options: DeployOptions, prefix: string, plan: DeployPlan, hasIndex: boolean): DeployManifest {
  const changes: ManifestChange[] = [
    ...plan.uploads.map((u) => ({
      key: u.key,
      action: u.reason === 'new' ? ('created' as const) : ('replaced' as const),
      immutable: u.immutable,
    })),
    ...plan.metadataUpdates.map((u) => ({ key: u.key, action: 'headers' as const, immutable: u.immutable })),
    ...plan.deletes.map((key) => ({ key, action: 'deleted' as const, immutable: false })),
  ];
  return {
    version: 1,
    project: options.project,
    bucket: options.bucket,
    prefix,
    region: options.region,
    distributionId: options.distributionId,
    deployedAt: new Date().toISOString(),
    deploy: plan.nextState.deploy,
    hasIndex,
    changes,
    unchanged: plan.unchanged.length,
  };
}
