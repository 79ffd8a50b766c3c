import {
  PutJobFailureResultCommand,
  PutJobSuccessResultCommand,
  type CodePipelineClient,
  type PutJobSuccessResultCommandInput,
} from '@aws-sdk/client-codepipeline';
import {
  CloudFrontTarget,
  createCloudFrontClient,
  createCodePipelineClient,
  errorMessage,
  invalidationSummary,
  manifestsByDistribution,
  planDistributionInvalidation,
  UserError,
} from 'nx-aws-deploy/invalidate';
import { publishPreviewOf, removePreviewOf } from 'nx-aws-deploy/previews';
import { readManifests, type CodePipelineJob } from './artifacts';
import { MAX_REQUEST_TIMEOUT_SECONDS, REPORT_CLIENT, WORK_CLIENT, workClient } from './clients';

export interface UserParameters {
  /** The distribution for explicit paths, and for manifests that name none (each app's names its own). */
  distributionId?: string;
  /** Explicit paths; otherwise planned from the deploy manifests in the input artifact. */
  paths?: string[];
  /** Report success only once the invalidation completed (through continuation tokens, never the Lambda timeout). */
  wait?: boolean;
  /** Seconds without progress before a request to CloudFront or the artifact store is retried (default 5). */
  requestTimeout?: number;
  /**
   * Instead of invalidating: a pull request's previews, in the generated previews pipelines. "publish" makes the
   * release each site's preview build staged live (writing only that preview's keys, each checked: the build ran
   * the pull request's code, so its role may not write the store); "remove" takes the previews away once the
   * pull request closed. `pullRequest`: the source action's #{SourceVariables.PullRequestId}.
   */
  previews?: PreviewsJob;
}

export interface PreviewsJob {
  action: 'publish' | 'remove';
  pullRequest: string;
  keyValueStoreArn: string;
  sites: { bucket: string; site: string; prefix?: string }[];
}

/** A retried invocation must finish in Lambda time: give up on a busy distribution sooner than the executor does. */
const RETRY = { baseDelayMs: 2000, giveUpAfterMs: 60_000 };

export function parseUserParameters(raw: string | undefined): UserParameters {
  if (!raw)
    throw new UserError(
      'UserParameters is empty: set it to JSON like {"distributionId":"E123EXAMPLE"} in the pipeline\'s Invoke action.',
    );
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    throw new UserError(
      `UserParameters is not valid JSON (${raw.slice(0, 80)}): set it to JSON like {"distributionId":"E123EXAMPLE"}.`,
    );
  }
  const params = parsed as Partial<UserParameters>;
  if (typeof params !== 'object' || params === null || Array.isArray(params))
    throw new UserError('UserParameters must be a JSON object, e.g. {"distributionId":"E123EXAMPLE"}.');
  if (params.distributionId !== undefined && (typeof params.distributionId !== 'string' || !params.distributionId))
    throw new UserError(
      'UserParameters "distributionId" must be the id of a CloudFront distribution, e.g. {"distributionId":"E123EXAMPLE"}.',
    );
  if (params.paths !== undefined && !params.distributionId)
    throw new UserError(
      'UserParameters has "paths" but no "distributionId": set it to the CloudFront distribution to invalidate, e.g. {"distributionId":"E123EXAMPLE","paths":["/*"]}.',
    );
  if (
    params.paths !== undefined &&
    (!Array.isArray(params.paths) || params.paths.some((p) => typeof p !== 'string' || !p.startsWith('/')))
  ) {
    throw new UserError('UserParameters "paths" must be a list of paths that start with /, e.g. ["/index.html"].');
  }
  const { requestTimeout } = params;
  if (
    requestTimeout !== undefined &&
    (typeof requestTimeout !== 'number' || !(requestTimeout >= 1 && requestTimeout <= MAX_REQUEST_TIMEOUT_SECONDS))
  ) {
    throw new UserError(
      `UserParameters "requestTimeout" must be a number of seconds from 1 to ${MAX_REQUEST_TIMEOUT_SECONDS} (three attempts and the report must end within the function's timeout), e.g. {"distributionId":"E123EXAMPLE","requestTimeout":10}.`,
    );
  }
  const previews = params.previews === undefined ? undefined : checkPreviewsJob(params.previews);
  return {
    distributionId: params.distributionId,
    paths: params.paths,
    wait: params.wait === true,
    requestTimeout,
    ...(previews ? { previews } : {}),
  };
}

function checkPreviewsJob(job: Partial<PreviewsJob>): PreviewsJob {
  const example =
    'e.g. {"previews":{"action":"publish","pullRequest":"#{SourceVariables.PullRequestId}","keyValueStoreArn":"arn:aws:cloudfront::123456789012:key-value-store/…","sites":[{"bucket":"web-bucket","site":"web"}]}}';
  if (job.action !== 'publish' && job.action !== 'remove')
    throw new UserError(`UserParameters "previews.action" must be "publish" or "remove", ${example}.`);
  if (typeof job.pullRequest !== 'string' || !/^[1-9]\d{0,9}$/.test(job.pullRequest))
    throw new UserError(
      `UserParameters "previews.pullRequest" is ${JSON.stringify(job.pullRequest)}, not a pull request's number: run this action in a pipeline that a pull request started (its source action's namespace gives #{SourceVariables.PullRequestId}).`,
    );
  if (typeof job.keyValueStoreArn !== 'string' || !job.keyValueStoreArn.startsWith('arn:'))
    throw new UserError(`UserParameters "previews.keyValueStoreArn" must be the store's ARN, ${example}.`);
  const sites = job.sites;
  if (
    !Array.isArray(sites) ||
    !sites.length ||
    !sites.every((s) => typeof s?.bucket === 'string' && typeof s.site === 'string')
  )
    throw new UserError(`UserParameters "previews.sites" must list each site's bucket and key, ${example}.`);
  return { action: job.action, pullRequest: job.pullRequest, keyValueStoreArn: job.keyValueStoreArn, sites };
}

/**
 * CodePipeline Invoke action: invalidates what the build deployed and always ends the job, with
 * PutJobSuccessResult (a continuation token while a waited-for invalidation is in progress) or
 * PutJobFailureResult with a message a person can act on. It never throws, so a pipeline never hangs.
 */
export async function handler(event: { 'CodePipeline.job': CodePipelineJob }): Promise<void> {
  const job = event['CodePipeline.job'];
  const codepipeline = createCodePipelineClient(REPORT_CLIENT);
  try {
    let success: PutJobSuccessResultCommandInput;
    try {
      success = await runJob(job);
    } catch (error) {
      return await reportFailure(codepipeline, job.id, error);
    }
    try {
      await codepipeline.send(new PutJobSuccessResultCommand(success));
    } catch (error) {
      // The invalidation exists; say so, so that whoever retries the stage knows it is safe to.
      const message = `${success.executionDetails?.summary} Reporting success to CodePipeline failed (${errorMessage(error)}): retry the stage; it finds the same invalidation.`;
      await reportFailure(codepipeline, job.id, new Error(message));
    }
  } finally {
    codepipeline.destroy();
  }
}

/** A continuation token: the invalidations still in progress, as `distribution:id` joined by commas. */
const formatToken = (pending: [string, string][]) => pending.map(([d, id]) => `${d}:${id}`).join(',');
/** Also reads the plain invalidation id of earlier versions (one distribution, from UserParameters). */
const parseToken = (token: string, fallback?: string): [string, string][] =>
  token.split(',').map((part) => (part.includes(':') ? (part.split(':') as [string, string]) : [fallback ?? '', part]));

/**
 * The job's work; what to report as success. One invalidation per distribution: the manifests of every app that
 * the build (or each build of a batch) deployed are planned together per distribution, within CloudFront's limits.
 */
async function runJob(job: CodePipelineJob): Promise<PutJobSuccessResultCommandInput> {
  const params = parseUserParameters(job.data.actionConfiguration.configuration.UserParameters);
  if (params.previews) return runPreviewsJob(job.id, params.previews, params.requestTimeout);
  const client = createCloudFrontClient(workClient(params.requestTimeout));
  const target = (distributionId: string) => new CloudFrontTarget(client, distributionId);
  const token = job.data.continuationToken;
  if (token) {
    const pending = parseToken(token, params.distributionId);
    const statuses = await Promise.all(pending.map(([d, id]) => target(d).status(id)));
    const still = pending.filter((_, i) => statuses[i] !== 'Completed');
    return {
      jobId: job.id,
      ...(still.length ? { continuationToken: formatToken(still) } : {}),
      executionDetails: {
        summary: pending.map(([d, id], i) => `Invalidation ${id} on ${d}: ${statuses[i]}.`).join(' '),
        externalExecutionId: pending[0][1],
      },
    };
  }
  let plans: { distributionId: string; paths: string[] }[];
  if (params.paths) plans = [{ distributionId: params.distributionId!, paths: params.paths }];
  else {
    const groups = manifestsByDistribution(await readManifests(job, params.requestTimeout), params.distributionId);
    plans = await Promise.all(
      [...groups].map(async ([distributionId, manifests]) => ({
        distributionId,
        paths: planDistributionInvalidation(manifests, await target(distributionId).origin()),
      })),
    );
  }
  const created: { distributionId: string; paths: string[]; id: string; status: string }[] = [];
  for (const plan of plans.filter((p) => p.paths.length)) {
    // One job, one CallerReference per distribution: a retried invocation finds the invalidations it created.
    const reference =
      plans.length === 1 ? `codepipeline-job-${job.id}` : `codepipeline-job-${job.id}-${plan.distributionId}`;
    created.push({ ...plan, ...(await target(plan.distributionId).create(plan.paths, reference, RETRY, console.log)) });
  }
  if (created.length === 0) {
    return {
      jobId: job.id,
      executionDetails: {
        summary: plans.length
          ? `Nothing to invalidate on ${plans.map((p) => p.distributionId).join(', ')}: the build changed nothing that could be cached.`
          : 'Nothing to invalidate: the build deployed nothing (no project was affected).',
      },
    };
  }
  const summary = created.map((c) => invalidationSummary(c, c.distributionId, c.paths)).join(' ');
  const waiting = params.wait ? created.filter((c) => c.status !== 'Completed') : [];
  return {
    jobId: job.id,
    ...(waiting.length ? { continuationToken: formatToken(waiting.map((c) => [c.distributionId, c.id])) } : {}),
    executionDetails: { summary: summary.slice(0, 2048), externalExecutionId: created[0].id },
  };
}

/** A previews job: each site's preview of the pull request published or removed, one after the other. */
async function runPreviewsJob(
  jobId: string,
  { action, pullRequest, keyValueStoreArn, sites }: PreviewsJob,
  requestTimeout = WORK_CLIENT.requestTimeoutSeconds,
): Promise<PutJobSuccessResultCommandInput> {
  const name = `pr-${pullRequest}`;
  const said: string[] = [];
  for (const { bucket, site, prefix } of sites) {
    const of = { bucket, prefix, site, keyValueStoreArn, preview: pullRequest, requestTimeout };
    if (action === 'publish') {
      const published = await publishPreviewOf(of);
      said.push(
        'published' in published
          ? `${site}: release ${published.published} of ${name} is live${published.previous ? ` (was ${published.previous})` : ''}.`
          : `${site}: nothing to publish (${published.nothing}).`,
      );
    } else {
      // Under the preview's lease: a build of it still running finishes first (within the function's time).
      const removed = await removePreviewOf({
        ...of,
        ...{ leaseOwner: `codepipeline-job-${jobId}`, lockTimeout: 30, log: (line: string) => console.log(line) },
      });
      said.push(`${site}: ${name} removed (${removed.keys} key(s) of the store, ${removed.objects} object(s)).`);
    }
  }
  return { jobId, executionDetails: { summary: said.join(' ').slice(0, 2048), externalExecutionId: name } };
}

async function reportFailure(codepipeline: CodePipelineClient, jobId: string, error: unknown): Promise<void> {
  const message = errorMessage(error);
  console.error(`invalidate job ${jobId} failed: ${message}`);
  try {
    await codepipeline.send(
      new PutJobFailureResultCommand({
        jobId,
        failureDetails: {
          type: error instanceof UserError ? 'ConfigurationError' : 'JobFailed',
          message: message.slice(0, 5000),
          externalExecutionId: jobId,
        },
      }),
    );
  } catch (reportError) {
    // Already ended (a retried invocation) or CodePipeline unreachable: nothing more can be reported.
    console.error(`could not report the failure of job ${jobId}: ${errorMessage(reportError)}`);
  }
}
