import { execFile } from 'node:child_process';
import { basename, resolve } from 'node:path';
import { parseArgs, promisify } from 'node:util';
import { UserError, errorMessage } from './lib/util/errors';
import { Interrupted, withStopSignals } from './lib/util/interrupt';
import type { DeployOptions } from './lib/deploy/options';

const USAGE = `Usage:
  nx-aws-deploy set-shas [--pipeline <name>] [--source-action <name>] [--bucket <bucket> [--prefix <prefix>]]
      [--pull-request-base <branch>] [--fallback-sha <sha>] [--error-on-no-base] [--request-timeout <seconds>]
      Prints shell exports of NX_HEAD, NX_BASE and NX_AFFECTED_ALL for \`nx affected\` in CodeBuild, in a form
      in which its failure fails the build phase:
        SHAS="$(node_modules/.bin/nx-aws-deploy set-shas --bucket "$SITE_BUCKET")" && eval "$SHAS"
      The base is the commit of the last successful deploy: the newest Succeeded execution of the pipeline
      (default: the one that started this build), else the deploy marker in --bucket. Without one (a build
      started by hand, the first run, a base gone from the history) everything is affected, or the
      --fallback-sha commit; --error-on-no-base fails instead. A pull request's build (--pull-request-base, the
      branch it merges into): the base is their merge base, so only what the pull request changes is affected.

  nx-aws-deploy deploy --source-dir <folder> --bucket <bucket> [--prefix <prefix>] [--region <region>]
      [--dry-run] [--no-prune] [--max-deletes <n>] [--prune-older-than-deploys <n>] [--keep-releases <n>]
      [--concurrency <n>]
      [--include <glob>]... [--exclude <glob>]... [--distribution-id <id>] [--manifest <file>]
      [--project <name>] [--allow-no-index] [--request-timeout <seconds>] [--lock-timeout <seconds> | --no-wait]
      [--release-mode atomic --key-value-store-arn <arn> [--site <key>] [--skew-protection-hours <n>]
      [--wait-until-served --site-url <url>] [--preview pr-<n> [--preview-domain <domain>]]
      [--stage-only] [--preview-ttl-days <n>] [--max-previews <n>]] [--json]
      The deploy-s3 executor outside Nx: syncs a build folder to a bucket by content. Ctrl-C or SIGTERM stop it
      at a safe point (multipart uploads aborted) and it says what landed; running it again finishes the job.
      One deploy at a time per bucket and prefix: a second one waits for the first (--lock-timeout, default
      300 s, saying who holds the lease) or, with --no-wait, fails at once. Each deploy that changes the site
      is a release; the last --keep-releases (default 10) stay restorable. --release-mode atomic sends only the
      files that changed, into _releases/<n>/, indexes them in the KeyValueStore that the release router reads
      and makes the release live with one write of it (key --site, default the project), with no invalidation;
      --wait-until-served then waits until --site-url serves it. --preview deploys the build as the preview of a
      pull request instead (below _previews/pr-<n>/, served on https://pr-<n>.<preview-domain>/); each deploy
      removes previews no build deployed for --preview-ttl-days (default 14).

  nx-aws-deploy previews --bucket <bucket> [--bucket <bucket>]... [--prefix <prefix>] [--region <region>] [--json]
      Lists the pull-request previews of each site: pull request, app, commit, when deployed, age, files, size.

  nx-aws-deploy preview remove pr-<n> --bucket <bucket> [--prefix <prefix>] --key-value-store-arn <arn>
      --site <key> [--region <region>] [--lock-timeout <seconds> | --no-wait] [--json]
      Removes a preview: its key leaves the store (its hosts serve the site's live release), then its file index
      and files. What the site itself serves is not touched.

  nx-aws-deploy preview publish pr-<n> --bucket <bucket> [--prefix <prefix>] --key-value-store-arn <arn>
      --site <key> [--region <region>] [--json]
      Makes live the release a preview build staged (deploy --preview ... --stage-only: a pull request's build,
      whose role may not write the store), writing only the preview's own keys, each checked.

  nx-aws-deploy preview password --key-value-store-arn <arn> --site <key>
      Reads a password on stdin; the site's previews then ask for it (HTTP basic auth, any user name). Only a
      salted SHA-256 of it is stored, in the KeyValueStore. An empty password takes the protection away.

  nx-aws-deploy releases --bucket <bucket> [--prefix <prefix>] [--region <region>] [--json]
      Lists the releases: number, time, commit, who, files changed, which one is live and which are kept.

  nx-aws-deploy rollback --bucket <bucket> [--prefix <prefix>] [--region <region>] [--to <release>]
      [--distribution-id <id>] [--dry-run] [--keep-releases <n>] [--concurrency <n>] [--request-timeout <seconds>]
      [--lock-timeout <seconds> | --no-wait] [--json]
      Brings a kept release back (default: the one before the live one) without a build or local files:
      checks that everything it needs is still in the bucket, restores its files by server-side copies
      (entry files last), records a new release and invalidates exactly the restored paths.

  nx-aws-deploy promote --from-bucket <bucket> [--from-prefix <prefix>] [--release <n>] --bucket <bucket>
      [--prefix <prefix>] [--region <region>] [--distribution-id <id>] [--dry-run] [--no-prune]
      [--max-deletes <n>] [--exclude <glob>]... [--keep-releases <n>] [--concurrency <n>]
      [--request-timeout <seconds>] [--lock-timeout <seconds> | --no-wait]
      [--release-mode atomic --key-value-store-arn <arn> [--site <key>] [--skew-protection-hours <n>]] [--json]
      Ships the tested bytes: copies a release of one bucket (default: its live one) into another with
      server-side copies (only what differs, assets before entry files, prune behind the same guards),
      records it there as a release and invalidates what changed. Nothing is built or read from disk. Into a
      site of atomic releases (--release-mode atomic): its layout and file index, one write to go live.`;

function wholeNumber(name: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  if (!/^\d+$/.test(value)) throw new UserError(`--${name} must be a whole number, not "${value}".`);
  return Number(value);
}

/** The flags of the commands that read a site's bookkeeping (releases, preview). */
const READ_FLAGS = {
  bucket: { type: 'string' },
  prefix: { type: 'string' },
  region: { type: 'string' },
  'request-timeout': { type: 'string' },
  json: { type: 'boolean' },
} as const;

/** The flags of the commands that make a release of an atomic site (deploy, promote). */
const ATOMIC_FLAGS = {
  'release-mode': { type: 'string' },
  'key-value-store-arn': { type: 'string' },
  site: { type: 'string' },
  'skew-protection-hours': { type: 'string' },
} as const;

function atomicOptions(values: Partial<Record<keyof typeof ATOMIC_FLAGS, string>>) {
  return {
    releaseMode: values['release-mode'] as DeployOptions['releaseMode'],
    keyValueStoreArn: values['key-value-store-arn'],
    site: values.site,
    skewProtectionHours: wholeNumber('skew-protection-hours', values['skew-protection-hours']),
  };
}

/** The flags of every command that writes to a bucket (deploy, rollback, promote). */
const WRITE_FLAGS = {
  bucket: { type: 'string' },
  prefix: { type: 'string' },
  region: { type: 'string' },
  'distribution-id': { type: 'string' },
  'dry-run': { type: 'boolean' },
  'keep-releases': { type: 'string' },
  concurrency: { type: 'string' },
  'request-timeout': { type: 'string' },
  'lock-timeout': { type: 'string' },
  'no-wait': { type: 'boolean' },
  json: { type: 'boolean' },
} as const;

type WriteFlagValues = Partial<Record<'bucket' | 'prefix' | 'region' | 'distribution-id', string>> &
  Partial<Record<'keep-releases' | 'concurrency' | 'request-timeout' | 'lock-timeout', string>> & {
    'dry-run'?: boolean;
    'no-wait'?: boolean;
  };

function writeOptions(values: WriteFlagValues) {
  return {
    bucket: values.bucket ?? '',
    prefix: values.prefix,
    region: values.region,
    distributionId: values['distribution-id'] || undefined,
    dryRun: values['dry-run'],
    keepReleases: wholeNumber('keep-releases', values['keep-releases']),
    concurrency: wholeNumber('concurrency', values.concurrency),
    requestTimeout: wholeNumber('request-timeout', values['request-timeout']),
    lockTimeout: values['no-wait'] ? 0 : wholeNumber('lock-timeout', values['lock-timeout']),
  };
}

/** A release command (rollback, promote) with Ctrl-C / SIGTERM as its stop signal; its result as JSON when asked. */
async function runReleaseCommand<T extends object>(
  json: boolean | undefined,
  work: (leaseOwner: string, signal: AbortSignal) => Promise<T>,
): Promise<number> {
  const { leaseOwner } = await import('./lib/bucket/lease');
  const result = await withStopSignals((signal) => work(leaseOwner(process.env), signal));
  // The manifest is the invalidation's input, already used.
  if (json) console.log(JSON.stringify({ ...result, manifest: undefined }));
  return 0;
}

async function deployCommand(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      ...WRITE_FLAGS,
      'source-dir': { type: 'string' },
      'no-prune': { type: 'boolean' },
      'max-deletes': { type: 'string' },
      'prune-older-than-deploys': { type: 'string' },
      include: { type: 'string', multiple: true },
      exclude: { type: 'string', multiple: true },
      manifest: { type: 'string' },
      project: { type: 'string' },
      'allow-no-index': { type: 'boolean' },
      ...ATOMIC_FLAGS,
      'wait-until-served': { type: 'boolean' },
      'site-url': { type: 'string' },
      preview: { type: 'string' },
      'preview-domain': { type: 'string' },
      'preview-ttl-days': { type: 'string' },
      'max-previews': { type: 'string' },
      'stage-only': { type: 'boolean' },
    },
  });
  if (!values['source-dir']) throw new UserError('--source-dir is required: the build folder to deploy.');
  // Each command loads only its own code: set-shas does not pay for the deploy's, nor the reverse.
  const [{ deploy }, { normalizeDeployOptions }] = await Promise.all([
    import('./lib/deploy/deploy'),
    import('./lib/deploy/options'),
  ]);
  const cwd = process.cwd();
  const options = normalizeDeployOptions(
    {
      ...writeOptions(values),
      sourceDir: values['source-dir'],
      prune: !values['no-prune'],
      maxDeletes: wholeNumber('max-deletes', values['max-deletes']),
      pruneOlderThanDeploys: wholeNumber('prune-older-than-deploys', values['prune-older-than-deploys']),
      include: values.include,
      exclude: values.exclude,
      manifest: values.manifest,
      allowNoIndex: values['allow-no-index'],
      ...atomicOptions(values),
      waitUntilServed: values['wait-until-served'],
      siteUrl: values['site-url'],
      preview: values.preview,
      previewDomain: values['preview-domain'],
      previewTtlDays: wholeNumber('preview-ttl-days', values['preview-ttl-days']),
      maxPreviews: wholeNumber('max-previews', values['max-previews']),
      stageOnly: values['stage-only'],
    },
    {
      workspaceRoot: cwd,
      base: cwd,
      project: values.project ?? basename(resolve(cwd, values['source-dir'])),
      env: process.env,
      stderrIsTTY: Boolean(process.stderr.isTTY),
    },
  );
  const { summary } = await withStopSignals((signal) => deploy({ ...options, signal }));
  if (values.json) console.log(JSON.stringify(summary));
  return 0;
}

async function releasesCommand(args: string[]): Promise<number> {
  const { values } = parseArgs({ args, options: READ_FLAGS });
  const { readReleases, releasesTable } = await import('./lib/releases/list');
  const { where, index } = await readReleases({
    bucket: values.bucket ?? '',
    prefix: values.prefix,
    region: values.region,
    requestTimeout: wholeNumber('request-timeout', values['request-timeout']),
  });
  console.log(values.json ? JSON.stringify(index ?? null) : releasesTable(where, index));
  return 0;
}

async function previewsCommand(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: { ...READ_FLAGS, bucket: { type: 'string', multiple: true } },
  });
  const { listPreviews, previewsTable } = await import('./lib/releases/preview-commands');
  const previews = await listPreviews({
    ...values,
    buckets: values.bucket ?? [],
    requestTimeout: wholeNumber('request-timeout', values['request-timeout']),
  });
  console.log(values.json ? JSON.stringify(previews) : previewsTable(previews, Date.now()));
  return 0;
}

async function previewCommand(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      ...READ_FLAGS,
      'key-value-store-arn': { type: 'string' },
      site: { type: 'string' },
      'lock-timeout': { type: 'string' },
      'no-wait': { type: 'boolean' },
    },
  });
  const [action, name] = positionals;
  const { publishPreviewOf, removePreviewOf, setPreviewPassword } = await import('./lib/releases/preview-commands');
  const common = {
    keyValueStoreArn: values['key-value-store-arn'],
    site: values.site,
    requestTimeout: wholeNumber('request-timeout', values['request-timeout']),
  };
  const where = { bucket: values.bucket ?? '', prefix: values.prefix, region: values.region };
  if (action === 'password') {
    const password = (await readStdin()).replace(/\r?\n$/, '');
    const done = await setPreviewPassword({ ...common, password });
    console.error(
      done === 'set'
        ? `The previews of "${values.site}" ask for the password now.`
        : `The previews of "${values.site}" are open to anyone with the URL now.`,
    );
    return 0;
  }
  if (action === 'publish' && name) {
    const published = await publishPreviewOf({ ...common, ...where, preview: name });
    console.error(
      'published' in published
        ? `Release ${published.published} of preview ${name} is live${published.previous ? ` (was ${published.previous})` : ''}.`
        : `Nothing to publish for preview ${name}: ${published.nothing}.`,
    );
    if (values.json) console.log(JSON.stringify(published));
    return 0;
  }
  if (action !== 'remove' || !name)
    throw new UserError(
      'Usage: nx-aws-deploy preview remove|publish pr-<n> --bucket <bucket> --key-value-store-arn <arn> --site <key>, or preview password.',
    );
  return runReleaseCommand(values.json, async (leaseOwner, signal) => {
    const removed = await removePreviewOf({
      ...common,
      ...where,
      preview: name,
      leaseOwner,
      lockTimeout: values['no-wait'] ? 0 : wholeNumber('lock-timeout', values['lock-timeout']),
      log: (line) => console.error(line),
      signal,
    });
    console.error(
      `Removed preview ${removed.name}${removed.live === undefined ? '' : ` (release ${removed.live} was live)`}: ${removed.keys} key(s) of the store, ${removed.objects} object(s).`,
    );
    return removed;
  });
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

async function rollbackCommand(args: string[]): Promise<number> {
  const { values } = parseArgs({ args, options: { ...WRITE_FLAGS, to: { type: 'string' } } });
  const { rollback } = await import('./lib/releases/rollback');
  return runReleaseCommand(values.json, (leaseOwner, signal) =>
    rollback({ ...writeOptions(values), to: wholeNumber('to', values.to), leaseOwner, signal }),
  );
}

async function promoteCommand(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      ...WRITE_FLAGS,
      'from-bucket': { type: 'string' },
      'from-prefix': { type: 'string' },
      release: { type: 'string' },
      'no-prune': { type: 'boolean' },
      'max-deletes': { type: 'string' },
      exclude: { type: 'string', multiple: true },
      ...ATOMIC_FLAGS,
    },
  });
  const { promote } = await import('./lib/releases/promote');
  return runReleaseCommand(values.json, (leaseOwner, signal) =>
    promote({
      ...writeOptions(values),
      fromBucket: values['from-bucket'] ?? '',
      fromPrefix: values['from-prefix'],
      release: wholeNumber('release', values.release),
      prune: !values['no-prune'],
      maxDeletes: wholeNumber('max-deletes', values['max-deletes']),
      exclude: values.exclude,
      ...atomicOptions(values),
      leaseOwner,
      signal,
    }),
  );
}

/**
 * Projects `nx affected` will consider, for the log; the decision itself does not depend on it. The workspace's
 * own nx, run by node (npx would add most of a second of npm's start-up to every build).
 */
async function affectedProjects(cwd: string, base: string, head: string, all: boolean): Promise<string> {
  const args = ['show', 'projects', ...(all ? [] : ['--affected', `--base=${base}`, `--head=${head}`])];
  try {
    const nx = require.resolve('nx/bin/nx', { paths: [cwd] });
    const { stdout } = await promisify(execFile)(process.execPath, [nx, ...args], {
      cwd,
      env: { ...process.env, NX_DAEMON: 'false' },
    });
    return stdout.trim().split('\n').filter(Boolean).join(', ') || 'none';
  } catch {
    return 'unknown (nx show projects failed)';
  }
}

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (command === 'deploy') return deployCommand(rest);
  if (command === 'rollback') return rollbackCommand(rest);
  if (command === 'releases') return releasesCommand(rest);
  if (command === 'promote') return promoteCommand(rest);
  if (command === 'previews') return previewsCommand(rest);
  if (command === 'preview') return previewCommand(rest);
  if (command !== 'set-shas') {
    console.error(USAGE);
    return command === '--help' || command === '-h' ? 0 : 2;
  }
  const { values } = parseArgs({
    args: rest,
    options: {
      pipeline: { type: 'string' },
      'source-action': { type: 'string' },
      bucket: { type: 'string' },
      prefix: { type: 'string' },
      'fallback-sha': { type: 'string' },
      'error-on-no-base': { type: 'boolean' },
      'request-timeout': { type: 'string' },
      'max-deepen': { type: 'string' },
      'pull-request-base': { type: 'string' },
    },
  });
  const log = (line: string) => console.error(line);
  const cwd = process.cwd();
  const [{ resolveShas }, { shellExports }] = await Promise.all([
    import('./lib/affected/set-shas'),
    import('./lib/affected/pick-base'),
  ]);
  const resolution = await resolveShas({
    cwd,
    env: process.env,
    log,
    pipeline: values.pipeline,
    sourceAction: values['source-action'],
    // An empty --bucket "$SITE_BUCKET" (unset in the build) means no marker, not an invalid bucket.
    bucket: values.bucket || undefined,
    prefix: values.prefix,
    fallbackSha: values['fallback-sha'] || undefined,
    pullRequestBase: values['pull-request-base'] || undefined,
    errorOnNoBase: values['error-on-no-base'],
    requestTimeoutSeconds: wholeNumber('request-timeout', values['request-timeout']),
    maxDeepenRounds: values['max-deepen'] ? Number(values['max-deepen']) : undefined,
  });
  const { head, base, all, how } = resolution;
  log(all ? `set-shas: ${how}. head ${head}.` : `set-shas: base ${base} (from ${how}), head ${head}.`);
  log(`set-shas: affected projects: ${await affectedProjects(cwd, base, head, all)}`);
  console.log(shellExports({ NX_HEAD: head, NX_BASE: base, NX_AFFECTED_ALL: String(all) }));
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error) => {
    console.error(`nx-aws-deploy: ${error instanceof UserError ? error.message : errorMessage(error)}`);
    process.exit(error instanceof Interrupted ? error.exitCode : 1);
  },
);
