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
  planInvalidation,
  UserError,
} from 'nx-aws-deploy/invalidate';
import { readManifests, type CodePipelineJob } from './artifacts';
import { REPORT_CLIENT, WORK_CLIENT } from './clients';

export interface UserParameters {
  distributionId: string;
  /** Explicit paths; otherwise planned from the deploy manifests in the input artifact. */
  paths?: string[];
  /** Report success only once the invalidation completed (through continuation tokens, never the Lambda timeout). */
  wait?: boolean;
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
  if (
    typeof params !== 'object' ||
    params === null ||
    typeof params.distributionId !== 'string' ||
    !params.distributionId
  ) {
    throw new UserError(
      'UserParameters has no "distributionId": set it to the CloudFront distribution to invalidate, e.g. {"distributionId":"E123EXAMPLE"}.',
    );
  }
  if (
    params.paths !== undefined &&
    (!Array.isArray(params.paths) || params.paths.some((p) => typeof p !== 'string' || !p.startsWith('/')))
  ) {
    throw new UserError('UserParameters "paths" must be a list of paths that start with /, e.g. ["/index.html"].');
  }
  return { distributionId: params.distributionId, paths: params.paths, wait: params.wait === true };
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

/** The job's work; what to report as success. */
async function runJob(job: CodePipelineJob): Promise<PutJobSuccessResultCommandInput> {
  const params = parseUserParameters(job.data.actionConfiguration.configuration.UserParameters);
  const target = new CloudFrontTarget(createCloudFrontClient(WORK_CLIENT), params.distributionId);
  const token = job.data.continuationToken;
  if (token) {
    const status = await target.status(token);
    return {
      jobId: job.id,
      ...(status === 'Completed' ? {} : { continuationToken: token }),
      executionDetails: {
        summary: `Invalidation ${token} on ${params.distributionId}: ${status}.`,
        externalExecutionId: token,
      },
    };
  }
  let paths = params.paths;
  if (!paths) {
    const manifests = await readManifests(job, params.distributionId);
    const origin = await target.origin();
    paths = [
      ...new Set(manifests.flatMap((m) => planInvalidation({ changes: m.changes, prefix: m.prefix, ...origin }))),
    ].sort();
  }
  if (paths.length === 0) {
    return {
      jobId: job.id,
      executionDetails: {
        summary: `Nothing to invalidate on ${params.distributionId}: the build changed nothing that could be cached.`,
      },
    };
  }
  // One job, one CallerReference: a retried invocation finds the invalidation it already created.
  const created = await target.create(paths, `codepipeline-job-${job.id}`, RETRY, console.log);
  const summary = invalidationSummary(created, params.distributionId, paths);
  const waiting = params.wait && created.status !== 'Completed';
  return {
    jobId: job.id,
    ...(waiting ? { continuationToken: created.id } : {}),
    executionDetails: { summary, externalExecutionId: created.id },
  };
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
