import { randomBytes, randomUUID } from 'node:crypto';
import { ACCOUNT, AwsError } from '../errors';
import type { LocalRequest, LocalResponse } from '../http';
import type { Roles } from '../iam/roles';
import type { CodePipelineState, Job, JobRequest, PipelineExecution } from './state';

/** CodePipeline's JSON 1.1 API (`X-Amz-Target: CodePipeline_20150709.<Operation>`). */
export class CodePipelineService {
  constructor(
    readonly state: CodePipelineState,
    private readonly onChange: () => void,
    private readonly roles?: Roles,
  ) {}

  handle(ctx: LocalRequest): LocalResponse {
    let input: any;
    try {
      input = ctx.body.length ? JSON.parse(ctx.body.toString('utf8')) : {};
    } catch {
      throw new AwsError(400, 'SerializationException', 'The request body is not valid JSON.');
    }
    const handlers: Record<string, (input: any) => unknown> = {
      CreatePipeline: (i) => this.createPipeline(i),
      GetPipeline: (i) => ({ pipeline: this.pipeline(i.name).declaration, metadata: this.metadata(i.name) }),
      ListPipelines: () => ({
        pipelines: [...this.state.pipelines.keys()].map((name) => ({ name, ...this.metadata(name) })),
      }),
      StartPipelineExecution: (i) => this.startExecution(i),
      ListPipelineExecutions: (i) => this.listExecutions(i),
      GetPipelineExecution: (i) => ({ pipelineExecution: this.execution(i.pipelineName, i.pipelineExecutionId) }),
      PutJobSuccessResult: (i) => this.putJobSuccess(i),
      PutJobFailureResult: (i) => this.putJobFailure(i),
    };
    const run = handlers[ctx.operation];
    if (!run)
      throw new AwsError(
        400,
        'UnknownOperationException',
        `The local CodePipeline does not implement ${ctx.req.headers['x-amz-target'] || 'this request'}.`,
      );
    const output = run(input);
    this.onChange();
    return {
      status: 200,
      headers: { 'Content-Type': 'application/x-amz-json-1.1' },
      body: JSON.stringify(output ?? {}),
    };
  }

  createJob(request: JobRequest): Job {
    const pipelineName = request.pipelineName ?? 'local-pipeline';
    const id = randomUUID();
    const event = {
      'CodePipeline.job': {
        id,
        accountId: ACCOUNT,
        data: {
          actionConfiguration: {
            configuration: {
              FunctionName: request.functionName ?? 'invalidate',
              UserParameters: request.userParameters,
            },
          },
          inputArtifacts: (request.inputArtifacts ?? []).map((a) => ({
            name: a.name,
            revision: a.revision ?? null,
            location: { type: 'S3', s3Location: { bucketName: a.bucket, objectKey: a.key } },
          })),
          outputArtifacts: [],
          artifactCredentials: this.artifactCredentials(pipelineName),
          ...(request.continuationToken ? { continuationToken: request.continuationToken } : {}),
        },
      },
    };
    const job: Job = {
      id,
      pipelineName,
      pipelineExecutionId: request.pipelineExecutionId,
      status: 'InProgress',
      event,
    };
    this.state.jobs.set(id, job);
    this.onChange();
    return job;
  }

  /**
   * The short-lived credentials CodePipeline gives an action for its artifacts: a session of the pipeline's role
   * when a deployed template created it (the local AWS then authorizes the action's artifact reads as that role),
   * else keys that only stand for them.
   */
  private artifactCredentials(pipelineName: string) {
    const roleArn = this.state.pipelines.get(pipelineName)?.declaration.roleArn;
    const session =
      roleArn && this.roles?.get(roleArn)
        ? this.roles.assume(roleArn, `codepipeline-${pipelineName}`.slice(0, 64))
        : undefined;
    return {
      accessKeyId: session?.accessKeyId ?? `LOCAL${randomBytes(8).toString('hex').toUpperCase()}`,
      secretAccessKey: session?.secretAccessKey ?? randomBytes(20).toString('base64'),
      sessionToken: session?.sessionToken ?? randomBytes(32).toString('base64'),
      expirationTime: session?.expiration.getTime() ?? Date.now() + 3600_000,
    };
  }

  setExecutionStatus(pipelineExecutionId: string, status: PipelineExecution['status']): PipelineExecution {
    const execution = this.state.executions.find((e) => e.pipelineExecutionId === pipelineExecutionId);
    if (!execution)
      throw new AwsError(404, 'PipelineExecutionNotFoundException', `Execution ${pipelineExecutionId} does not exist.`);
    execution.status = status;
    execution.lastUpdateTime = Date.now() / 1000;
    this.onChange();
    return execution;
  }

  private metadata(name: string) {
    const p = this.pipeline(name);
    return { pipelineArn: `arn:aws:codepipeline:us-east-1:${ACCOUNT}:${name}`, created: p.created, updated: p.updated };
  }

  private pipeline(name: string) {
    const pipeline = this.state.pipelines.get(name);
    if (!pipeline)
      throw new AwsError(
        400,
        'PipelineNotFoundException',
        `Account '${ACCOUNT}' does not have a pipeline with name '${name}'`,
      );
    return pipeline;
  }

  private createPipeline(input: any) {
    const name = input?.pipeline?.name;
    if (!name) throw new AwsError(400, 'ValidationException', 'pipeline.name is required.');
    if (this.state.pipelines.has(name))
      throw new AwsError(400, 'InvalidStructureException', `A pipeline with name '${name}' already exists.`);
    const declaration = { version: 1, ...input.pipeline };
    const now = Date.now() / 1000;
    this.state.pipelines.set(name, { declaration, created: now, updated: now });
    return { pipeline: declaration, tags: input.tags ?? [] };
  }

  private startExecution(input: any) {
    this.pipeline(input.name);
    const now = Date.now() / 1000;
    const execution: PipelineExecution = {
      pipelineName: input.name,
      pipelineExecutionId: randomUUID(),
      status: 'InProgress',
      startTime: now,
      lastUpdateTime: now,
      sourceRevisions: (input.sourceRevisions ?? []).map((r: any) => ({
        actionName: r.actionName,
        revisionId: r.revisionValue,
      })),
      trigger: { triggerType: 'StartPipelineExecution' },
    };
    this.state.executions.push(execution);
    return { pipelineExecutionId: execution.pipelineExecutionId };
  }

  private execution(pipelineName: string, id: string): PipelineExecution {
    this.pipeline(pipelineName);
    const execution = this.state.executions.find(
      (e) => e.pipelineName === pipelineName && e.pipelineExecutionId === id,
    );
    if (!execution)
      throw new AwsError(
        400,
        'PipelineExecutionNotFoundException',
        `Pipeline execution '${id}' not found in pipeline '${pipelineName}'.`,
      );
    return execution;
  }

  private listExecutions(input: any) {
    this.pipeline(input.pipelineName);
    const maxResults = Math.min(Number(input.maxResults ?? 100), 100);
    const newestFirst = this.state.executions.filter((e) => e.pipelineName === input.pipelineName).reverse();
    const start = input.nextToken ? Number(Buffer.from(input.nextToken, 'base64url').toString('utf8')) : 0;
    if (!Number.isInteger(start) || start < 0)
      throw new AwsError(400, 'InvalidNextTokenException', 'The next token was specified in an invalid format.');
    const page = newestFirst.slice(start, start + maxResults);
    const next =
      start + maxResults < newestFirst.length
        ? Buffer.from(String(start + maxResults)).toString('base64url')
        : undefined;
    return {
      pipelineExecutionSummaries: page.map(({ pipelineName: _pipelineName, ...summary }) => summary),
      ...(next ? { nextToken: next } : {}),
    };
  }

  private job(jobId: string): Job {
    const job = this.state.jobs.get(jobId);
    if (!job) throw new AwsError(400, 'JobNotFoundException', `Job ${jobId} was not found.`);
    if (job.status !== 'InProgress')
      throw new AwsError(400, 'InvalidJobStateException', `Job ${jobId} is already ${job.status}.`);
    return job;
  }

  private putJobSuccess(input: any) {
    const job = this.job(input.jobId);
    if (input.continuationToken) {
      // CodePipeline invokes the action again later with a new job that carries the token.
      job.continuationToken = input.continuationToken;
      job.status = 'Succeeded';
    } else {
      job.status = 'Succeeded';
      job.executionDetails = input.executionDetails;
      job.outputVariables = input.outputVariables;
      if (job.pipelineExecutionId) this.setExecutionStatus(job.pipelineExecutionId, 'Succeeded');
    }
    return {};
  }

  private putJobFailure(input: any) {
    const job = this.job(input.jobId);
    if (!input.failureDetails?.type || typeof input.failureDetails?.message !== 'string') {
      throw new AwsError(400, 'ValidationException', 'failureDetails.type and failureDetails.message are required.');
    }
    job.status = 'Failed';
    job.failureDetails = input.failureDetails;
    if (job.pipelineExecutionId) this.setExecutionStatus(job.pipelineExecutionId, 'Failed');
    return {};
  }
}
